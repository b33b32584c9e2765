"""The embedded default under load: a real Celery worker as `make run` starts it (threads pool, two threads,
beat beside it in a process of its own, kombu's filesystem transport) sending a notice from a SQLite file, while a clerk
keeps recording statuses in the portal against the same file. Every message must go out exactly once, and
every row must end ``sent``: no ``database is locked``, no ``unknown``, no ``failed``.

The suite's own SQLite test database is in memory, which another process cannot open, so this test migrates a
SQLite file of its own and points this process (every thread it starts) and the worker at it."""

from __future__ import annotations

import datetime
import threading
import time
import traceback
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connections
from django.urls import reverse

from efnet.models import Role
from members.models import SalesOffice
from notices import services
from notices.models import Delivery, Notice
from tests.conftest import login, make_staff
from tests.factories import MemberFactory
from tests.notices.conftest import approved_notice
from tests.notices.workers import Worker
from tracking.models import AccountStatus, Campaign, Status
from tracking.services import campaign_enroll_all

MEMBERS = 400


def _file_connection(settings_dict: dict):
    """A connection of this thread to the test's SQLite file (the in-memory one stays untouched)."""
    wrapper = connections["default"].__class__(settings_dict, "default")
    connections["default"] = wrapper
    return wrapper


@pytest.fixture
def embedded_db(tmp_path, django_db_blocker):
    """A migrated SQLite file with the embedded default's options; this thread's default connection uses it."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("the embedded default's test: runs when the suite runs on SQLite")
    saved = connections["default"]
    settings_dict = {**saved.settings_dict, "NAME": str(tmp_path / "efnet.sqlite3"), "TEST": {}}
    with django_db_blocker.unblock():
        wrapper = _file_connection(settings_dict)
        try:
            call_command("migrate", verbosity=0)
            yield settings_dict
        finally:
            wrapper.close()
            connections["default"] = saved


@pytest.fixture
def filesystem_broker(tmp_path):
    """This process publishes to the filesystem transport in the test's var dir, as the web server does."""
    from kombu import pools

    from efnet.celery import app

    queue_dir = tmp_path / "var" / "celery"
    for folder in ("queue", "processed", "control"):
        (queue_dir / folder).mkdir(parents=True)
    saved = (app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_transport_options)

    def reset_pools():
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.task_always_eager = False
    app.conf.broker_url = "filesystem://"
    app.conf.broker_transport_options = {
        "data_folder_in": str(queue_dir / "queue"),
        "data_folder_out": str(queue_dir / "queue"),
        "processed_folder": str(queue_dir / "processed"),
        "control_folder": str(queue_dir / "control"),
        "store_processed": False,
    }
    reset_pools()
    try:
        yield tmp_path / "var"
    finally:
        app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_transport_options = saved
        reset_pools()


class Clerk(threading.Thread):
    """A sales-office clerk using the portal through the test client while the notice goes out: opens member
    pages (each request saves the session) and records 完了 by phone, one account after another."""

    def __init__(self, settings_dict: dict, user, rows: list[int]):
        super().__init__(daemon=True)
        self.settings_dict, self.user, self.rows = settings_dict, user, rows
        self.stop = threading.Event()
        self.recorded: list[int] = []
        self.errors: list[str] = []

    def run(self):
        from django.test import Client

        wrapper = _file_connection(self.settings_dict)
        try:
            client = login(Client(), self.user)
            for pk in self.rows:
                if self.stop.is_set():
                    break
                row = AccountStatus.objects.get(pk=pk)
                page = client.get(reverse("members:detail", kwargs={"pk": row.member_id}))
                answer = client.post(
                    reverse("tracking:account_record", kwargs={"pk": pk}),
                    {"status": Status.DONE, "status_on": datetime.date.today().isoformat(), "source": "電話"},
                )
                if page.status_code != 200 or answer.status_code != 302:
                    self.errors.append(f"account {pk}: {page.status_code} / {answer.status_code}")
                self.recorded.append(pk)
        except Exception:
            self.errors.append(traceback.format_exc())
        finally:
            wrapper.close()


def wait_until_settled(notice, worker, timeout: float = 50) -> None:
    """Until the notice is sent or the worker has nothing left to do (a deadline, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Notice.objects.filter(pk=notice.pk, state=Notice.State.SENT).exists():
            return
        if worker.process.poll() is not None:
            break
        time.sleep(0.3)


def test_make_run_worker_sends_a_notice_once_each_while_a_clerk_writes(
    embedded_db, filesystem_broker, smtp_server, workers, tmp_path
):
    osaka = SalesOffice.objects.get(code="osaka")
    admin = make_staff("admin", roles=[Role.ADMIN], is_staff=True)
    admin2 = make_staff("admin2", roles=[Role.ADMIN], is_staff=True)
    clerk = make_staff("clerk", office=osaka, roles=[Role.SALES_OFFICE])
    members = MemberFactory.create_batch(MEMBERS, office=osaka)
    campaign = Campaign.objects.create(name="2026年6月 BIGLOBEパスワード変更", started_on=datetime.date(2026, 6, 1))
    campaign_enroll_all(campaign=campaign, actor=admin)
    notice = approved_notice(SimpleNamespace(admin=admin, admin2=admin2), campaign)
    assert notice.deliveries.count() == MEMBERS

    worker = workers(
        queue="celery",
        smtp_port=smtp_server.port,
        pool_args=("--pool=threads", "--concurrency=2"),
        extra_env={"EFNET_VAR_DIR": str(filesystem_broker), "NOTICES_RATE_PER_SECOND": "0"},
    )
    # Beat beside it, in a process of its own, taking its lock in the same SQLite file.
    beat = Worker.beat(
        queue="celery",
        schedule_file=tmp_path / "celerybeat-schedule",
        extra_env={"EFNET_VAR_DIR": str(filesystem_broker)},
    )
    rows = list(AccountStatus.objects.order_by("-pk").values_list("pk", flat=True)[:MEMBERS])
    clerk_thread = Clerk(embedded_db, clerk, rows)
    clerk_thread.start()
    started = time.monotonic()
    try:
        assert services.notice_send(notice=notice, actor=admin) is True
        wait_until_settled(notice, worker)
    finally:
        clerk_thread.stop.set()
        clerk_thread.join(timeout=30)
        beat_log = beat.output()
        beat.stop()
    # For the record (pytest -s), not asserted: how long it took, and how much the clerk did meanwhile.
    print(f"{MEMBERS} deliveries in {time.monotonic() - started:.1f} s; clerk recorded {len(clerk_thread.recorded)}")

    log = worker.output()
    statuses = dict(Delivery.objects.filter(notice=notice).values_list("member__email", "status"))
    counts = {s: list(statuses.values()).count(s) for s in set(statuses.values())}
    assert counts == {Delivery.Status.SENT: MEMBERS}, f"{counts}\n{log[-3000:]}"
    received = smtp_server.handler.per_recipient()
    assert received == {m.email: 1 for m in members}  # every member once: no loss, no duplicate
    assert "database is locked" not in log
    assert "holds the scheduler lock" in beat_log and "database is locked" not in beat_log, beat_log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    notice.refresh_from_db()
    assert notice.state == Notice.State.SENT
    assert notice.last_error == ""
    # The clerk was not held up into errors either, and did real work while the notice went out.
    assert clerk_thread.errors == []
    assert clerk_thread.recorded
    assert set(AccountStatus.objects.filter(pk__in=clerk_thread.recorded).values_list("status", flat=True)) == {
        Status.DONE
    }
