"""The additional-address list: header, member lines, one block per address in order, 今回追加分 marked."""

import datetime

import pytest
from django.urls import reverse

from efnet.models import AuditEvent
from mailaddresses.models import AddressListIssue
from tests.conftest import login
from tests.documents.test_card_issue import assert_in_order, pdf_text
from tests.factories import AddressFactory

pytestmark = pytest.mark.django_db


def test_list_prints_each_address_block_and_marks_todays_additions(client, world):
    member, first = world.member_a, world.address_a
    second = AddressFactory(member=member, slot=2, issued_on=datetime.date(2026, 6, 26))
    login(client, world.clerk_a)
    response = client.post(
        reverse("documents:address_list_issue", kwargs={"pk": member.pk}),
        {"reason": "紛失再発行", "highlight_date": "2026-06-26"},
    )
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    text = pdf_text(response.content)
    issue = AddressListIssue.objects.get(member=member)
    assert_in_order(
        text,
        [
            "EFネット追加メールアドレスリスト",
            "今回追加分はメールアドレス発行日 2026/6/26 分のものになります。",
            "1. EFネット会員番号", member.number,
            "2. 会員名", member.name,
            "3. 会員ID", member.biglobe_user_id,
            "追加メールアドレス1", "メールアドレス発行日: 2025/11/6",
            "1. メールアドレス", first.address,
            "2. パスワード", first.password, "ID", first.login_id,
            "3. 受信メール(POP3)サーバー", "mail.biglobe.ne.jp",
            "送信メール(SMTP)サーバー", "mail.biglobe.ne.jp",
            "4. ポート番号(SMTP)", "587",
            "追加メールアドレス2", "メールアドレス発行日: 2026/6/26", "今回追加分",
            "1. メールアドレス", second.address,
            "2. パスワード", second.password, "ID", second.login_id,
            "4. ポート番号(SMTP)", "587",
            "追加メールアドレス単位での実施をお願いいたします。",
            issue.serial,
        ],
    )  # fmt: skip
    # Only the block of the chosen date is marked.
    assert text.count("今回追加分") == 2  # the lead sentence and one badge
    assert issue.highlight_date == datetime.date(2026, 6, 26)
    event = AuditEvent.objects.get(action="member.address_list.issued")
    assert event.details["reveal"] is True and first.password not in str(event.details)


def test_clerk_cannot_issue_another_offices_list(client, world):
    login(client, world.clerk_a)
    response = client.post(reverse("documents:address_list_issue", kwargs={"pk": world.member_b.pk}))
    assert response.status_code == 404
    assert not AddressListIssue.objects.exists()
    assert AuditEvent.objects.filter(action="access.denied").exists()


def test_an_address_the_member_changed_prints_the_self_set_box_not_the_old_password(client, world):
    from tracking.models import AccountStatus, Campaign, Status

    member, changed = world.member_a, world.address_a
    kept = AddressFactory(member=member, slot=2, issued_on=datetime.date(2026, 6, 26))
    campaign = Campaign.objects.create(name="2026年6月 BIGLOBEパスワード変更", started_on=datetime.date(2026, 6, 1))
    AccountStatus.objects.create(
        campaign=campaign, member=member, address=changed, status=Status.DONE, status_on=datetime.date(2026, 7, 3)
    )
    login(client, world.clerk_a)
    response = client.post(reverse("documents:address_list_issue", kwargs={"pk": member.pk}), {"reason": "紛失再発行"})
    text = pdf_text(response.content)
    assert changed.password not in text
    assert_in_order(
        text,
        [
            "追加メールアドレス1", "1. メールアドレス", changed.address,
            "2. パスワード", "お客様ご自身で変更済み", "2026年7月3日", "ID", changed.login_id,
            "変更後のパスワードをご記入ください。", "3. 受信メール(POP3)サーバー",
            "追加メールアドレス2", "2. パスワード", kept.password, "ID", kept.login_id,
        ],
    )  # fmt: skip
    # The change is per address: the other address still prints its password, so the list is a reveal.
    assert AuditEvent.objects.get(action="member.address_list.issued").details["reveal"] is True
