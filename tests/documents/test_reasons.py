"""Reasons that fit: 「会員証を再発行」 offers only reissue reasons; the address list offers its own (新規追加 …)."""

import datetime
import re

import pytest
from django.urls import reverse

from mailaddresses.models import AddressListIssue
from members.models import MemberCard
from tests.conftest import login
from tests.documents.test_card_issue import pdf_text
from tests.factories import AddressFactory

pytestmark = pytest.mark.django_db


def _options(page: str, select_id: str) -> list[str]:
    select = re.search(rf'<select name="reason" id="{select_id}">(.*?)</select>', page, re.DOTALL)
    assert select, f"no reason select {select_id}"
    return re.findall(r'<option value="([^"]+)"', select.group(1))


def _selected(page: str, select_id: str) -> str:
    select = re.search(rf'<select name="reason" id="{select_id}">(.*?)</select>', page, re.DOTALL).group(1)
    return re.search(r'<option value="([^"]+)" selected>', select).group(1)


def _member_page(client, member) -> str:
    return client.get(reverse("members:detail", kwargs={"pk": member.pk})).content.decode()


def test_card_reissue_offers_only_reissue_reasons(client, world):
    login(client, world.clerk_a)
    page = _member_page(client, world.member_a)
    assert _options(page, "id_card_reason") == ["紛失再発行", "記載事項変更"]


def test_card_reissue_refuses_new_as_a_reason_and_records_nothing(client, world):
    login(client, world.clerk_a)
    response = client.post(reverse("documents:card_issue", kwargs={"pk": world.member_a.pk}), {"reason": "新規"})
    assert response.status_code == 302
    assert not MemberCard.objects.exists()


def test_address_list_offers_its_own_reasons(client, world):
    login(client, world.clerk_a)
    page = _member_page(client, world.member_a)
    assert _options(page, "id_list_reason") == ["新規追加", "紛失再発行", "記載事項変更"]


def test_a_list_for_a_newly_added_address_is_recorded_and_printed_as_such(client, world):
    login(client, world.clerk_a)
    response = client.post(
        reverse("documents:address_list_issue", kwargs={"pk": world.member_a.pk}), {"reason": "新規追加"}
    )
    issue = AddressListIssue.objects.get()
    assert issue.reason == "新規追加"
    assert "（新規追加）" in pdf_text(response.content).replace(" ", "")


def test_an_address_newer_than_the_last_list_preselects_new_address(client, world):
    login(client, world.clerk_a)
    client.post(reverse("documents:address_list_issue", kwargs={"pk": world.member_a.pk}), {"reason": "紛失再発行"})
    assert _selected(_member_page(client, world.member_a), "id_list_reason") == "紛失再発行"
    AddressFactory(member=world.member_a, slot=2, issued_on=datetime.date.today() + datetime.timedelta(days=1))
    assert _selected(_member_page(client, world.member_a), "id_list_reason") == "新規追加"


def test_the_list_refuses_a_card_only_reason(client, world):
    login(client, world.clerk_a)
    client.post(
        reverse("documents:address_list_issue", kwargs={"pk": world.member_a.pk}), {"reason": "パスワード再設定"}
    )
    assert not AddressListIssue.objects.exists()
