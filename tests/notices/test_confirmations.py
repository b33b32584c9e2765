"""承認する, 送信を開始 and 送付済みにする cannot be undone: the first POST shows a confirmation page with the
counts, and only its form (``confirmed``, with the version of the notice the admin saw) acts."""

import pytest
from django.urls import reverse

from notices.models import Delivery, Notice
from tests.conftest import login
from tests.factories import MemberFactory
from tests.notices.conftest import approved_notice, enroll, make_notice, post_confirmed


def test_approve_without_the_confirmation_step_shows_the_counts_and_approves_nothing(client, world, campaign):
    fax_only = MemberFactory(office=world.office_a, email="")
    enroll(world.member_a, world.member_b, fax_only)
    notice = make_notice(campaign=campaign, author=world.admin)
    login(client, world.admin2)
    response = client.post(reverse("notices:approve", args=[notice.pk]))
    assert response.status_code == 200
    facts = response.content.decode().split('data-testid="confirm-facts"', 1)[1].split("</dl>", 1)[0]
    assert "<dt>送付先</dt><dd>3 名</dd>" in facts
    assert "<dt>メール</dt><dd>2 名</dd>" in facts and "<dt>FAX・印刷</dt><dd>1 名</dd>" in facts
    assert 'name="confirmed" value="1"' in response.content.decode()
    notice.refresh_from_db()
    assert notice.state == Notice.State.DRAFT and not notice.deliveries.exists()

    post_confirmed(client, "notices:approve", notice)
    notice.refresh_from_db()
    assert notice.state == Notice.State.APPROVED and notice.approved_by == world.admin2


def test_approve_is_refused_when_the_notice_changed_after_the_confirmation_page(client, world, campaign):
    enroll(world.member_a)
    notice = make_notice(campaign=campaign, author=world.admin)
    seen = notice.updated_at.isoformat()
    from notices import services

    services.notice_update(notice=notice, actor=world.admin, title="差し替えた件名")
    login(client, world.admin2)
    response = client.post(reverse("notices:approve", args=[notice.pk]), {"confirmed": "1", "version": seen})
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.state == Notice.State.DRAFT
    assert "確認の後に案内が変更されました" in client.get(response.url).content.decode()


def test_send_without_the_confirmation_step_shows_the_counts_and_sends_nothing(
    client, world, campaign, django_capture_on_commit_callbacks
):
    fax_only = MemberFactory(office=world.office_a, email="")
    enroll(world.member_a, world.member_b, fax_only)
    notice = approved_notice(world, campaign)
    login(client, world.admin)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("notices:send", args=[notice.pk]))
    assert response.status_code == 200 and not callbacks
    html = response.content.decode()
    assert "<dt>メールで送信</dt><dd>2 件</dd>" in html
    assert "<dt>FAX・印刷</dt><dd>1 件（PDFを作成して送付）</dd>" in html
    notice.refresh_from_db()
    assert notice.state == Notice.State.APPROVED and notice.send_started_at is None


def test_a_double_submitted_confirmation_starts_sending_once(
    client, world, campaign, django_capture_on_commit_callbacks
):
    enroll(world.member_a)
    notice = approved_notice(world, campaign)
    login(client, world.admin)
    data = {"confirmed": "1", "version": notice.updated_at.isoformat()}
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(reverse("notices:send", args=[notice.pk]), data)
        client.post(reverse("notices:send", args=[notice.pk]), data)
    assert len(callbacks) == 1  # one dispatch
    from efnet.models import AuditEvent

    assert AuditEvent.objects.filter(action="notice.sending.started").count() == 1


def _sending_with_print(world, campaign, client):
    fax_only = MemberFactory(office=world.office_a, email="")
    enroll(fax_only)
    notice = approved_notice(world, campaign, audience_channel="fax")
    Notice.objects.filter(pk=notice.pk).update(state=Notice.State.SENDING)
    login(client, world.admin)
    return notice


def test_mark_printed_asks_first_with_the_count(client, world, campaign):
    notice = _sending_with_print(world, campaign, client)
    page = client.get(reverse("notices:detail", args=[notice.pk])).content.decode()
    assert "FAX・印刷分を送付済みにする（1 名）" in page
    response = client.post(reverse("notices:mark_printed", args=[notice.pk]))
    assert response.status_code == 200
    assert "<dt>送付済みにする会員</dt><dd>1 名</dd>" in response.content.decode()
    assert notice.deliveries.get().status == Delivery.Status.QUEUED

    post_confirmed(client, "notices:mark_printed", notice)
    assert notice.deliveries.get().status == Delivery.Status.SENT


def test_the_mark_printed_button_is_not_shown_when_nothing_is_left_to_mark(client, world, campaign):
    notice = _sending_with_print(world, campaign, client)
    notice.deliveries.update(status=Delivery.Status.SENT)
    page = client.get(reverse("notices:detail", args=[notice.pk])).content.decode()
    assert reverse("notices:mark_printed", args=[notice.pk]) not in page
    # An old page's button posted anyway: nothing to confirm, nothing done.
    response = client.post(reverse("notices:mark_printed", args=[notice.pk]))
    assert response.status_code == 302
    assert "送付済みにするFAX・印刷分はありません" in client.get(response.url).content.decode()


@pytest.mark.parametrize("name", ["approve", "send", "mark_printed"])
def test_the_confirmation_page_posts_back_to_the_same_action_with_confirmed(client, world, campaign, name):
    enroll(world.member_a)
    fax_only = MemberFactory(office=world.office_a, email="")
    enroll(fax_only)
    notice = make_notice(campaign=campaign, author=world.admin)
    if name != "approve":
        approved_notice_state = Notice.State.APPROVED if name == "send" else Notice.State.SENDING
        from notices import services

        services.notice_approve(notice=notice, actor=world.admin2)
        Notice.objects.filter(pk=notice.pk).update(state=approved_notice_state)
    login(client, world.admin2 if name == "approve" else world.admin)
    html = client.post(reverse(f"notices:{name}", args=[notice.pk])).content.decode()
    form = html.split('data-testid="confirm-question"', 1)[1]
    assert f'action="{reverse(f"notices:{name}", args=[notice.pk])}"' in form
    assert 'name="confirmed" value="1"' in form and "data-once" in form
    assert "やめる" in form
