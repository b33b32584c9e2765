"""A batch whose worker died (kill -9, a machine gone) fails within minutes by its heartbeat, not after a day:
the clerk sees why, the partial file is deleted, and the office (one active batch at a time) can ask again."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from documents import services, storage
from documents.models import BatchJob
from documents.services import AREA
from efnet.models import AuditEvent
from members.models import MemberCard
from tests.conftest import login

pytestmark = pytest.mark.django_db


def running_job(world, *, beat_seconds_ago: int) -> BatchJob:
    """A job a worker claimed and was writing when it last beat ``beat_seconds_ago`` seconds ago."""
    now = timezone.now()
    job = BatchJob.objects.create(
        requested_by=world.clerk_a,
        office=world.office_a,
        reason="紛失再発行",
        member_ids=[world.member_a.pk],
        total=1,
        status=BatchJob.Status.RUNNING,
        started_at=now - timedelta(seconds=beat_seconds_ago + 5),
        heartbeat_at=now - timedelta(seconds=beat_seconds_ago),
        file_name="partial-test.bin",
        file_key=storage.new_key(),
    )
    writer = storage.EncryptedWriter(area=AREA, name=job.file_name, key=job.file_key, file_id=str(job.uuid))
    writer.write(b"partial")
    writer.close()
    return job


def stored(name: str) -> bool:
    return storage.exists(area=AREA, name=name)


@override_settings(DOCUMENTS_BATCH_HEARTBEAT_SECONDS=120)
def test_a_job_whose_heartbeat_stopped_is_failed_with_its_file_deleted_and_the_office_freed(client, world):
    job = running_job(world, beat_seconds_ago=121)
    name = job.file_name
    assert stored(name)

    assert services.reap_dead_batches() == 1

    job.refresh_from_db()
    assert job.status == BatchJob.Status.FAILED and job.finished_at is not None
    assert "応答しなくなったため中止しました" in job.error and "会員証は発行されていません" in job.error
    assert not stored(name) and job.file_name == "" and job.file_key == ""
    assert AuditEvent.objects.filter(action="documents.batch.abandoned", target_id=str(job.pk)).exists()
    assert MemberCard.objects.count() == 0
    login(client, world.clerk_a)
    page = client.get(reverse("documents:batch_detail", kwargs={"pk": job.pk})).content.decode()
    assert "失敗" in page and "応答しなくなったため中止しました" in page
    # The office's one active batch is gone: a new one may be asked for.
    assert services.batch_create(actor=world.clerk_a, office=world.office_a, reason="紛失再発行").pk != job.pk


@override_settings(DOCUMENTS_BATCH_HEARTBEAT_SECONDS=120)
def test_a_job_that_beats_is_left_running(world):
    job = running_job(world, beat_seconds_ago=30)
    assert services.reap_dead_batches() == 0
    job.refresh_from_db()
    assert job.status == BatchJob.Status.RUNNING and stored(job.file_name)
    assert services.batch_heartbeat(job.pk) is True


@override_settings(DOCUMENTS_BATCH_HEARTBEAT_SECONDS=120)
def test_a_slow_worker_whose_job_was_reaped_stops_at_its_next_beat(world):
    job = running_job(world, beat_seconds_ago=500)
    services.reap_dead_batches()
    assert services.batch_heartbeat(job.pk) is False  # the chunk loop then stops as for a cancel
    job.refresh_from_db()
    assert job.status == BatchJob.Status.FAILED
