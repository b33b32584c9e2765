"""Applying is chunked and resumable; cancelling stops between chunks; nothing is half-applied or applied twice."""

import pytest
from django.test import TestCase

from imports import applying, services
from imports.models import ImportBatch, ImportRow
from members.models import Member
from tests.imports.helpers import MEMBER_HEADERS, csv_bytes, member, preview


@pytest.fixture
def small_chunks(settings):
    settings.IMPORTS_CHUNK_SIZE = 3


def _file(count: int) -> bytes:
    return csv_bytes([MEMBER_HEADERS] + [member(f"{30000 + i:07d}") for i in range(count)])


def test_a_crash_mid_apply_resumes_where_the_last_chunk_committed(world, small_chunks, monkeypatch):
    batch = preview(world.admin, _file(10))
    real = applying._apply_members
    calls = {"n": 0}

    def crash_on_third_chunk(batch, rows, actor_id):
        calls["n"] += 1
        touched = real(batch, rows, actor_id)  # writes, then the worker "dies" before the chunk commits
        if calls["n"] == 3:
            raise SystemExit("worker killed")
        return touched

    monkeypatch.setattr(applying, "_apply_members", crash_on_third_chunk)
    with pytest.raises(SystemExit), TestCase.captureOnCommitCallbacks(execute=True):
        services.batch_confirm(batch=batch, actor=world.admin)

    assert Member.objects.filter(number__startswith="003").count() == 6  # two chunks committed, the third rolled back
    assert batch.rows.filter(state=ImportRow.State.APPLIED).count() == 6
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.APPLYING

    services.batch_apply_run(batch_id=batch.pk)  # the task delivered again (acks_late)
    services.batch_apply_run(batch_id=batch.pk)  # ... and once more: nothing left to do

    assert Member.objects.filter(number__startswith="003").count() == 10
    assert batch.rows.filter(state=ImportRow.State.APPLIED).count() == 10
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.APPLIED


def test_cancel_during_apply_stops_between_chunks_and_the_applied_part_can_be_undone(world, small_chunks, monkeypatch):
    batch = preview(world.admin, _file(9))
    real = applying._apply_members

    def cancel_after_first(batch, rows, actor_id):
        touched = real(batch, rows, actor_id)
        ImportBatch.objects.filter(pk=batch.pk).update(cancel_requested=True)
        return touched

    monkeypatch.setattr(applying, "_apply_members", cancel_after_first)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.batch_confirm(batch=batch, actor=world.admin)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.CANCELLED
    assert Member.objects.filter(number__startswith="003").count() == 3
    services.batch_undo(batch=batch, actor=world.admin)
    assert not Member.objects.filter(number__startswith="003").exists()


def test_cancel_during_preview_drops_its_rows(world, small_chunks, monkeypatch):
    from imports import preview as preview_module

    real = preview_module.PreviewBuilder._members

    def cancel_midway(self, chunk):
        real(self, chunk)
        ImportBatch.objects.filter(pk=self.batch.pk).update(cancel_requested=True)

    monkeypatch.setattr(preview_module.PreviewBuilder, "_members", cancel_midway)
    batch = preview(world.admin, _file(9))
    assert batch.status == ImportBatch.Status.CANCELLED
    assert not batch.rows.exists() and batch.file_deleted_at is not None


def test_an_unconfirmed_upload_is_deleted_after_the_expiry(world, settings):
    from datetime import timedelta

    from django.utils import timezone

    from imports import storage

    batch = preview(world.admin, _file(2))
    assert storage.exists(batch)
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=timezone.now() - timedelta(hours=25))
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.purge_expired_files() == 1
    batch.refresh_from_db()
    assert not storage.exists(batch) and batch.status == ImportBatch.Status.CANCELLED and not batch.rows.exists()
