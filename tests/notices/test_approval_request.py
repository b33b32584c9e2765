"""Two admins, one workflow: the author asks for approval; the other admins see a badge with the count in the
menu and get one email with the link; the author sees who approved and when."""

import pytest
from django.core import mail
from django.urls import reverse

from efnet.models import AuditEvent, Role
from notices import services
from notices.models import Notice
from tests.conftest import login, make_staff
from tests.notices.conftest import enroll, make_notice, post_confirmed


@pytest.fixture
def admins_with_mail(world):
    for user, address in ((world.admin, "admin@example.jp"), (world.admin2, "admin2@example.jp")):
        user.email = address
        user.save(update_fields=["email"])
    return world


def _menu(client) -> str:
    html = client.get(reverse("members:search")).content.decode()
    return html.split("<nav>", 1)[1].split("</nav>", 1)[0]


def test_requesting_approval_mails_the_other_admins_once_with_the_link(
    admins_with_mail, campaign, django_capture_on_commit_callbacks, settings
):
    world = admins_with_mail
    settings.NOTICES_BASE_URL = "https://efnet.example.jp"
    admin3 = make_staff("admin3", roles=[Role.ADMIN])
    admin3.email = "admin3@example.jp"
    admin3.save()
    head = make_staff("head_with_mail", roles=[Role.HEAD_OFFICE])  # not an admin: not asked
    head.email = "head@example.jp"
    head.save()
    notice = make_notice(campaign=campaign, author=world.admin, title="第3報の件名 <b>")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notice_request_approval(notice=notice, actor=world.admin) is True
        assert services.notice_request_approval(notice=notice, actor=world.admin) is False  # a double click
    assert sorted(m.to[0] for m in mail.outbox) == ["admin2@example.jp", "admin3@example.jp"]
    message = mail.outbox[0]
    assert message.subject == "[EFネット事務局] 承認依頼: 第2報 第3報の件名 <b>"
    assert f"https://efnet.example.jp/notices/{notice.pk}/" in message.body
    assert "admin さんが" in message.body
    # The task delivered twice (a redelivered queue message) sends nothing more.
    assert services.approval_request_mail(notice_id=notice.pk) == 0
    assert len(mail.outbox) == 2
    assert AuditEvent.objects.filter(action="notice.approval_requested", actor=world.admin).count() == 1


def test_only_the_author_requests_approval(world, campaign):
    from django.core.exceptions import PermissionDenied

    notice = make_notice(campaign=campaign, author=world.admin)
    with pytest.raises(PermissionDenied):
        services.notice_request_approval(notice=notice, actor=world.admin2)
    notice.refresh_from_db()
    assert notice.approval_requested_at is None


def test_save_and_request_approval_is_one_click_on_the_form(
    client, admins_with_mail, campaign, django_capture_on_commit_callbacks
):
    world = admins_with_mail
    notice = make_notice(campaign=campaign, author=world.admin)
    login(client, world.admin)
    data = {
        "campaign": campaign.pk,
        "edition": 3,
        "title": "第3報",
        "date": "2026-07-01",
        "date_style": "kichijitsu",
        "body": notice.body,
        "audience_status": "pending",
        "audience_addresses": "any",
        "audience_edition_rule": "any",
        "audience_channel": "all",
        "request_approval": "1",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("notices:edit", args=[notice.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    notice.refresh_from_db()
    assert notice.approval_requested_at is not None
    assert [m.to for m in mail.outbox] == [["admin2@example.jp"]]


def test_the_badge_counts_notices_awaiting_approval_for_the_other_admins_only(client, world, campaign):
    mine = make_notice(campaign=campaign, author=world.admin)
    make_notice(campaign=campaign, author=world.admin2)  # a draft not yet submitted: not counted
    services.notice_request_approval(notice=mine, actor=world.admin)

    login(client, world.admin2)
    menu = _menu(client)
    assert 'data-testid="approval-badge"' in menu and "承認待ち</span>1<" in menu

    login(client, world.admin)  # the author: their own notice is not waiting for them
    assert "approval-badge" not in _menu(client)

    for persona in ("clerk_a", "reader_a", "head"):
        login(client, world.persona(persona))
        assert "approval-badge" not in _menu(client), persona


def test_the_badge_goes_once_the_notice_is_approved(client, world, campaign):
    enroll(world.member_a)
    notice = make_notice(campaign=campaign, author=world.admin)
    services.notice_request_approval(notice=notice, actor=world.admin)
    login(client, world.admin2)
    assert "approval-badge" in _menu(client)
    post_confirmed(client, "notices:approve", notice)
    assert "approval-badge" not in _menu(client)


def test_the_list_and_the_page_say_waiting_for_approval(client, world, campaign):
    notice = make_notice(campaign=campaign, author=world.admin)
    login(client, world.admin)
    page = client.get(reverse("notices:detail", args=[notice.pk])).content.decode()
    assert reverse("notices:request_approval", args=[notice.pk]) in page
    client.post(reverse("notices:request_approval", args=[notice.pk]))
    page = client.get(reverse("notices:detail", args=[notice.pk])).content.decode()
    assert reverse("notices:request_approval", args=[notice.pk]) not in page
    assert "に承認を依頼しました。他の管理者の承認を待っています。" in page
    assert "承認待ち" in client.get(reverse("notices:list")).content.decode()


def test_the_author_sees_who_approved_and_when(client, world, campaign):
    enroll(world.member_a)
    notice = make_notice(campaign=campaign, author=world.admin)
    services.notice_request_approval(notice=notice, actor=world.admin)
    services.notice_approve(notice=notice, actor=world.admin2)
    notice.refresh_from_db()
    login(client, world.admin)
    html = client.get(reverse("notices:detail", args=[notice.pk])).content.decode()
    shown = html.split('data-testid="approved-by">', 1)[1].split("</dd>", 1)[0]
    from django.utils import timezone

    at = timezone.localtime(notice.approved_at)
    assert shown == f"admin2（{at.year}/{at.month}/{at.day} {at.hour}:{at:%M} に承認）"  # SHORT_DATETIME_FORMAT


def test_editing_an_approved_notice_withdraws_the_request_too(world, campaign, django_capture_on_commit_callbacks):
    enroll(world.member_a)
    notice = make_notice(campaign=campaign, author=world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_request_approval(notice=notice, actor=world.admin)
    services.notice_approve(notice=notice, actor=world.admin2)
    services.notice_update(notice=notice, actor=world.admin, title="訂正")
    notice.refresh_from_db()
    assert notice.state == Notice.State.DRAFT
    assert notice.approval_requested_at is None and notice.approval_mail_sent_at is None
