"""A write SQLite refused as locked did not happen, so it is tried again; inside a caller's transaction it is not."""

import pytest
from django.db import InterfaceError, OperationalError, transaction

from efnet.db import retry_if_locked


class Flaky:
    def __init__(self, failures: int, message: str = "database is locked"):
        self.failures, self.message, self.calls = failures, message, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise OperationalError(self.message)
        return "written"


def test_it_tries_a_locked_write_again():
    write = Flaky(failures=2)
    assert retry_if_locked(write, first_wait=0) == "written"
    assert write.calls == 3


def test_it_gives_up_after_its_attempts():
    write = Flaky(failures=5)
    with pytest.raises(OperationalError):
        retry_if_locked(write, attempts=3, first_wait=0)
    assert write.calls == 3


@pytest.mark.django_db(transaction=True)  # a healthy connection, outside any transaction: only the error decides
def test_it_does_not_retry_other_database_errors():
    from django.db import connection

    connection.ensure_connection()
    write = Flaky(failures=1, message="no such table: x")
    with pytest.raises(OperationalError):
        retry_if_locked(write, first_wait=0)
    assert write.calls == 1


@pytest.mark.django_db  # a plain database test runs inside a transaction of its own, as a caller's would be
def test_it_does_not_retry_inside_a_callers_transaction():
    write = Flaky(failures=1)
    with pytest.raises(OperationalError), transaction.atomic():
        retry_if_locked(write, first_wait=0)
    assert write.calls == 1


class Disconnected(Flaky):
    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise InterfaceError("connection already closed")
        return "written"


def test_it_tries_a_write_again_on_a_new_connection_when_the_connection_dropped():
    write = Disconnected(failures=3)
    assert retry_if_locked(write, first_wait=0, reconnect_seconds=5) == "written"
    assert write.calls == 4


def test_it_gives_up_on_a_lost_connection_after_its_reconnect_budget():
    write = Disconnected(failures=10**6)
    with pytest.raises(InterfaceError):
        retry_if_locked(write, first_wait=0, reconnect_seconds=0)
    assert write.calls == 1
