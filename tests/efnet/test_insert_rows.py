"""efnet.bulk.insert_rows: rows inserted without model instances read back exactly as a saved instance would."""

import uuid
from datetime import date

import pytest
from django.db import transaction

from efnet.bulk import insert_rows
from efnet.fields import seal
from members.models import Member, SalesOffice
from tracking.models import AccountStatus, Campaign, Status

pytestmark = pytest.mark.django_db


def _member(number: str, **extra) -> dict:
    row_uuid = uuid.uuid4()
    office = SalesOffice.objects.first()
    return {
        "uuid": row_uuid,
        "number": number,
        "name": f"株式会社テスト{number}",
        "name_kana": "テスト",
        "registered_on": date(2026, 6, 1),
        "office_id": office.pk,
        "biglobe_user_id": f"t{number}",
        "biglobe_password": seal(Member, "biglobe_password", row_uuid, f"Pw{number}x"),
        **extra,
    }


def test_ids_come_back_in_order_and_the_rows_read_back_with_defaults_and_decryptable_passwords():
    ids = insert_rows(Member, [_member("7100001"), _member("7100002"), _member("7100003")])
    assert len(set(ids)) == 3
    members = [Member.objects.get(pk=pk) for pk in ids]
    assert [m.number for m in members] == ["7100001", "7100002", "7100003"]
    assert [m.biglobe_password for m in members] == ["Pw7100001x", "Pw7100002x", "Pw7100003x"]
    first = members[0]
    defaults = Member()
    assert (first.pop3_server, first.is_active, first.note) == (defaults.pop3_server, True, "")
    assert first.created_at is not None and first.created_at == first.updated_at


def test_a_callable_default_is_called_per_row_and_a_given_time_is_kept():
    campaign = Campaign.objects.create(name="テスト", started_on=date(2026, 6, 1))
    [member_id] = insert_rows(Member, [_member("7100010")])
    stamp = Member.objects.get(pk=member_id).updated_at
    ids = insert_rows(
        AccountStatus,
        [{"campaign_id": campaign.pk, "member_id": member_id, "updated_at": stamp}],
    )
    status = AccountStatus.objects.get(pk=ids[0])
    assert (status.status, status.version, status.counted, status.updated_at) == (Status.NOT_NOTIFIED, 1, True, stamp)
    plain = [
        {k: v for k, v in _member(n).items() if k not in ("uuid", "biglobe_password")} for n in ("7100011", "7100012")
    ]
    one, two = insert_rows(Member, plain)
    assert Member.objects.get(pk=one).uuid != Member.objects.get(pk=two).uuid


def test_plaintext_for_an_encrypted_field_is_refused_and_nothing_is_written():
    row = _member("7100020") | {"biglobe_password": "PlainPw123"}
    with pytest.raises(TypeError, match="plaintext"), transaction.atomic():
        insert_rows(Member, [row])
    assert not Member.objects.filter(number="7100020").exists()
