"""manage.py backup / restore: the backup holds no key material; a restore into an empty database with the
keys decrypts every value (counted); with other keys it fails loudly and leaves nothing behind. Runs on the
database of the run: PostgreSQL (pg_dump, psql) or the embedded SQLite."""

from __future__ import annotations

import gzip
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from efnet import backup
from members.models import Member

# serialized_rollback, as the other transactional tests: the flush after the test would otherwise leave the
# data the migrations load (offices, templates, content types) missing for the tests after it.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
ROOT = Path(__file__).resolve().parents[2]
OTHER_KEYS = "t9:" + "A" * 42 + "Q="  # a valid 32-byte key that is not this installation's


@pytest.fixture
def fresh_database(tmp_path):
    """A factory of empty databases of the run's kind: (DATABASE_URL, function telling its table count)."""
    created = []
    s = connection.settings_dict

    def make() -> tuple[str, callable]:
        if connection.vendor == "sqlite":
            path = tmp_path / f"restored-{len(created)}.sqlite3"
            created.append(path)

            def tables():
                if not path.exists():
                    return 0
                with sqlite3.connect(path) as db:
                    return db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]

            return f"sqlite:///{path}", tables
        import psycopg

        name = f"{s['NAME']}_restore_{uuid.uuid4().hex[:8]}"
        admin = f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
        with psycopg.connect(f"{admin}/postgres", autocommit=True, password=s.get("PASSWORD") or None) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        created.append((admin, name))

        def tables():
            with psycopg.connect(f"{admin}/{name}", password=s.get("PASSWORD") or None) as db:
                return db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]

        return f"{admin}/{name}", tables

    yield make
    for item in created:
        if isinstance(item, tuple):
            import psycopg

            admin, name = item
            with psycopg.connect(f"{admin}/postgres", autocommit=True, password=s.get("PASSWORD") or None) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restore(database_url: str, backup_file: Path, *, keys: str | None = None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "efnet.test_settings",
        "DATABASE_URL": database_url,
        "FIELD_ENCRYPTION_KEYS": keys or ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "SECRET_KEY": settings.SECRET_KEY,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "restore", str(backup_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_backup_holds_no_key_and_restores_with_the_keys_decrypting_everything(world, tmp_path, fresh_database):
    expected, failed = backup.verify_decryption()
    assert not failed and expected["members.Member.biglobe_password"] == Member.objects.count() >= 2
    file = tmp_path / "efnet.backup.gz"

    call_command("backup", output=file)

    dump = gzip.decompress(file.read_bytes())
    assert settings.SECRET_KEY.encode() not in dump
    for needle in backup.key_needles().values():
        assert needle not in dump and needle.lower() not in dump.lower()
    assert world.member_a.number.encode() in dump  # the data is there …
    assert world.member_a.biglobe_password.encode() not in dump  # … the password only as its ciphertext
    stored = Member.biglobe_password.field.raw_value(Member.objects.get(pk=world.member_a.pk))
    assert stored.encode() in dump
    assert oct(file.stat().st_mode & 0o777) == "0o600"

    url, tables = fresh_database()
    done = restore(url, file)
    assert done.returncode == 0, done.stderr
    for label, count in expected.items():
        assert f"  {label}: {count} decrypted" in done.stdout
    assert f"all {sum(expected.values())} encrypted values decrypt" in done.stdout
    assert tables() > 10

    again = restore(url, file)  # restoring over data is refused
    assert again.returncode != 0 and "is not empty" in again.stderr


def test_a_restore_with_other_keys_fails_loudly_and_leaves_nothing(world, tmp_path, fresh_database):
    file = tmp_path / "efnet.backup.gz"
    call_command("backup", output=file)
    url, tables = fresh_database()

    done = restore(url, file, keys=OTHER_KEYS)

    assert done.returncode != 0
    assert "do not decrypt with the configured FIELD_ENCRYPTION_KEYS" in done.stderr
    assert "NOT DECRYPTED" in done.stdout and "no such key id (t1)" in done.stdout
    assert world.member_a.biglobe_password not in done.stdout + done.stderr
    assert tables() == 0  # the restored data was removed again


def test_a_backup_that_would_hold_a_key_is_refused_and_deleted(world, tmp_path):
    # Someone pasted the key into a note: the backup must not carry it off.
    Member.objects.filter(pk=world.member_a.pk).update(note=f"key {settings.FIELD_ENCRYPTION_KEYS[0]}")
    file = tmp_path / "efnet.backup.gz"
    with pytest.raises(CommandError, match="key material"):
        call_command("backup", output=file)
    assert not file.exists() and not list(tmp_path.iterdir())
