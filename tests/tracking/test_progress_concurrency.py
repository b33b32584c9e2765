"""Two changes to different accounts of one member at the same moment, on two database connections: the
stored progress must count both. Needs PostgreSQL (row locks; SQLite runs one writer at a time)."""

import threading
import time

import pytest
from django.db import connection, transaction

from tracking.models import AccountStatus, MemberProgress, Status
from tracking.services import status_record

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: row locks between connections")
def test_concurrent_changes_to_one_member_leave_its_progress_exact(world, campaign):
    primary = AccountStatus.objects.get(campaign=campaign, member=world.member_a, address=None)
    extra = AccountStatus.objects.get(campaign=campaign, address=world.address_a)
    first_done = threading.Event()
    errors = []

    def slow_first():
        # Records 完了 on the primary account and keeps its transaction open a moment, as a slow request
        # would: the other change must wait for it, not compute the member's state without it.
        try:
            with transaction.atomic():
                status_record(account_status=primary, status=Status.DONE, actor=world.clerk_a, source="電話")
                first_done.set()
                time.sleep(0.5)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            first_done.set()
        finally:
            connection.close()

    def second():
        try:
            first_done.wait()
            status_record(account_status=extra, status=Status.DONE, actor=world.clerk_a, source="FAX")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=slow_first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    progress = MemberProgress.objects.get(member=world.member_a, campaign=campaign)
    assert (progress.state, progress.n_done, progress.n_not_notified) == (Status.DONE, 2, 0)
