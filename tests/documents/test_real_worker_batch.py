"""A batch reissue run by a real Celery worker consuming from Redis, rendering on its render processes, with
PostgreSQL. Skips on the embedded default (SQLite, no broker)."""

from __future__ import annotations

import io
import time

import pytest
from django.test import override_settings
from pypdf import PdfReader

from documents import services, storage
from documents.models import BatchJob
from documents.services import AREA
from members.models import MemberCard
from tests.factories import MemberFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _needs_services(require_services):
    """Autouse, so the skip on the embedded default comes before any other fixture touches the database."""


def wait_finished(job, timeout: float = 90) -> BatchJob:
    """Poll the job until the worker has finished it (a deadline, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status not in BatchJob.ACTIVE:
            return job
        time.sleep(0.2)
    raise AssertionError(f"batch still {job.status} after {timeout} s")


def test_a_real_worker_renders_the_batch_on_its_render_processes(world, broker, workers):
    extra = [MemberFactory(office=world.office_a) for _ in range(5)]
    members = sorted([world.member_a, *extra], key=lambda m: m.number)
    worker = workers(
        queue=broker,
        smtp_port=9,  # unused: this worker sends no mail
        extra_env={"DOCUMENTS_RENDER_PROCESSES": "2", "DOCUMENTS_BATCH_CHUNK_SIZE": "2"},
    )

    job = services.batch_create(actor=world.clerk_a, office=world.office_a, reason="紛失再発行")
    job = wait_finished(job)

    assert job.status == BatchJob.Status.DONE, job.error
    assert job.done_count == len(members) and MemberCard.objects.count() == len(members)
    data = b"".join(
        storage.read_decrypted(area="documents", name=job.file_name, key=job.file_key, file_id=str(job.uuid))
    )
    pages = [page.extract_text().replace(" ", "") for page in PdfReader(io.BytesIO(data)).pages]
    assert len(pages) == len(members)
    for page, member in zip(pages, members, strict=True):
        assert f"2.会員番号:{member.number}" in page
    assert "started 2 PDF render processes" in worker.output()
    assert all(m.biglobe_password not in worker.output() for m in members)


def test_kill_9_mid_batch_fails_the_job_by_its_heartbeat_and_deletes_its_file(world, broker, workers):
    for _ in range(40):
        MemberFactory(office=world.office_a)
    worker = workers(
        queue=broker,
        smtp_port=9,  # unused: this worker sends no mail
        extra_env={"DOCUMENTS_RENDER_PROCESSES": "0", "DOCUMENTS_BATCH_CHUNK_SIZE": "1"},
    )
    job = services.batch_create(actor=world.clerk_a, office=world.office_a, reason="紛失再発行")
    deadline = time.monotonic() + 90
    while not BatchJob.objects.filter(pk=job.pk, status=BatchJob.Status.RUNNING, done_count__gte=2).exists():
        assert time.monotonic() < deadline, "the worker never got going"
        time.sleep(0.1)
    job.refresh_from_db()
    name = job.file_name  # records of the partial file reach the database as each 1 MiB is sealed
    worker.kill()

    with override_settings(DOCUMENTS_BATCH_HEARTBEAT_SECONDS=3):
        deadline = time.monotonic() + 60
        while not services.reap_dead_batches():  # the periodic task (every minute; here more often)
            assert time.monotonic() < deadline, "the dead batch was never failed"
            time.sleep(0.5)

    job.refresh_from_db()
    assert job.status == BatchJob.Status.FAILED and job.done_count < job.total
    assert "応答しなくなったため中止しました" in job.error
    assert not storage.exists(area=AREA, name=name) and job.file_name == ""
    assert MemberCard.objects.count() == 0  # nothing was issued


def test_kill_9_mid_address_list_batch_fails_the_job_and_issues_no_list(world, broker, workers):
    from mailaddresses.models import AddressListIssue
    from tests.factories import AddressFactory

    members = [MemberFactory(office=world.office_a) for _ in range(30)]
    for member in members:
        AddressFactory(member=member, slot=1)
    worker = workers(
        queue=broker,
        smtp_port=9,  # unused: this worker sends no mail
        extra_env={"DOCUMENTS_RENDER_PROCESSES": "0", "DOCUMENTS_BATCH_CHUNK_SIZE": "1"},
    )
    job = services.address_batch_create(actor=world.clerk_a, office=world.office_a, reason="紛失再発行")
    deadline = time.monotonic() + 90
    while not BatchJob.objects.filter(pk=job.pk, status=BatchJob.Status.RUNNING, done_count__gte=2).exists():
        assert time.monotonic() < deadline, "the worker never got going"
        time.sleep(0.1)
    job.refresh_from_db()
    name = job.file_name
    output = worker.output()
    worker.kill()
    passwords = [a.password for m in members for a in m.additional_addresses.all()]
    assert not any(p in output for p in passwords)

    with override_settings(DOCUMENTS_BATCH_HEARTBEAT_SECONDS=3):
        deadline = time.monotonic() + 60
        while not services.reap_dead_batches():
            assert time.monotonic() < deadline, "the dead batch was never failed"
            time.sleep(0.5)

    job.refresh_from_db()
    assert job.status == BatchJob.Status.FAILED and "追加メールアドレスリストは発行されていません" in job.error
    assert not storage.exists(area=AREA, name=name) and job.file_name == ""
    assert AddressListIssue.objects.count() == 0
