"""Writes that must happen even when the database is briefly unavailable: a busy SQLite file (the embedded
default: web, worker threads and beat share it) or a PostgreSQL connection that was dropped (a restarted
server, a failover, an administrator terminating backends)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_locked(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def is_disconnect(exc: BaseException) -> bool:
    """The connection is gone (as opposed to a statement the database refused): it no longer answers."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError) or is_locked(exc):
        return False
    return connection.connection is None or not connection.is_usable()


def _drop_connection() -> None:
    """Forget the broken connection; Django opens a new one at the next query."""
    with contextlib.suppress(Exception):
        connection.close()


def retry_if_locked(
    write: Callable[[], T], *, attempts: int = 5, first_wait: float = 0.2, reconnect_seconds: float | None = None
) -> T:
    """Run ``write`` (its own transaction) again when SQLite refused it with "database is locked", or when the
    connection was lost, on a new connection, for up to ``reconnect_seconds`` (``EFNET_DB_RECONNECT_SECONDS``).

    Safe because a refused write did not happen: the statement or the transaction around it was rolled back.
    A write whose connection dropped may have committed just before: ``write`` must be one that can run twice
    (a conditional UPDATE that finds nothing left to do the second time). Both hold only when ``write`` is
    not inside a caller's transaction, so there the error is passed on."""
    budget = settings.EFNET_DB_RECONNECT_SECONDS if reconnect_seconds is None else reconnect_seconds
    deadline = time.monotonic() + budget
    locked_tries = 0
    wait = first_wait
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block:
                raise
            if is_locked(exc):
                locked_tries += 1
                if locked_tries >= attempts:
                    raise
                log.warning("database is locked; trying the write again (%d/%d)", locked_tries, attempts)
                time.sleep(first_wait * 2 ** (locked_tries - 1))
                continue
            if not is_disconnect(exc) or time.monotonic() >= deadline:
                raise
            log.warning("database connection lost (%s); reconnecting to try the write again", exc)
            _drop_connection()
            time.sleep(min(wait, max(deadline - time.monotonic(), 0)))
            wait = min(max(wait * 2, 0.1), 5.0)
