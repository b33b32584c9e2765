"""Exactly-once sending with real Celery workers consuming from Redis, PostgreSQL as the outbox and a real
SMTP server on loopback counting what arrives. Skips on the embedded default (SQLite, no broker)."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from notices import outbox, services
from notices.models import Delivery, Notice
from tests.factories import MemberFactory
from tests.notices.conftest import approved_notice, enroll

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _needs_services(require_services):
    """Autouse, so the skip on the embedded default comes before any other fixture touches the database."""


def wait_until_settled(notice, timeout: float = 60) -> None:
    """Poll the outbox until nothing is queued or in flight (a deadline, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        settled = not notice.deliveries.filter(status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]).exists()
        if settled and Notice.objects.filter(pk=notice.pk, state=Notice.State.SENT).exists():
            return
        time.sleep(0.2)
    counts = list(notice.deliveries.values_list("status", flat=True))
    raise AssertionError(f"deliveries did not settle: {counts}")


def _audience(world, n_extra: int):
    extra = [MemberFactory(office=world.office_a) for _ in range(n_extra)]
    members = [world.member_a, world.member_b, *extra]
    enroll(*members)
    return members


def test_double_click_double_enqueue_and_two_workers_send_exactly_one_each(
    world, campaign, broker, stalling_smtp, workers
):
    members = _audience(world, 6)
    notice = approved_notice(world, campaign)
    env = {"NOTICES_BATCH_SIZE": "2"}
    workers(queue=broker, smtp_port=stalling_smtp.port, extra_env=env)
    workers(queue=broker, smtp_port=stalling_smtp.port, extra_env=env)

    assert services.notice_send(notice=notice, actor=world.admin) is True
    assert services.notice_send(notice=notice, actor=world.admin) is False  # the second click
    outbox.dispatch(notice.pk)  # the notice enqueued a second time: every id is now in two tasks
    wait_until_settled(notice)

    received = stalling_smtp.handler.per_recipient()
    assert received == {m.email: 1 for m in members}
    assert set(notice.deliveries.values_list("status", flat=True)) == {"sent"}
    notice.refresh_from_db()
    assert notice.state == Notice.State.SENT


def test_kill_9_mid_send_then_restart_gives_no_duplicate_and_no_loss(world, campaign, broker, stalling_smtp, workers):
    members = _audience(world, 6)
    handler = stalling_smtp.handler
    handler.stall_at = 3
    notice = approved_notice(world, campaign)
    env = {"NOTICES_BATCH_SIZE": "2"}
    first = workers(queue=broker, smtp_port=stalling_smtp.port, extra_env=env)

    services.notice_send(notice=notice, actor=world.admin)
    assert handler.stalled.wait(timeout=90), "the worker never reached the third message"
    first.kill()  # the machine dies while the server holds the third message's reply

    # The reaper (periodic, here with no grace period since the only worker is dead) finds the one in flight.
    assert outbox.reap_stale(older_than_seconds=0) == 1
    [unknown] = notice.deliveries.filter(status=Delivery.Status.UNKNOWN)
    handler.release.set()  # the server keeps the message it had (whether it arrives is what "unknown" means)

    workers(queue=broker, smtp_port=stalling_smtp.port, extra_env=env)
    with override_settings(NOTICES_REDISPATCH_AFTER_SECONDS=0):
        outbox.redispatch_all()  # the tasks the dead worker held are refilled from the database
    wait_until_settled(notice)

    received = handler.per_recipient()
    assert max(received.values()) == 1, f"duplicates: {received}"  # no member got it twice
    statuses = dict(notice.deliveries.values_list("member__email", "status"))
    assert statuses.pop(unknown.member.email) == Delivery.Status.UNKNOWN  # never re-sent silently
    assert set(statuses.values()) == {Delivery.Status.SENT}  # every other one went out...
    assert all(received[email] == 1 for email in statuses)  # ...and arrived: nothing lost
    assert len(members) == len(statuses) + 1
