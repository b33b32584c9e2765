"""Imports run by a real Celery worker consuming from Redis, on PostgreSQL, killed with SIGKILL mid-apply.
Skips on the embedded default (SQLite, no broker). Run with DATABASE_URL=postgres://… REDIS_URL=redis://…
(TEST_REDIS_DB picks the Redis database the workers use)."""

from __future__ import annotations

import time

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile

from imports import services
from imports.models import ImportBatch, ImportRow
from mailaddresses.models import AdditionalMailAddress
from members.models import Member
from tests.imports.helpers import MEMBER_HEADERS, csv_bytes, member

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
MEMBERS = 400


@pytest.fixture(autouse=True)
def _needs_services(require_services):
    """Autouse, so the skip on the embedded default comes before any other fixture touches the database."""


def wait_for(batch, condition, timeout: float = 120, step: float = 0.02) -> ImportBatch:
    """Poll until ``condition(batch)`` holds (a deadline, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if condition(batch):
            return batch
        time.sleep(step)
    raise AssertionError(f"batch {batch.status} {batch.progress_done}/{batch.progress_total} after {timeout} s")


def office_file() -> bytes:
    headers = [*MEMBER_HEADERS, "追加メールアドレス", "ID", "発行日"]
    rows = [headers]
    for i in range(MEMBERS):
        number = f"{40000 + i:07d}"
        rows.append(member(number) + ["", "", ""])
        extra = [""] * len(MEMBER_HEADERS)
        extra[0], extra[MEMBER_HEADERS.index("パスワード")] = number, f"Xw{number}Secret"
        rows.append(extra + [f"x{number}@efnet-demo.example", f"x{number}", "2026/6/1"])
    return csv_bytes(rows)


def redis_text() -> str:
    from tests.notices.workers import redis_url_for_tests

    client = redis.Redis.from_url(redis_url_for_tests())
    dump = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        value = {
            "string": lambda k: client.get(k),
            "list": lambda k: client.lrange(k, 0, -1),
            "hash": lambda k: client.hgetall(k),
            "set": lambda k: client.smembers(k),
            "zset": lambda k: client.zrange(k, 0, -1),
        }.get(kind, lambda k: b"")(key)
        dump.append(repr(value))
    return "\n".join(dump)


def test_a_worker_killed_mid_apply_leaves_each_row_applied_once_or_not_at_all(world, broker, workers, settings):
    env = {"IMPORTS_CHUNK_SIZE": "10", "IMPORTS_THREADS": "2"}  # killed with two chunks in flight
    first = workers(queue=broker, smtp_port=9, extra_env=env)
    batch = services.batch_upload(
        actor=world.admin, uploaded_file=SimpleUploadedFile("office.csv", office_file()), encoding=""
    )
    services.batch_map_columns(batch=batch, actor=world.admin, mapping={})
    batch = wait_for(batch, lambda b: b.status != ImportBatch.Status.PARSING)
    assert batch.status == ImportBatch.Status.PREVIEWED, batch.error
    assert batch.counts["member"]["new"] == MEMBERS and batch.counts["address"]["new"] == MEMBERS

    services.batch_confirm(batch=batch, actor=world.admin)
    wait_for(batch, lambda b: b.progress_done >= 100 or b.status != ImportBatch.Status.APPLYING, step=0.005)
    first.kill()

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLYING, "the worker finished before it could be killed"
    applied = set(
        batch.rows.filter(state=ImportRow.State.APPLIED, kind="member").values_list("member_number", flat=True)
    )
    pending = set(
        batch.rows.filter(state=ImportRow.State.PENDING, kind="member").values_list("member_number", flat=True)
    )
    in_database = set(Member.objects.filter(number__startswith="004").values_list("number", flat=True))
    assert applied and pending, (len(applied), len(pending))
    assert in_database == applied  # each row applied in full, or not at all
    assert batch.rows.filter(state=ImportRow.State.APPLIED).count() == batch.progress_done

    # A new worker, and the periodic check that finds the stalled batch and queues it again.
    second = workers(queue=broker, smtp_port=9, extra_env=env)
    settings.IMPORTS_STALLED_SECONDS = 0
    assert services.resume_stalled() == [batch.pk]
    batch = wait_for(batch, lambda b: b.status != ImportBatch.Status.APPLYING)

    assert batch.status == ImportBatch.Status.APPLIED
    assert Member.objects.filter(number__startswith="004").count() == MEMBERS
    assert AdditionalMailAddress.objects.filter(member__number__startswith="004").count() == MEMBERS
    assert batch.rows.filter(state=ImportRow.State.APPLIED).count() == 2 * MEMBERS
    assert AdditionalMailAddress.objects.get(address="x0040007@efnet-demo.example").password == "Xw0040007Secret"
    secrets = [f"Xw{40000 + i:07d}Secret" for i in range(MEMBERS)] + [f"Pw{40000 + i:07d}xyZ" for i in range(MEMBERS)]
    seen = "\n".join([redis_text(), first.output(), second.output()])
    assert not [s for s in secrets if s in seen]
