"""Issuing a member card: the PDF carries every field in the seed's order, the register and the audit log
record it as a reveal, and another office's member is a 404."""

import io
import re
import subprocess
from datetime import date

import pytest
from django.urls import reverse
from pypdf import PdfReader

from efnet.models import AuditEvent
from members.models import MemberCard
from tests.conftest import login

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def assert_in_order(text: str, values: list[str]) -> None:
    position = 0
    flat = re.sub(r"\s+", "", text)
    for value in values:
        found = flat.find(re.sub(r"\s+", "", value), position)
        assert found >= 0, f"{value!r} not found (in order) in the PDF text"
        position = found + 1


def issue(client, member, reason="紛失再発行"):
    return client.post(reverse("documents:card_issue", kwargs={"pk": member.pk}), {"reason": reason})


def test_card_prints_every_field_in_order_and_embeds_the_japanese_font(client, world, tmp_path):
    member = world.member_a
    login(client, world.clerk_a)
    response = issue(client, member)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    data = response.content
    card = MemberCard.objects.get(member=member)
    assert_in_order(
        pdf_text(data),
        [
            "EFネット会員証",
            "1. 会員登録日", "2025年10月1日",
            "2. 会員番号", member.number,
            "3. 登録者名", member.name,
            "4. 登録者住所", member.address,
            "5. ユーザーID", member.biglobe_user_id,
            "6. パスワード", member.biglobe_password,
            "7. メールアドレス", member.email,
            "8. メールサーバー名",
            "受信メール(POP3)サーバー", "mail.biglobe.ne.jp",
            "送信メール(SMTP)サーバー", "mail.biglobe.ne.jp",
            "株式会社エッサム", "エッサムファミリー会", "EF ネット事務局",
            "大阪", "06-6942-4028",
            "紛失再発行", card.serial,
        ],
    )  # fmt: skip
    path = tmp_path / "card.pdf"
    path.write_bytes(data)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    line = next(line for line in fonts.splitlines() if "IPAexGothic" in line)
    assert " yes yes " in line  # embedded, subset
    mono = next(line for line in fonts.splitlines() if "DejaVu-Sans-Mono" in line)  # the values' face
    assert " yes yes " in mono


def test_issue_is_registered_and_audited_as_a_reveal_without_the_password(client, world):
    member = world.member_a
    login(client, world.clerk_a)
    issue(client, member, reason="記載事項変更")
    issue(client, member)
    first, second = MemberCard.objects.filter(member=member).order_by("issued_at", "id")
    assert second.supersedes == first
    assert second.issued_by == world.clerk_a and second.office == world.office_a
    assert second.reason == "紛失再発行" and second.password_printed
    assert len(second.content_hash) == 64
    event = AuditEvent.objects.filter(action="member.card.issued").latest("id")
    assert event.member_id == member.pk and event.actor == world.clerk_a
    assert event.details["reveal"] is True and event.details["supersedes"] == first.serial
    assert member.biglobe_password not in str(event.details)
    page = client.get(reverse("members:detail", kwargs={"pk": member.pk})).content.decode()
    assert second.serial in page and first.serial in page


def test_card_says_the_member_set_the_password_when_they_changed_it(client, world):
    from tracking.models import AccountStatus, Campaign, Status

    member = world.member_a
    campaign = Campaign.objects.create(name="2026年6月 BIGLOBEパスワード変更", started_on=date(2026, 6, 1))
    AccountStatus.objects.create(campaign=campaign, member=member, status=Status.DONE, status_on=date(2026, 6, 20))
    login(client, world.clerk_a)
    text = pdf_text(issue(client, member).content)
    assert member.biglobe_password not in text
    assert_in_order(text, ["6. パスワード", "お客様ご自身で変更済み", "2026年6月20日", "7. メールアドレス"])
    card = MemberCard.objects.get(member=member)
    assert not card.password_printed
    assert AuditEvent.objects.get(action="member.card.issued").details["reveal"] is False


def test_unprintable_character_stops_the_issue_naming_it(client, world):
    member = world.member_a
    type(member).objects.filter(pk=member.pk).update(name="テスト\U0001fae8商店")
    login(client, world.clerk_a)
    response = issue(client, member)
    assert response.status_code == 302
    assert not MemberCard.objects.exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("登録者名" in m and "U+1FAE8" in m for m in messages)


def test_clerk_cannot_issue_another_offices_card(client, world):
    login(client, world.clerk_a)
    response = issue(client, world.member_b)
    assert response.status_code == 404
    assert not MemberCard.objects.exists()
    assert AuditEvent.objects.filter(action="access.denied", actor=world.clerk_a).exists()


def test_it_requires_the_reveal_permission(client, world):
    login(client, world.reader_a)
    assert issue(client, world.member_a).status_code == 403


def test_a_get_issues_nothing_and_goes_back_to_the_member(client, world):
    """A reloaded password re-entry page or a bookmark arrives as a GET: back to the member, not a bare 405."""
    login(client, world.clerk_a)
    response = client.get(reverse("documents:card_issue", kwargs={"pk": world.member_a.pk}))
    assert response.status_code == 302
    assert response["Location"] == reverse("members:detail", kwargs={"pk": world.member_a.pk})
    assert not MemberCard.objects.exists()


def test_it_asks_for_the_password_again_when_the_login_is_old(client, world):
    login(client, world.clerk_a, fresh_auth=False)
    response = issue(client, world.member_a)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert not MemberCard.objects.exists()
    url = reverse("documents:card_issue", kwargs={"pk": world.member_a.pk})
    response = client.post(url, {"reason": "紛失再発行", "password": "staff-pass-for-tests"})
    assert response["Content-Type"] == "application/pdf"
    assert MemberCard.objects.get().reason == "紛失再発行"
