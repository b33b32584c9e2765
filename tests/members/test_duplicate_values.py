"""A member number, BIGLOBE ID or additional address already held elsewhere: a clerk learns whose only when
the holder is one of the members they may see; otherwise the answer names no one and the attempt is audited."""

import pytest
from django.urls import reverse

from efnet.models import AuditEvent
from members.models import Member
from tests.conftest import login
from tests.factories import MemberFactory
from tests.members.test_member_pages import _member_form

pytestmark = pytest.mark.django_db

DEFAULT_UNIQUE = "既に存在します"  # Django's own wording, which confirms that the value exists somewhere


def _address_form(address, **overrides):
    return {
        "address": address,
        "login_id": "extra01",
        "issued_on": "2026-06-01",
        "pop3_server": "mail.biglobe.ne.jp",
        "smtp_server": "mail.biglobe.ne.jp",
        "smtp_port": "587",
        "is_active": "on",
        "password": "Extra2026x",
        **overrides,
    }


def _refusals():
    return AuditEvent.objects.filter(action="member.duplicate_refused")


@pytest.mark.parametrize(
    "field, label", [("number", "会員番号"), ("biglobe_user_id", "BIGLOBEユーザーID")], ids=["number", "biglobe_id"]
)
def test_creating_with_another_offices_value_says_nothing_of_its_owner_and_is_audited(client, world, field, label):
    login(client, world.clerk_a)
    value = getattr(world.member_b, field)
    response = client.post(reverse("members:create"), _member_form(world, **{field: value}))
    body = response.content.decode()
    assert response.status_code == 200
    assert f"この{label}は使用できません。本社にお問い合わせください。" in body
    assert world.member_b.name not in body and DEFAULT_UNIQUE not in body
    assert not Member.objects.filter(name="株式会社ミドリ設計事務所").exists()
    event = _refusals().get()
    assert event.actor == world.clerk_a
    assert event.details == {"field": field, "owner_office_id": world.office_b.pk}  # not the value itself


@pytest.mark.parametrize("field", ["number", "biglobe_user_id"])
def test_creating_with_a_value_of_a_visible_member_names_that_member(client, world, field):
    login(client, world.clerk_a)
    response = client.post(reverse("members:create"), _member_form(world, **{field: getattr(world.member_a, field)}))
    body = response.content.decode()
    assert f"会員 {world.member_a.number} {world.member_a.name}で使用されています。" in body
    assert not _refusals().exists()


def test_head_office_is_told_whose_it_is_in_any_office(client, world):
    login(client, world.head)
    response = client.post(reverse("members:create"), _member_form(world, number=world.member_b.number))
    assert f"会員 {world.member_b.number} {world.member_b.name}で使用されています。" in response.content.decode()
    assert not _refusals().exists()


def test_editing_to_another_offices_value_is_refused_the_same_way(client, world):
    member = world.member_a
    login(client, world.clerk_a)
    data = _member_form(world, number=member.number, biglobe_user_id=world.member_b.biglobe_user_id)
    response = client.post(reverse("members:edit", args=[member.pk]), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "このBIGLOBEユーザーIDは使用できません。本社にお問い合わせください。" in body
    assert world.member_b.name not in body
    assert _refusals().get().details == {"field": "biglobe_user_id", "owner_office_id": world.office_b.pk}
    member.refresh_from_db()
    assert member.biglobe_user_id != world.member_b.biglobe_user_id


def test_editing_keeps_ones_own_values_without_a_clash(client, world):
    member = world.member_a
    login(client, world.clerk_a)
    data = _member_form(world, number=member.number, biglobe_user_id=member.biglobe_user_id, phone="06-6999-0000")
    assert client.post(reverse("members:edit", args=[member.pk]), data).status_code == 302


def test_adding_an_address_another_office_holds_is_refused_and_audited(client, world):
    login(client, world.clerk_a)
    url = reverse("members:mailaddresses:add", args=[world.member_a.pk])
    response = client.post(url, _address_form(world.address_b.address.upper()))  # normalised before the check
    body = response.content.decode()
    assert response.status_code == 200
    assert "このメールアドレスは使用できません。本社にお問い合わせください。" in body
    assert world.member_b.number not in body and DEFAULT_UNIQUE not in body
    assert world.member_a.additional_addresses.count() == 1
    assert _refusals().get().details == {"field": "address", "owner_office_id": world.office_b.pk}


def test_adding_an_address_a_visible_member_holds_names_the_holder(client, world):
    other = MemberFactory(office=world.office_a)
    login(client, world.clerk_a)
    url = reverse("members:mailaddresses:add", args=[other.pk])
    body = client.post(url, _address_form(world.address_a.address)).content.decode()
    expected = f"会員 {world.member_a.number} {world.member_a.name} の追加メールアドレス1で使用されています。"
    assert expected in body
    assert not _refusals().exists()


def test_editing_an_address_to_another_offices_address_is_refused_and_audited(client, world):
    login(client, world.clerk_a)
    url = reverse("members:mailaddresses:edit", args=[world.member_a.pk, world.address_a.pk])
    response = client.post(url, _address_form(world.address_b.address))
    assert "このメールアドレスは使用できません。本社にお問い合わせください。" in response.content.decode()
    assert _refusals().get().details == {"field": "address", "owner_office_id": world.office_b.pk}
    world.address_a.refresh_from_db()
    assert world.address_a.address != world.address_b.address


def test_the_model_never_names_the_holder_either(world):
    # What bypasses the forms (a race between two clerks, a service) meets the model's check.
    from django.core.exceptions import ValidationError

    clash = Member(**{f: getattr(world.member_b, f) for f in ("number", "biglobe_user_id")})
    with pytest.raises(ValidationError) as exc:
        clash.validate_unique()
    assert exc.value.message_dict["number"] == ["この会員番号は使用できません。本社にお問い合わせください。"]
    assert exc.value.message_dict["biglobe_user_id"] == ["このユーザーIDは使用できません。本社にお問い合わせください。"]
