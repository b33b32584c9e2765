"""One scheduler: a lock row in the database, so that of several beat processes (a beat left behind by a killed
worker, one per worker machine, a restart that overlapped) exactly one sends the periodic tasks.

``GuardedScheduler`` is Celery beat's file-backed scheduler that schedules only while it holds the ``beat`` row
of ``SchedulerLock``: it takes the row with one conditional UPDATE (held by itself, or not renewed for
``EFNET_BEAT_LOCK_SECONDS``), renews it on every tick, and opens the schedule file only once it holds it (two
beats never write one file). A beat without the lock stands by and tries again every few seconds; when the
holder dies, the standby takes over within the lock's lifetime. A holder that stops cleanly hands the lock
over at once. The database is the one every process already shares (SQLite on one machine, PostgreSQL across
several), so the guard needs nothing else.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta

from celery.beat import PersistentScheduler
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

log = logging.getLogger(__name__)
LOCK_NAME = "beat"


def lock_acquire(*, holder: str, seconds: int, name: str = LOCK_NAME) -> bool:
    """Take or renew the lock for ``holder``: true when ``holder`` now holds it."""
    from efnet.models import SchedulerLock

    now = timezone.now()
    stale = now - timedelta(seconds=seconds)
    won = (
        SchedulerLock.objects.filter(name=name)
        .filter(Q(holder=holder) | Q(renewed_at__lt=stale))
        .update(holder=holder, renewed_at=now)
    )
    if won:
        return True
    try:
        with transaction.atomic():  # the first beat ever creates the row; of two at once, one does
            SchedulerLock.objects.create(name=name, holder=holder, renewed_at=now)
    except IntegrityError:
        return False  # the row exists and someone else holds it
    return True


def lock_release(*, holder: str, name: str = LOCK_NAME) -> None:
    """Hand the lock over at once (a clean stop): it reads as not renewed since long ago."""
    from efnet.models import SchedulerLock

    SchedulerLock.objects.filter(name=name, holder=holder).update(
        holder="", renewed_at=timezone.now() - timedelta(days=1)
    )


class GuardedScheduler(PersistentScheduler):
    def __init__(self, *args, **kwargs):
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.holding = False
        self.lock_seconds = settings.EFNET_BEAT_LOCK_SECONDS
        super().__init__(*args, **kwargs)

    def setup_schedule(self):
        """Deferred until the lock is held: a standby beat must not open the schedule file."""

    def get_schedule(self):
        return self._store["entries"] if self._store is not None else {}

    def set_schedule(self, schedule):
        if self._store is not None:
            self._store["entries"] = schedule

    schedule = property(get_schedule, set_schedule)

    def _holds_lock(self) -> bool:
        try:
            return lock_acquire(holder=self.holder, seconds=self.lock_seconds)
        except Exception:
            # The database is unreachable: whoever holds the lock cannot renew it either; stand by until it
            # answers (the periodic tasks need it anyway). A new connection is opened at the next try.
            log.exception("beat: could not reach the scheduler lock; standing by")
            connection.close()
            return False

    def tick(self, *args, **kwargs):
        renew_every = max(self.lock_seconds / 3, 1)
        held = self._holds_lock()
        if held and not self.holding:
            log.warning("beat: this beat holds the scheduler lock (%s) and sends the periodic tasks", self.holder)
            super().setup_schedule()
            self._heap = None
            self.holding = True
        elif not held and self.holding:
            log.warning("beat: lost the scheduler lock to another beat; standing by")
            self._close_store()
            self.holding = False
        elif not held:
            log.info("beat: another beat holds the scheduler lock; standing by")
        if not self.holding:
            return renew_every
        return min(super().tick(*args, **kwargs), renew_every)

    def _close_store(self) -> None:
        if self._store is not None:
            self.sync()
            self._store.close()
            self._store = None
        self._heap = None

    def close(self):
        try:
            super().close()
        finally:
            self._store = None
            if self.holding:
                try:
                    lock_release(holder=self.holder)
                except Exception:
                    log.exception("beat: could not hand over the scheduler lock (it expires by itself)")
                self.holding = False
