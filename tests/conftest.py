"""Personas (STYLE.md): an office-A clerk, an office-A reader, an office-B clerk, head office, two admins."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from efnet.auth_views import AUTH_AT
from efnet.models import Role, User
from members.models import SalesOffice
from tests.browser import _chromium, browser_page  # noqa: F401  (fixtures for browser tests)
from tests.factories import AddressFactory, MemberFactory

STAFF_PASSWORD = "staff-pass-for-tests"


def make_staff(username: str, *, office=None, roles=(), is_staff=False) -> User:
    user = User.objects.create_user(username, password=STAFF_PASSWORD, office=office, is_staff=is_staff)
    user.groups.set(Group.objects.filter(name__in=roles))
    TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return user


def login(client, user, *, fresh_auth: bool = True):
    """Log ``client`` in as ``user`` with the second factor passed, as the real login would."""
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    if fresh_auth:
        import time

        session[AUTH_AT] = int(time.time())
    session.save()
    return client


@dataclass
class World:
    office_a: SalesOffice
    office_b: SalesOffice
    clerk_a: User
    reader_a: User
    clerk_b: User
    head: User
    admin: User
    admin2: User
    member_a: object
    address_a: object
    member_b: object
    address_b: object
    extra: dict = field(default_factory=dict)

    def persona(self, name: str) -> User | None:
        return None if name == "anonymous" else getattr(self, name)


def ensure_reference_data():
    """Offices, role groups and the built-in 第2報 template come from data migrations; a transactional
    (browser) test flushes every table when it ends, so tests after it would find none. Re-create them,
    idempotently, from the same code."""
    import importlib

    from django.apps import apps

    from notices.models import NoticeTemplate

    if (
        SalesOffice.objects.exists()
        and Group.objects.filter(name=Role.ADMIN).exists()
        and NoticeTemplate.objects.exists()
    ):
        return
    importlib.import_module("members.migrations.0002_sales_offices").create_offices(apps, None)
    importlib.import_module("efnet.migrations.0003_roles").create_roles(apps, None)
    importlib.import_module("notices.migrations.0002_second_notice_template").create_template(apps, None)
    importlib.import_module("notices.migrations.0005_second_notice_as_seed").update_template(apps, None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the call phase's report on the test item, so fixtures can tell in teardown that the test failed."""
    report = yield
    if report.when == "call":
        item.report_call = report
    return report


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Every test with database access starts with the offices and roles the migrations create."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if uses_db:
        request.getfixturevalue("_django_db_helper")
        ensure_reference_data()


@pytest.fixture
def world(db) -> World:
    office_a = SalesOffice.objects.get(code="osaka")
    office_b = SalesOffice.objects.get(code="tokyo")
    # Fictitious return numbers for the FAX reply forms, as the demo data gives (a zero exchange).
    SalesOffice.objects.filter(pk=office_a.pk).update(fax="06-0000-4029")
    SalesOffice.objects.filter(pk=office_b.pk).update(fax="03-0000-1202")
    office_a.refresh_from_db()
    office_b.refresh_from_db()
    member_a = MemberFactory(office=office_a)
    member_b = MemberFactory(office=office_b)
    return World(
        office_a=office_a,
        office_b=office_b,
        clerk_a=make_staff("clerk_a", office=office_a, roles=[Role.SALES_OFFICE, Role.REVEALER]),
        reader_a=make_staff("reader_a", office=office_a, roles=[]),
        clerk_b=make_staff("clerk_b", office=office_b, roles=[Role.SALES_OFFICE, Role.REVEALER]),
        head=make_staff("head", roles=[Role.HEAD_OFFICE]),
        admin=make_staff("admin", roles=[Role.ADMIN], is_staff=True),
        admin2=make_staff("admin2", roles=[Role.ADMIN], is_staff=True),
        member_a=member_a,
        address_a=AddressFactory(member=member_a, slot=1),
        member_b=member_b,
        address_b=AddressFactory(member=member_b, slot=1),
    )


def services_available() -> tuple[bool, str]:
    """Tests of real behaviour need PostgreSQL and Redis; on the embedded default they skip, saying so."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return False, "needs PostgreSQL: run with DATABASE_URL=postgres://… (the embedded default is SQLite)"
    if not os.environ.get("REDIS_URL"):
        return False, "needs a Redis broker: run with REDIS_URL=redis://…"
    return True, ""


@pytest.fixture
def require_services():
    ok, why = services_available()
    if not ok:
        pytest.skip(why)


# --- real Celery workers on Redis (PostgreSQL + Redis runs only) -------------------------------------------


@pytest.fixture
def broker(require_services):
    """Point this process's Celery app at Redis (test db) with a queue of its own, tasks not eager."""
    import uuid

    import redis

    from efnet.celery import app
    from tests.notices.workers import redis_url_for_tests

    queue = f"notices-test-{uuid.uuid4().hex[:8]}"
    saved = (app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue)

    def reset_pools():
        from kombu import pools

        pools.reset()  # kombu's process-wide pools are keyed by URL: start from none either way
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.task_always_eager = False
    app.conf.broker_url = redis_url_for_tests()
    app.conf.task_default_queue = queue
    reset_pools()
    try:
        yield queue
    finally:
        app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue = saved
        reset_pools()
        redis.Redis.from_url(redis_url_for_tests()).delete(
            queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"
        )


@pytest.fixture
def workers():
    """Start real ``celery worker`` processes (tests/notices/workers.py); stopped, with their log printed, after."""
    from tests.notices.workers import Worker

    started: list[Worker] = []

    def start(**kwargs) -> Worker:
        worker = Worker(**kwargs)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        print(f"--- worker log ---\n{worker.output()[-4000:]}")  # shown by pytest when the test fails
        worker.stop()
