"""Two people record the same account at the same moment, for real: two threads, two database connections.

Needs PostgreSQL (row locks); skipped with the reason on the embedded SQLite default."""

import threading

import pytest
from django.db import connection

from tracking.models import AccountStatus, Status, StatusChange
from tracking.services import StaleStatusError, status_record

pytestmark = pytest.mark.django_db(transaction=True)


def test_simultaneous_updates_one_wins_one_is_told(require_services, world, campaign):
    row = AccountStatus.objects.get(campaign=campaign, member=world.member_a, address=None)
    seen = row.version
    barrier = threading.Barrier(2)
    outcome = {}

    def record(user, status, note):
        try:
            mine = AccountStatus.objects.get(pk=row.pk)
            barrier.wait()
            status_record(
                account_status=mine,
                status=status,
                actor=user,
                source="電話",
                note=note,
                expected_version=seen,
            )
            outcome[user.username] = "applied"
        except StaleStatusError:
            outcome[user.username] = "told"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=record, args=(world.clerk_a, Status.DONE, "大阪で受付")),
        threading.Thread(target=record, args=(world.head, Status.NOTIFIED, "本社で受付")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcome.values()) == ["applied", "told"]
    winner = next(name for name, result in outcome.items() if result == "applied")
    row.refresh_from_db()
    assert row.version == seen + 1 and row.recorded_by.username == winner
    history = StatusChange.objects.filter(account_status=row)
    assert history.count() == 2
    assert sorted(history.values_list("applied", flat=True)) == [False, True]
    assert {c.note for c in history} == {"大阪で受付", "本社で受付"}
