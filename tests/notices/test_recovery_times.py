"""Recovery times after a worker crash, measured with the default settings (a measurement, not a test of speed:
it runs only with EFNET_MEASURE_RECOVERY=1, takes about eleven minutes, prints its figures and asserts only
that nothing was sent twice or lost). The figures are stated in the README.

A worker, a beat (its own process) and a real SMTP server; the worker is killed with kill -9 while the server
holds its third message, and a new worker starts at once, as a supervisor would restart it."""

from __future__ import annotations

import os
import time

import pytest

from notices import services
from notices.models import Delivery
from tests.factories import MemberFactory
from tests.notices.conftest import approved_notice, enroll
from tests.notices.workers import Worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.environ.get("EFNET_MEASURE_RECOVERY"), reason="a measurement: EFNET_MEASURE_RECOVERY=1"),
]


@pytest.fixture(autouse=True)
def _needs_services(require_services):
    """Autouse, so the skip on the embedded default comes before any other fixture touches the database."""


def test_measure_recovery_after_a_worker_crash_with_the_defaults(
    world, campaign, broker, stalling_smtp, workers, tmp_path
):
    members = [world.member_a, world.member_b, *(MemberFactory(office=world.office_a) for _ in range(18))]
    enroll(*members)
    handler = stalling_smtp.handler
    handler.stall_at = 3
    notice = approved_notice(world, campaign)
    beat = Worker.beat(queue=broker, schedule_file=tmp_path / "schedule")
    try:
        first = workers(queue=broker, smtp_port=stalling_smtp.port)
        services.notice_send(notice=notice, actor=world.admin)
        assert handler.stalled.wait(timeout=90)
        first.kill()
        killed = time.monotonic()
        handler.release.set()  # the server keeps the message in flight: it arrives, the row cannot know
        workers(queue=broker, smtp_port=stalling_smtp.port)

        rest_at = unknown_at = None
        while (rest_at is None or unknown_at is None) and time.monotonic() - killed < 1200:
            statuses = list(notice.deliveries.values_list("status", flat=True))
            # The rest of the send: every row the dead worker had not claimed has gone out.
            if rest_at is None and Delivery.Status.QUEUED not in statuses:
                rest_at = time.monotonic() - killed
            # The rows it held in flight are declared 不明.
            if unknown_at is None and Delivery.Status.SENDING not in statuses:
                unknown_at = time.monotonic() - killed
            time.sleep(1)
    finally:
        beat_log = beat.output()
        beat.stop()
    counts = {s: statuses.count(s) for s in set(statuses)}
    print(f"RECOVERY rest_sent_after_s={rest_at} in_flight_unknown_after_s={unknown_at} counts={counts}")
    received = handler.per_recipient()
    assert max(received.values()) == 1, received  # nothing sent twice
    rows = dict(notice.deliveries.values_list("member__email", "status"))
    lost = [e for e, st in rows.items() if st != Delivery.Status.UNKNOWN and received[e] != 1]
    assert lost == [], (lost, beat_log[-2000:])  # every row but the 不明 ones arrived, once
    assert rest_at is not None and unknown_at is not None
