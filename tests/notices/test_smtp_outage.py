"""A mail server that cannot be reached is an outage, not a failure of the messages: sending waits, charges no
attempt, says so on the notice page, and resumes by itself once the server answers. Tasks run inline (eager)."""

from aiosmtpd.controller import Controller
from django.test import override_settings
from django.urls import reverse

from notices import outbox, services
from notices.models import Delivery, Notice
from tests.conftest import login
from tests.factories import MemberFactory
from tests.notices.conftest import RecordingHandler, approved_notice, enroll, free_port


def _smtp(port: int):
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=5,
        NOTICES_RATE_PER_SECOND=0,
        NOTICES_MAX_ATTEMPTS=1,  # a single charged attempt would fail the delivery for good
    )


def test_an_unreachable_server_charges_no_attempt_and_sending_waits_then_resumes(
    client, world, campaign, django_capture_on_commit_callbacks
):
    members = [world.member_a, *(MemberFactory(office=world.office_a) for _ in range(3))]
    enroll(*members)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    port = free_port()  # nothing listens there yet
    with _smtp(port):
        with django_capture_on_commit_callbacks(execute=True):
            services.notice_send(notice=notice, actor=world.admin)
        for _ in range(3):  # the periodic re-dispatch, three times while the server is down
            outbox.redispatch_all()

        rows = notice.deliveries.all()
        assert {d.status for d in rows} == {Delivery.Status.QUEUED}
        assert {d.attempts for d in rows} == {0}
        notice.refresh_from_db()
        assert notice.state == Notice.State.SENDING and notice.smtp_waiting_since is not None
        assert "ConnectionRefusedError" in notice.last_error
        login(client, world.admin)
        page = client.get(reverse("notices:progress", args=[notice.pk])).content.decode()
        assert "メールサーバーに接続できないため、送信を待っています" in page
        assert notice.last_error in page

        handler = RecordingHandler()
        server = Controller(handler, hostname="127.0.0.1", port=port)
        server.start()
        try:
            outbox.redispatch_all()
        finally:
            server.stop()

    assert handler.per_recipient() == {m.email: 1 for m in members}
    notice.refresh_from_db()
    assert notice.state == Notice.State.SENT
    assert notice.smtp_waiting_since is None and notice.last_error == ""
    assert set(notice.deliveries.values_list("status", flat=True)) == {Delivery.Status.SENT}
    page = client.get(reverse("notices:progress", args=[notice.pk])).content.decode()
    assert "メールサーバーに接続できない" not in page


def test_a_reply_about_the_message_is_still_an_attempt(world, campaign, django_capture_on_commit_callbacks):
    enroll(world.member_a)
    handler = RecordingHandler()
    handler.replies[world.member_a.email] = "451 4.3.0 try again later"
    server = Controller(handler, hostname="127.0.0.1", port=free_port())
    server.start()
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    try:
        with _smtp(server.port), django_capture_on_commit_callbacks(execute=True):
            services.notice_send(notice=notice, actor=world.admin)
    finally:
        server.stop()
    delivery = notice.deliveries.get()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 1
    assert "451" in delivery.last_error
    notice.refresh_from_db()
    assert notice.smtp_waiting_since is None
