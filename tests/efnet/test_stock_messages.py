"""Django's stock messages as staff read them: natural Japanese from the project's catalogue (locale/ja), not
「この 会員番号 を持った 会員 が既に存在します。」 or 「このフィールドは必須です。」."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from members.models import Member, SalesOffice
from tests.conftest import login
from tests.members.test_member_pages import _member_form

pytestmark = pytest.mark.django_db

AWKWARD = ["を持った", "既に存在します", "フィールド", "正しく選択してください。 "]


@pytest.fixture(autouse=True)
def japanese():
    with translation.override("ja"):
        yield


def _messages(exc: ValidationError) -> list[str]:
    return [m for messages in exc.message_dict.values() for m in messages]


def test_a_duplicate_member_number_says_the_number_cannot_be_used(world):
    twin = Member(office=world.office_a, number=world.member_a.number)
    with pytest.raises(ValidationError) as exc:
        twin.validate_unique()
    assert exc.value.message_dict["number"] == ["この会員番号は使用できません。本社にお問い合わせください。"]


def test_a_duplicate_member_number_on_the_form_names_the_visible_holder_in_plain_japanese(client, world):
    login(client, world.clerk_a)
    body = client.post(reverse("members:create"), _member_form(world, number=world.member_a.number)).content.decode()
    assert f"この会員番号は会員 {world.member_a.number} {world.member_a.name}で使用されています。" in body
    assert not any(word in body for word in AWKWARD)


def test_any_other_duplicate_says_it_is_already_registered(world):
    office = SalesOffice(code="osaka-2", name=world.office_a.name)
    with pytest.raises(ValidationError) as exc:
        office.validate_unique()
    assert _messages(exc.value) == ["この名称はすでに登録されています。"]


def test_a_missing_required_field_on_a_staff_form(client, world):
    login(client, world.clerk_a)
    body = client.post(reverse("members:create"), _member_form(world, name="")).content.decode()
    assert "この項目は必須です。" in body
    assert not any(word in body for word in AWKWARD)


def test_an_invalid_choice_and_a_too_long_value():
    class Form(forms.Form):
        kind = forms.ChoiceField(choices=[("a", "A")])
        office = forms.ModelChoiceField(queryset=SalesOffice.objects.all())
        memo = forms.CharField(max_length=5)

    form = Form({"kind": "z", "office": "999999", "memo": "長すぎるメモです"})
    assert not form.is_valid()
    assert form.errors["kind"] == ["選べない値です（z）。一覧から選んでください。"]
    assert form.errors["office"] == ["選べない値です。一覧から選んでください。"]
    assert form.errors["memo"] == ["5文字以内で入力してください（いまは8文字です）。"]


def test_an_unknown_page_number_shows_the_last_page_not_an_error(client, world):
    login(client, world.clerk_a)
    response = client.get(reverse("members:search"), {"page": "9999"})
    assert response.status_code == 200


def test_password_validation_messages_read_naturally():
    from django.contrib.auth.password_validation import validate_password

    with pytest.raises(ValidationError) as exc:
        validate_password("12345")
    text = " ".join(exc.value.messages)
    assert "文字以上にしてください" in text or "数字だけのパスワードは使えません" in text
    assert not any(word in text for word in AWKWARD)
