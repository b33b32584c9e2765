"""Stored credentials: encrypted at rest, bound to their row, never readable with the wrong key."""

import base64
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from efnet import crypto
from efnet.crypto import DecryptionError
from efnet.fields import Sealed
from mailaddresses.models import AdditionalMailAddress
from members.models import Member
from tests.factories import AddressFactory, MemberFactory

pytestmark = pytest.mark.django_db
NEW_KEY = "t2:" + base64.urlsafe_b64encode(bytes(range(100, 132))).decode()


def raw_column(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - names are ours
        return cursor.fetchone()[0]


def test_it_stores_no_plaintext_in_the_database():
    member = MemberFactory(biglobe_password="Plain123pw")
    address = AddressFactory(member=member, password="Other456pw")
    stored = raw_column("members_member", "biglobe_password", member.pk)
    assert "Plain123pw" not in stored and stored.startswith("v1:t1:")
    assert "Other456pw" not in raw_column("mailaddresses_additionalmailaddress", "password", address.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM members_member")
        assert "Plain123pw" not in repr(cursor.fetchall())


def test_it_decrypts_on_read_after_a_fresh_load():
    member = MemberFactory(biglobe_password="Plain123pw")
    loaded = Member.objects.get(pk=member.pk)
    assert isinstance(loaded.__dict__["biglobe_password"], Sealed)
    assert loaded.biglobe_password == "Plain123pw"


def test_a_ciphertext_copied_to_another_row_fails_to_decrypt():
    victim = MemberFactory(biglobe_password="Victim12pw")
    thief = MemberFactory(biglobe_password="Thief345pw")
    stolen = raw_column("members_member", "biglobe_password", victim.pk)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE members_member SET biglobe_password = %s WHERE id = %s", [stolen, thief.pk])
    with pytest.raises(DecryptionError):
        _ = Member.objects.get(pk=thief.pk).biglobe_password


def test_a_ciphertext_moved_to_another_column_fails_to_decrypt():
    member = MemberFactory(biglobe_password="Victim12pw")
    address = AddressFactory(member=member)
    stolen = raw_column("members_member", "biglobe_password", member.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE mailaddresses_additionalmailaddress SET password = %s WHERE id = %s", [stolen, address.pk]
        )
    with pytest.raises(DecryptionError):
        _ = AdditionalMailAddress.objects.get(pk=address.pk).password


def test_reading_with_a_wrong_key_raises_and_never_returns_the_stored_text(settings):
    member = MemberFactory(biglobe_password="Plain123pw")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, "t1:" + base64.urlsafe_b64encode(os.urandom(32)).decode()]
    loaded = Member.objects.get(pk=member.pk)
    with pytest.raises(DecryptionError) as excinfo:
        _ = loaded.biglobe_password
    assert "v1:" not in str(excinfo.value)


def test_reading_under_a_key_that_is_no_longer_configured_raises(settings):
    member = MemberFactory(biglobe_password="Plain123pw")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(DecryptionError, match="no key with id 't1'"):
        _ = Member.objects.get(pk=member.pk).biglobe_password


def test_a_tampered_ciphertext_raises():
    member = MemberFactory(biglobe_password="Plain123pw")
    stored = raw_column("members_member", "biglobe_password", member.pk)
    blob = bytearray(base64.b64decode(stored.split(":", 2)[2]))
    blob[-1] ^= 1
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE members_member SET biglobe_password = %s WHERE id = %s",
            ["v1:t1:" + base64.b64encode(bytes(blob)).decode(), member.pk],
        )
    with pytest.raises(DecryptionError):
        _ = Member.objects.get(pk=member.pk).biglobe_password


def test_it_refuses_to_write_plaintext_through_an_update():
    member = MemberFactory()
    with pytest.raises(TypeError, match="refusing to write plaintext"):
        Member.objects.filter(pk=member.pk).update(biglobe_password="Plain123pw")


def test_repr_and_serialisation_never_show_the_plaintext():
    from django.core import serializers

    member = MemberFactory(biglobe_password="Plain123pw")
    loaded = Member.objects.get(pk=member.pk)
    assert "Plain123pw" not in repr(loaded.__dict__)
    assert "Plain123pw" not in serializers.serialize("json", [loaded])


def _stored_key_ids():
    ids = [crypto.key_id_of(v) for v in Member.objects.values_list("biglobe_password", flat=True)]
    ids += [crypto.key_id_of(v) for v in AdditionalMailAddress.objects.values_list("password", flat=True)]
    return ids


@pytest.fixture
def old_key_data(settings):
    """Rows written under t1; then t2 becomes the current key with t1 kept for decrypting."""
    members = [MemberFactory(biglobe_password=f"Pass{i:04d}x") for i in range(7)]
    for i, m in enumerate(members[:4]):
        AddressFactory(member=m, slot=1, password=f"Addr{i:04d}y")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, *settings.FIELD_ENCRYPTION_KEYS]
    return members


def test_rotation_twice_leaves_every_value_readable_under_the_new_key_alone(settings, old_key_data):
    call_command("rotate_encryption_keys", "--batch-size", "3", stdout=io.StringIO())
    call_command("rotate_encryption_keys", "--batch-size", "3", stdout=io.StringIO())
    assert set(_stored_key_ids()) == {"t2"}
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert [Member.objects.get(pk=m.pk).biglobe_password for m in old_key_data] == [f"Pass{i:04d}x" for i in range(7)]
    assert sorted(a.password for a in AdditionalMailAddress.objects.all()) == [f"Addr{i:04d}y" for i in range(4)]


def test_rotation_interrupted_then_resumed_finishes_the_job(settings, old_key_data, monkeypatch):
    from efnet import rotation

    real_encrypt = crypto.encrypt
    calls = {"n": 0}

    def crash_after_five(plaintext, *, aad):
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt  # the operator's Ctrl-C in the middle of a batch
        return real_encrypt(plaintext, aad=aad)

    monkeypatch.setattr(rotation.crypto, "encrypt", crash_after_five)
    with pytest.raises(KeyboardInterrupt):
        rotation.rotate(batch_size=3)
    # Finished batches stay done; the interrupted batch rolled back as a whole.
    assert _stored_key_ids().count("t2") == 3
    monkeypatch.setattr(rotation.crypto, "encrypt", real_encrypt)
    done = rotation.rotate(batch_size=3)
    assert sum(done.values()) == 11 - 3
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert all(m.biglobe_password.startswith("Pass") for m in Member.objects.all())


def test_the_command_reports_counts_per_key_id(old_key_data, capsys):
    call_command("rotate_encryption_keys")
    out = capsys.readouterr().out
    assert "members.Member.biglobe_password: t1: 7" in out
    assert "members.Member.biglobe_password: t2: 7" in out
    assert "再暗号化した件数（元の鍵別）: t1: 11" in out


def test_production_start_fails_without_keys():
    env = {k: v for k, v in os.environ.items() if k not in ("FIELD_ENCRYPTION_KEYS", "SECRET_KEY", "DEBUG")}
    env.update(DEBUG="0", SECRET_KEY="x" * 50, DJANGO_SETTINGS_MODULE="efnet.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr
