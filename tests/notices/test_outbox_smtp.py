"""Sending through a real SMTP server on loopback (aiosmtpd), tasks run inline (eager)."""

import json

from django.urls import reverse
from django.utils import timezone

from efnet.models import AuditEvent
from notices import outbox, services
from notices.models import Delivery, Notice
from tests.conftest import login
from tests.factories import MemberFactory
from tests.notices.conftest import approved_notice, complete, enroll
from tracking.models import AccountStatus, Status


def _send(notice, actor, callbacks):
    with callbacks(execute=True):
        services.notice_send(notice=notice, actor=actor)


def test_every_member_receives_exactly_one_message(world, campaign, smtp_settings, django_capture_on_commit_callbacks):
    others = [MemberFactory(office=world.office_a) for _ in range(5)]
    enroll(world.member_a, world.member_b, *others)
    notice = approved_notice(world, campaign)
    _send(notice, world.admin, django_capture_on_commit_callbacks)

    received = smtp_settings.per_recipient()
    expected = {m.email for m in [world.member_a, world.member_b, *others]}
    assert set(received) == expected
    assert all(n == 1 for n in received.values())
    notice.refresh_from_db()
    assert notice.state == Notice.State.SENT
    assert set(notice.deliveries.values_list("status", flat=True)) == {"sent"}


def test_japanese_headers_and_body_encode_and_carry_the_message_id(
    world, campaign, smtp_settings, django_capture_on_commit_callbacks
):
    enroll(world.member_a)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    _send(notice, world.admin, django_capture_on_commit_callbacks)

    [message] = smtp_settings.messages
    delivery = notice.deliveries.get()
    # Folded after "Subject:" (valid RFC 5322); unfolding leaves leading white space, which readers drop.
    assert message["Subject"].strip() == "第2報【重要】BIGLOBE パスワード変更のお願い"
    assert message["From"] == "EFネット事務局 <efnet@example.jp>"
    assert message["Reply-To"] == "efnet@example.jp"
    assert message["Message-ID"] == delivery.message_id and delivery.message_id.endswith("@efnet.example.jp>")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert world.member_a.name in text and "令和8年6月吉日" in text
    assert world.member_a.name in html
    # Each line of the notice ends its own line in the HTML part too, so both parts go out 8bit: one
    # over-long line would switch the part to quoted-printable, which triples the size of Japanese text.
    assert "<br>\r\n" in html
    for part in (message.get_body(("plain",)), message.get_body(("html",))):
        assert part["Content-Transfer-Encoding"] == "8bit"
    assert delivery.sent_at is not None
    # The raw message is 7-bit/8-bit safe: the subject is MIME-encoded, not raw UTF-8 bytes.
    assert "=?utf-8?" in message.as_string().split("\n\n", 1)[0].lower()


def test_sending_marks_pending_accounts_notified_and_writes_the_member_timeline(
    world, campaign, smtp_settings, django_capture_on_commit_callbacks
):
    enroll(world.member_a)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    _send(notice, world.admin, django_capture_on_commit_callbacks)

    statuses = set(AccountStatus.objects.filter(member=world.member_a).values_list("status", flat=True))
    assert statuses == {Status.NOTIFIED}
    event = AuditEvent.objects.get(action="notice.delivery.sent")
    assert event.member_id == world.member_a.pk
    assert world.member_a.biglobe_password not in json.dumps(event.details, ensure_ascii=False)


def test_complete_members_get_the_apology(world, campaign, smtp_settings, django_capture_on_commit_callbacks):
    enroll(world.member_a, world.member_b)
    complete(world.member_a, campaign)
    notice = approved_notice(world, campaign)
    _send(notice, world.admin, django_capture_on_commit_callbacks)
    by_to = {str(m["To"]): m.get_body(("plain",)).get_content() for m in smtp_settings.messages}
    assert "お詫び:" in by_to[world.member_a.email] and "お願い:" not in by_to[world.member_a.email]
    assert "お願い:" in by_to[world.member_b.email] and "お詫び:" not in by_to[world.member_b.email]


def test_a_permanent_refusal_fails_with_the_error_kept(
    world, campaign, smtp_settings, django_capture_on_commit_callbacks
):
    enroll(world.member_a, world.member_b)
    smtp_settings.replies[world.member_b.email] = "550 5.1.1 No such user here"
    notice = approved_notice(world, campaign)
    _send(notice, world.admin, django_capture_on_commit_callbacks)

    failed = notice.deliveries.get(member=world.member_b)
    assert failed.status == Delivery.Status.FAILED
    assert "550" in failed.last_error and "No such user" in failed.last_error
    assert notice.deliveries.get(member=world.member_a).status == Delivery.Status.SENT
    assert smtp_settings.per_recipient() == {world.member_a.email: 1}


def test_a_transient_refusal_is_retried_later_and_then_sent(
    world, campaign, smtp_settings, django_capture_on_commit_callbacks
):
    enroll(world.member_a)
    smtp_settings.replies[world.member_a.email] = "451 4.3.0 Try again later"
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    _send(notice, world.admin, django_capture_on_commit_callbacks)

    delivery = notice.deliveries.get()
    assert delivery.status == Delivery.Status.QUEUED and delivery.attempts == 1
    assert "451" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now()  # backoff: not due yet
    assert outbox.dispatch(notice.pk) == 0

    smtp_settings.replies.clear()
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    outbox.redispatch_all()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 2
    assert smtp_settings.per_recipient() == {world.member_a.email: 1}


def test_a_double_clicked_send_and_a_second_dispatch_send_once(
    client, world, campaign, smtp_settings, django_capture_on_commit_callbacks
):
    enroll(world.member_a, world.member_b)
    notice = approved_notice(world, campaign)
    login(client, world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        # Both clicks carry the same confirmation form (the page did not change between them).
        data = {"confirmed": "1", "version": notice.updated_at.isoformat()}
        client.post(reverse("notices:send", args=[notice.pk]), data)
        client.post(reverse("notices:send", args=[notice.pk]), data)
    # The notice enqueued again (e.g. the periodic run) and a batch task delivered twice.
    Notice.objects.filter(pk=notice.pk).update(state=Notice.State.SENDING)
    outbox.dispatch(notice.pk)
    outbox.send_batch(list(notice.deliveries.values_list("pk", flat=True)))
    assert smtp_settings.per_recipient() == {world.member_a.email: 1, world.member_b.email: 1}


def test_a_row_stuck_in_sending_becomes_unknown_and_is_not_resent(world, campaign, smtp_settings):
    enroll(world.member_a)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    Notice.objects.filter(pk=notice.pk).update(state=Notice.State.SENDING)
    delivery = notice.deliveries.get()
    assert outbox.claim(delivery.pk)  # a worker claimed it, then died
    assert outbox.reap_stale(older_than_seconds=3600) == 0  # not stale yet
    assert outbox.reap_stale(older_than_seconds=0) == 1
    outbox.redispatch_all()
    outbox.send_batch([delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.UNKNOWN
    assert smtp_settings.messages == []
    assert AuditEvent.objects.filter(action="notice.delivery.unknown", member_id=world.member_a.pk).exists()


def test_an_admin_resends_an_unknown_delivery(world, campaign, smtp_settings, django_capture_on_commit_callbacks):
    enroll(world.member_a)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    Notice.objects.filter(pk=notice.pk).update(state=Notice.State.SENDING)
    delivery = notice.deliveries.get()
    outbox.claim(delivery.pk)
    outbox.reap_stale(older_than_seconds=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.delivery_resolve_unknown(delivery=delivery, actor=world.admin, decision="resend")
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert smtp_settings.per_recipient() == {world.member_a.email: 1}


def test_pause_stops_claiming_and_resume_continues(world, campaign, smtp_settings, django_capture_on_commit_callbacks):
    enroll(world.member_a, world.member_b)
    notice = approved_notice(world, campaign)
    Notice.objects.filter(pk=notice.pk).update(state=Notice.State.SENDING)
    services.notice_pause(notice=notice, actor=world.admin)
    outbox.send_batch(list(notice.deliveries.values_list("pk", flat=True)))
    assert smtp_settings.messages == []
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_resume(notice=notice, actor=world.admin)
    assert len(smtp_settings.messages) == 2


def test_cancel_leaves_queued_rows_unsent(world, campaign, smtp_settings):
    enroll(world.member_a, world.member_b)
    notice = approved_notice(world, campaign)
    assert services.notice_cancel(notice=notice, actor=world.admin) == 2
    outbox.send_batch(list(notice.deliveries.values_list("pk", flat=True)))
    assert smtp_settings.messages == []


def test_tasks_carry_ids_only(world, campaign, settings, monkeypatch, django_capture_on_commit_callbacks):
    """What goes on the queue: ids, never an address, a name or a password."""
    from notices import tasks

    enroll(world.member_a, world.member_b)
    notice = approved_notice(world, campaign)
    sent: list[tuple] = []
    monkeypatch.setattr(tasks.send_batch, "delay", lambda *a, **kw: sent.append((a, kw)))
    Notice.objects.filter(pk=notice.pk).update(state=Notice.State.SENDING)
    outbox.dispatch(notice.pk)
    assert sent, "nothing was queued"
    payload = json.dumps(sent, ensure_ascii=False)
    for args, kwargs in sent:
        assert args == ()
        assert set(kwargs) == {"delivery_ids"} and all(isinstance(i, int) for i in kwargs["delivery_ids"])
    for secret in (world.member_a.email, world.member_a.name, world.member_a.biglobe_password):
        assert secret not in payload


def test_the_progress_page_shows_counts_and_failures(
    client, world, campaign, smtp_settings, django_capture_on_commit_callbacks
):
    enroll(world.member_a, world.member_b)
    smtp_settings.replies[world.member_b.email] = "550 5.1.1 No such user here"
    notice = approved_notice(world, campaign)
    _send(notice, world.admin, django_capture_on_commit_callbacks)
    login(client, world.admin)
    page = client.get(reverse("notices:progress", args=[notice.pk])).content.decode()
    assert 'data-testid="progress-percent">50%' in page
    assert "No such user" in page
    failed = notice.deliveries.get(member=world.member_b)
    smtp_settings.replies.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("notices:delivery_retry", args=[failed.pk]))
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.SENT


def test_the_delivery_shows_on_the_member_timeline(
    client, world, campaign, smtp_settings, django_capture_on_commit_callbacks
):
    enroll(world.member_a)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    _send(notice, world.admin, django_capture_on_commit_callbacks)
    login(client, world.clerk_a)  # the member's own office sees it on the member page
    page = client.get(reverse("members:detail", args=[world.member_a.pk])).content.decode()
    assert "案内を送付" in page


def test_an_error_the_worker_meets_while_sending_is_shown_on_the_notice_page(
    world, campaign, smtp_settings, client, monkeypatch
):
    enroll(world.member_a, world.member_b)
    notice = approved_notice(world, campaign)
    Notice.objects.filter(pk=notice.pk).update(state=Notice.State.SENDING)

    def broken(**kwargs):
        raise RuntimeError("ディスクがいっぱいです")

    monkeypatch.setattr(outbox, "build_message", broken)
    ids = list(notice.deliveries.values_list("pk", flat=True))
    try:
        outbox.send_batch(ids)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the error must reach the worker's log too")

    notice.refresh_from_db()
    assert notice.last_error == "RuntimeError: ディスクがいっぱいです"
    assert notice.last_error_at is not None
    page = login(client, world.admin).get(reverse("notices:detail", kwargs={"pk": notice.pk}))
    assert "送信処理でエラーが発生しました" in page.content.decode()
    assert "RuntimeError: ディスクがいっぱいです" in page.content.decode()
