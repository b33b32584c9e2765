import logging

import pytest
from django.urls import reverse

from efnet.auth_views import AUTH_AT
from efnet.models import AuditEvent
from members.models import Member
from tests.conftest import STAFF_PASSWORD, login
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_member_page_masks_passwords(client, world):
    login(client, world.clerk_a)
    body = client.get(reverse("members:detail", args=[world.member_a.pk])).content.decode()
    assert world.member_a.biglobe_user_id in body
    assert world.address_a.address in body
    assert world.member_a.biglobe_password not in body and world.address_a.password not in body


def test_another_offices_member_is_not_found_and_the_attempt_is_audited(client, world):
    login(client, world.clerk_a)
    response = client.get(reverse("members:detail", args=[world.member_b.pk]))
    assert response.status_code == 404
    assert "見つかりません" in response.content.decode()
    event = AuditEvent.objects.get(action="access.denied")
    assert event.actor == world.clerk_a and event.office == world.office_b and event.member_id == world.member_b.pk


def test_reveal_shows_the_password_audited_and_not_cached(client, world):
    login(client, world.clerk_a)
    response = client.post(reverse("members:reveal", args=[world.member_a.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert world.member_a.biglobe_password in response.content.decode()
    event = AuditEvent.objects.get(action="member.password.revealed")
    assert event.actor == world.clerk_a and event.member_id == world.member_a.pk
    assert world.member_a.biglobe_password not in str(event.details)


def test_reveal_of_an_additional_address(client, world):
    login(client, world.clerk_a)
    url = reverse("members:mailaddresses:reveal", args=[world.member_a.pk, world.address_a.pk])
    response = client.post(url)
    assert world.address_a.password in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_reveal_asks_for_the_password_again_after_five_minutes(client, world):
    login(client, world.clerk_a)
    session = client.session
    session[AUTH_AT] = 0
    session.save()
    url = reverse("members:reveal", args=[world.member_a.pk])
    body = client.post(url).content.decode()
    assert "ログインパスワードを再入力" in body and world.member_a.biglobe_password not in body
    body = client.post(url, {"password": "wrong"}).content.decode()
    assert "パスワードが正しくありません" in body and world.member_a.biglobe_password not in body
    assert not AuditEvent.objects.filter(action="member.password.revealed").exists()
    body = client.post(url, {"password": STAFF_PASSWORD}).content.decode()
    assert world.member_a.biglobe_password in body
    assert AuditEvent.objects.filter(action="member.password.revealed").count() == 1


def test_reveal_needs_the_permission(client, world):
    login(client, world.reader_a)
    assert client.post(reverse("members:reveal", args=[world.member_a.pk])).status_code == 403
    assert not AuditEvent.objects.filter(action="member.password.revealed").exists()


def test_no_password_reaches_the_logs(client, world, caplog):
    caplog.set_level(logging.DEBUG)
    login(client, world.clerk_a)
    client.post(reverse("members:reveal", args=[world.member_a.pk]))
    client.post(
        reverse("members:create"),
        {"number": "bad", "password": "Logged999pw", "registered_on": "x", "office": world.office_a.pk},
    )
    assert world.member_a.biglobe_password not in caplog.text
    assert "Logged999pw" not in caplog.text


def _member_form(world, **overrides):
    data = {
        "number": "０５５５０１",
        "registered_on": "2025-10-01",
        "name": "株式会社ミドリ設計事務所",
        "name_kana": "みどりせっけいじむしょ",
        "office": world.office_a.pk,
        "postal_code": "５４００００１",
        "address": "大阪府大阪市中央区本町1-1-1",
        "phone": "06-6111-2222",
        "fax": "",
        "biglobe_user_id": "ＭＤＲ０５５５０１",
        "email": "mdr055501@efnet-demo.example",
        "pop3_server": "mail.biglobe.ne.jp",
        "smtp_server": "mail.biglobe.ne.jp",
        "is_active": "on",
        "note": "",
        "password": "Midori2026",
    }
    data.update(overrides)
    return data


def test_create_normalises_fullwidth_input_and_encrypts_the_password(client, world):
    login(client, world.clerk_a)
    response = client.post(reverse("members:create"), _member_form(world))
    member = Member.objects.get(number="055501")
    assert response["Location"] == reverse("members:detail", args=[member.pk])
    assert member.biglobe_user_id == "mdr055501"
    assert member.name_kana == "ミドリセッケイジムショ"
    assert member.postal_code == "540-0001"
    assert member.biglobe_password == "Midori2026"
    event = AuditEvent.objects.get(action="member.created")
    assert "Midori2026" not in str(event.details)
    # The new member's accounts join the running campaign (if any) — covered by tracking's tests.


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("number", "12-ab", "会員番号は半角数字4〜10桁"),
        ("password", "short1", "8文字以上16文字以内"),
        ("password", "onlylowercase", "2種類以上"),
        ("biglobe_user_id", "tst200000", "で使用されています"),  # a member of the clerk's own office
    ],
)
def test_create_refuses_bad_input_with_a_clear_message_and_saves_nothing(client, world, field, value, message):
    login(client, world.clerk_a)
    before = Member.objects.count()
    overrides = {field: value}
    if field == "biglobe_user_id":
        overrides[field] = world.member_a.biglobe_user_id
    response = client.post(reverse("members:create"), _member_form(world, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Member.objects.count() == before


@pytest.mark.parametrize(
    "typed",
    ["０１２３－４５６－７８９", "0123 456 789", "０１２３ー４５６‐７８９", "0123―456−789", "０１２３　４５６ｰ７８９"],
)
def test_create_takes_the_member_number_as_people_type_it(client, world, typed):
    login(client, world.clerk_a)
    response = client.post(reverse("members:create"), _member_form(world, number=typed))
    assert response.status_code == 302
    assert Member.objects.filter(number="0123456789").exists()


def test_the_number_box_does_not_cut_a_hyphenated_number(client, world):
    login(client, world.clerk_a)
    for url in (reverse("members:create"), reverse("members:edit", args=[world.member_a.pk])):
        body = client.get(url).content.decode()
        assert 'maxlength="40"' in body and 'maxlength="10"' not in body


def test_edit_normalises_the_number_and_refuses_one_taken_as_typed(client, world):
    login(client, world.clerk_a)
    member = world.member_a
    other = MemberFactory(office=world.office_a, number="0555123")
    data = _member_form(world, number="０５５５－１２３", biglobe_user_id=member.biglobe_user_id)
    response = client.post(reverse("members:edit", args=[member.pk]), data)
    assert response.status_code == 200
    assert "で使用されています" in response.content.decode()
    member.refresh_from_db()
    assert member.number != other.number

    data["number"] = "０５５５－１２４"
    assert client.post(reverse("members:edit", args=[member.pk]), data).status_code == 302
    member.refresh_from_db()
    assert member.number == "0555124"


def test_audit_log_filters_by_a_hyphenated_member_number(client, world):
    login(client, world.clerk_a)
    client.post(reverse("members:reveal", args=[world.member_a.pk]))
    login(client, world.head)
    wide = world.member_a.number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    body = client.get(reverse("audit_log"), {"member": f"{wide[:3]}－{wide[3:]}"}).content.decode()
    assert 'data-action="member.password.revealed"' in body and "パスワードを表示" in body
    assert 'data-action="auth.login"' not in body  # events of no member are filtered out


def test_a_clerk_cannot_file_a_member_under_another_office(client, world):
    login(client, world.clerk_a)
    response = client.post(reverse("members:create"), _member_form(world, office=world.office_b.pk))
    assert response.status_code == 200
    assert not Member.objects.filter(number="055501").exists()


def test_edit_is_audited_with_what_changed(client, world):
    login(client, world.clerk_a)
    member = world.member_a
    data = _member_form(world, number=member.number, biglobe_user_id=member.biglobe_user_id, phone="06-6999-0000")
    response = client.post(reverse("members:edit", args=[member.pk]), data)
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.phone == "06-6999-0000"
    event = AuditEvent.objects.get(action="member.updated")
    assert event.details["changed"]["phone"] == ["06-6000-0000", "06-6999-0000"]


def test_adding_an_address_takes_the_next_slot(client, world):
    login(client, world.clerk_a)
    response = client.post(
        reverse("members:mailaddresses:add", args=[world.member_a.pk]),
        {
            "address": "ＮＥＷ-ONE@efnet-demo.example",
            "login_id": "newone",
            "issued_on": "2026-06-26",
            "pop3_server": "mail.biglobe.ne.jp",
            "smtp_server": "mail.biglobe.ne.jp",
            "smtp_port": "587",
            "is_active": "on",
            "password": "NewAddr2026",
        },
    )
    assert response.status_code == 302
    address = world.member_a.additional_addresses.get(slot=2)
    assert address.address == "new-one@efnet-demo.example"
    assert address.password == "NewAddr2026"


def test_audit_log_page_filters_by_action(client, world):
    login(client, world.clerk_a)
    client.post(reverse("members:reveal", args=[world.member_a.pk]))
    login(client, world.head)
    body = client.get(reverse("audit_log"), {"action": "member.password.revealed"}).content.decode()
    assert 'data-action="member.password.revealed"' in body and "パスワードを表示" in body
    assert 'data-action="auth.login"' not in body
