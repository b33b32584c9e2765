"""A big export written by a real Celery worker consuming from Redis, with PostgreSQL: the file it stores
(encrypted) is the one the request would have streamed. Skips on the embedded default (SQLite, no broker)."""

from __future__ import annotations

import datetime
import io
import time
import zipfile

import pytest

from documents import exports, storage
from documents.models import ExportJob
from tests.factories import AddressFactory, MemberFactory
from tracking.models import Campaign
from tracking.services import accounts_enroll

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _needs_services(require_services):
    """Autouse, so the skip on the embedded default comes before any other fixture touches the database."""


def wait_finished(job, timeout: float = 90) -> ExportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status not in ExportJob.ACTIVE:
            return job
        time.sleep(0.2)
    raise AssertionError(f"export still {job.status} after {timeout} s")


def run_in_worker(source, *, user, params, fmt) -> tuple[ExportJob, bytes, exports.ExportFile]:
    export = exports.export_file(source, user=user, params=params, fmt=fmt)
    job = exports.export_job_create(
        actor=user, source=source, fmt=fmt, params=params, export=export, audit_action="test.export", audit_event={}
    )
    job = wait_finished(job)
    assert job.status == ExportJob.Status.DONE, job.error
    data = b"".join(
        storage.read_decrypted(area=exports.AREA, name=job.file_name, key=job.file_key, file_id=str(job.uuid))
    )
    return job, data, export


def test_a_real_worker_writes_the_streamed_exports_bytes(world, broker, workers):
    campaign = Campaign.objects.create(name="2026年6月 BIGLOBEパスワード変更", started_on=datetime.date(2026, 6, 1))
    members = [MemberFactory(office=world.office_a) for _ in range(30)]
    for member in members[:10]:
        AddressFactory(member=member, slot=1)
    for member in [world.member_a, world.member_b, *members]:
        accounts_enroll(member=member)
    workers(queue=broker, smtp_port=9)

    params = {"campaign": campaign.pk, "office": None, "status": "", "q": ""}
    job, data, export = run_in_worker("calllist", user=world.head, params=params, fmt="csv")
    assert data == b"".join(export.produce(None)) and job.done_count == 32

    job, data, export = run_in_worker("calllist", user=world.clerk_a, params=params, fmt="xlsx")
    ours = zipfile.ZipFile(io.BytesIO(data))
    theirs = zipfile.ZipFile(io.BytesIO(b"".join(export.produce(None))))
    assert ours.read("xl/worksheets/sheet1.xml") == theirs.read("xl/worksheets/sheet1.xml")
    assert job.done_count == 31  # office A only

    job, data, export = run_in_worker("members", user=world.clerk_a, params={"encoding": "cp932"}, fmt="csv")
    assert data == b"".join(export.produce(None)) and job.done_count == 31 + 1 + 10
