"""One scheduler: of several beat processes, only the one holding the database lock sends periodic tasks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from efnet.beat import lock_acquire, lock_release
from efnet.models import SchedulerLock

pytestmark = pytest.mark.django_db


def test_the_first_beat_takes_the_lock_and_a_second_is_refused_while_it_renews():
    assert lock_acquire(holder="a", seconds=60) is True
    assert lock_acquire(holder="b", seconds=60) is False
    assert lock_acquire(holder="a", seconds=60) is True  # renewing
    assert SchedulerLock.objects.get().holder == "a"


def test_a_lock_not_renewed_for_its_lifetime_goes_to_the_next_beat():
    lock_acquire(holder="a", seconds=60)
    SchedulerLock.objects.update(renewed_at=timezone.now() - timedelta(seconds=61))
    assert lock_acquire(holder="b", seconds=60) is True
    assert lock_acquire(holder="a", seconds=60) is False  # the old holder, back, now stands by


def test_a_clean_stop_hands_the_lock_over_at_once():
    lock_acquire(holder="a", seconds=60)
    lock_release(holder="b")  # not the holder: nothing happens
    assert lock_acquire(holder="b", seconds=60) is False
    lock_release(holder="a")
    assert lock_acquire(holder="b", seconds=60) is True


def test_a_standby_scheduler_neither_opens_the_schedule_file_nor_schedules(tmp_path, settings):
    from efnet.beat import GuardedScheduler
    from efnet.celery import app

    first = GuardedScheduler(app=app, schedule_filename=str(tmp_path / "a"))
    second = GuardedScheduler(app=app, schedule_filename=str(tmp_path / "b"))
    try:
        # The first tick may send the tasks that are due: none is, as beat's entries start from now.
        first.tick()
        second.tick()
        assert first.holding and "notices-redispatch" in first.schedule
        assert not second.holding and second.schedule == {}
        assert not any(p.name.startswith("b") for p in tmp_path.iterdir())  # the standby opened no file
    finally:
        first.close()
        second.close()
    assert not SchedulerLock.objects.filter(holder=first.holder).exists()  # handed over on close
