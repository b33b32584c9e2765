"""Writes that may meet a busy SQLite file (the embedded default: web, worker threads and beat share it)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connection

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_locked(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def retry_if_locked(write: Callable[[], T], *, attempts: int = 5, first_wait: float = 0.2) -> T:
    """Run ``write`` (its own transaction) again when SQLite refused it with "database is locked".

    Safe because a refused write did not happen: the statement or the transaction around it was rolled back.
    That holds only when ``write`` is not inside a caller's transaction, so there the error is passed on."""
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except OperationalError as exc:
            if not is_locked(exc) or attempt == attempts or connection.in_atomic_block:
                raise
            log.warning("database is locked; trying the write again (%d/%d)", attempt, attempts)
            time.sleep(first_wait * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
