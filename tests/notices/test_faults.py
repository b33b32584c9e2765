"""Faults that must not hand staff wrong information or needless work, with real Celery workers on Redis,
PostgreSQL as the outbox and a real SMTP server on loopback. Skips on the embedded default (SQLite, no broker).

Each test keeps the outbox's guarantees (no member gets a message twice, none is lost) and checks one thing more:
a dropped database connection does not turn delivered messages into 不明; an SMTP outage longer than the whole
retry budget fails nothing."""

from __future__ import annotations

import time

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test import override_settings

from notices import outbox, services
from notices.models import Delivery, Notice
from tests.factories import MemberFactory
from tests.notices.conftest import RecordingHandler, approved_notice, enroll, free_port

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _needs_services(require_services):
    """Autouse, so the skip on the embedded default comes before any other fixture touches the database."""


def _audience(world, n_extra: int):
    extra = [MemberFactory(office=world.office_a) for _ in range(n_extra)]
    members = [world.member_a, world.member_b, *extra]
    enroll(*members)
    return members


def wait_until_idle(notice, timeout: float = 45) -> None:
    """Until nothing is queued or in flight, or the deadline (then the assertions say what is left)."""
    deadline = time.monotonic() + timeout
    busy = [Delivery.Status.QUEUED, Delivery.Status.SENDING]
    while time.monotonic() < deadline and notice.deliveries.filter(status__in=busy).exists():
        time.sleep(0.2)


def terminate_other_backends() -> int:
    """pg_terminate_backend on every other connection to the test database: the workers' ones."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def assert_once_each(handler, notice, members) -> dict:
    received = handler.per_recipient()
    assert max(received.values()) == 1, f"duplicates: {received}"
    statuses = dict(notice.deliveries.values_list("member__email", "status"))
    assert len(statuses) == len(members)
    return statuses


def test_a_dropped_database_connection_mid_send_turns_no_delivered_message_unknown(
    world, campaign, broker, stalling_smtp, workers
):
    members = _audience(world, 8)
    handler = stalling_smtp.handler
    handler.stall_at = 3
    notice = approved_notice(world, campaign)
    workers(queue=broker, smtp_port=stalling_smtp.port, extra_env={"NOTICES_BATCH_SIZE": "20"})

    services.notice_send(notice=notice, actor=world.admin)
    assert handler.stalled.wait(timeout=90), "the worker never reached the third message"
    # Two messages sent (their marks may still wait in the worker), the third in the SMTP conversation.
    assert terminate_other_backends() >= 1
    handler.release.set()

    wait_until_idle(notice)
    # What the reaper would say of any row still in flight now that the worker is done with the batch.
    outbox.reap_stale(older_than_seconds=0)
    with override_settings(NOTICES_REDISPATCH_AFTER_SECONDS=0):
        outbox.redispatch_all()  # rows a stopped batch left queued go out: nothing is lost either way
    wait_until_idle(notice)

    statuses = assert_once_each(handler, notice, members)
    received = handler.per_recipient()
    false_unknown = [e for e, s in statuses.items() if s == Delivery.Status.UNKNOWN and received[e]]
    assert false_unknown == [], f"delivered, yet recorded 不明: {false_unknown}"
    assert set(statuses.values()) == {Delivery.Status.SENT}
    assert all(received[email] == 1 for email in statuses)


def test_an_smtp_outage_longer_than_the_whole_retry_budget_fails_nothing(world, campaign, broker, workers):
    members = _audience(world, 8)
    port = free_port()  # the mail server is down: nothing listens there yet
    notice = approved_notice(world, campaign)
    # Two attempts with backoff from one second: a budget of about 3 s, which the outage outlasts.
    env = {"NOTICES_BATCH_SIZE": "3", "NOTICES_MAX_ATTEMPTS": "2", "NOTICES_RETRY_BASE_SECONDS": "1"}
    workers(queue=broker, smtp_port=port, extra_env=env)
    services.notice_send(notice=notice, actor=world.admin)

    deadline = time.monotonic() + 60
    while not Notice.objects.filter(pk=notice.pk, smtp_waiting_since__isnull=False).exists():
        assert time.monotonic() < deadline, "the notice never said it was waiting for the mail server"
        time.sleep(0.2)
    outage_ends = time.monotonic() + 8
    while time.monotonic() < outage_ends:
        outbox.redispatch_all()  # what beat does every minute, here every half second
        time.sleep(0.5)
    assert not notice.deliveries.exclude(status=Delivery.Status.QUEUED).exists()
    assert set(notice.deliveries.values_list("attempts", flat=True)) == {0}

    handler = RecordingHandler()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        deadline = time.monotonic() + 60
        while not Notice.objects.filter(pk=notice.pk, state=Notice.State.SENT).exists():
            assert time.monotonic() < deadline, list(notice.deliveries.values_list("status", flat=True))
            outbox.redispatch_all()
            time.sleep(0.5)
    finally:
        server.stop()

    statuses = assert_once_each(handler, notice, members)
    assert set(statuses.values()) == {Delivery.Status.SENT}  # none failed
    assert handler.per_recipient() == {m.email: 1 for m in members}
    notice.refresh_from_db()
    assert notice.smtp_waiting_since is None


def _wait_for(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_second_beat_does_not_schedule_and_takes_over_once_the_first_is_killed(broker, tmp_path):
    from efnet.models import SchedulerLock
    from tests.notices.workers import Worker

    env = {"EFNET_BEAT_LOCK_SECONDS": "3", "EFNET_TEST_BEAT_EVERY": "1"}
    sent = "Scheduler: Sending due task"
    first = Worker.beat(queue=broker, schedule_file=tmp_path / "schedule", extra_env=env)
    second = None
    try:
        _wait_for(lambda: sent in first.output(), "the first beat to schedule")
        # A second beat on the same machine and schedule file, as a restart overlapping the old one would be.
        second = Worker.beat(queue=broker, schedule_file=tmp_path / "schedule", extra_env=env)
        _wait_for(lambda: "another beat holds the scheduler lock" in second.output(), "the second beat to stand by")
        time.sleep(4)  # longer than the lock's lifetime: the first keeps renewing it
        assert sent not in second.output()
        holder = SchedulerLock.objects.get(name="beat").holder
        assert holder.split(":")[1] == str(first.process.pid)

        first.kill()
        _wait_for(lambda: sent in second.output(), "the second beat to take over")
        assert SchedulerLock.objects.get(name="beat").holder.split(":")[1] == str(second.process.pid)
        assert "Removing corrupted schedule file" not in second.output()
    finally:
        for beat in (first, second):
            if beat is not None:
                print(f"--- beat log ---\n{beat.output()[-3000:]}")
                beat.stop()
