"""Exports beyond a size, written by a worker (issue 13 item 5).

An export (the call list in tracking, the member export in imports) describes its file as an ``ExportFile``:
its name, content type, row count, and a producer of its bytes. A request whose export has at most
``EXPORT_BACKGROUND_ROWS`` rows streams those bytes as before; a bigger one becomes an ``ExportJob``: the
Celery task (the job id only) rebuilds the same ``ExportFile`` for the requester from the job's parameters (scope
and permission checked again), runs the same producer, and writes its bytes through ``documents.storage`` (AES-GCM
records in the database, area ``exports``) in constant memory, beating and updating the progress every
``PROGRESS_EVERY`` rows. The requester downloads it once (then it is deleted), before
``DOCUMENTS_BATCH_EXPIRY_HOURS``. The exports carry names and phone numbers but no password, and their streamed
forms ask for no fresh login, so neither does this download (the rule of the batch PDFs is for printed
passwords); it is the requester's alone, audited, ``no-store``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format

from documents import storage
from documents.models import ExportJob
from efnet import audit

logger = logging.getLogger(__name__)
AREA = "exports"
PROGRESS_EVERY = 1000
COPY_SIZE = 1024 * 1024

# source → "module:function" returning an ExportFile for (user, params, fmt); PermissionDenied if not allowed.
SOURCES = {
    ExportJob.Source.CALL_LIST: "tracking.exports:call_list_file",
    ExportJob.Source.MEMBERS: "imports.exports:members_file",
}


@dataclass
class ExportFile:
    """One export's file. ``produce(tick)`` yields its bytes and calls ``tick()`` once per data row as the rows
    are read (None: no counting). ``spool(tick)``, for formats that must be assembled on disk (.xlsx), returns a
    temporary file positioned at its start; the caller closes it."""

    name: str
    content_type: str
    rows: int
    produce: Callable[[Callable | None], Iterator[bytes]]
    spool: Callable[[Callable | None], object] | None = None

    @property
    def background(self) -> bool:
        return self.rows > settings.EXPORT_BACKGROUND_ROWS


def counted(rows: Iterable, tick: Callable | None) -> Iterator:
    for row in rows:
        if tick is not None:
            tick()
        yield row


def spooled_file(write: Callable[[object, Callable | None], None]):
    """``spool`` and ``produce`` for a file written whole into a temporary file by ``write(out, tick)``."""

    def spool(tick=None):
        # Closed (and so deleted) by the caller once sent.
        out = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            write(out, tick)
            out.seek(0)
        except BaseException:
            out.close()
            raise
        return out

    def produce(tick=None) -> Iterator[bytes]:
        with spool(tick) as out:
            while piece := out.read(COPY_SIZE):
                yield piece

    return spool, produce


def export_file(source: str, *, user, params: dict, fmt: str) -> ExportFile:
    module, name = SOURCES[source].split(":")
    return getattr(import_module(module), name)(user=user, params=params, fmt=fmt)


@transaction.atomic
def export_job_create(
    *, actor, source: str, fmt: str, params: dict, export: ExportFile, audit_action: str, audit_event: dict
) -> ExportJob:
    """Queue the export, recording ``audit_action`` (the streamed export's own event: ``audit_event`` holds its
    office, target and details) with the job's id. A second request for the same export while the first is
    still being written (a double-click, a reload) gets the first job, not a second file."""
    from members.models import SalesOffice

    # The requester's row: serialises two requests of the same user arriving together (PostgreSQL).
    get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
    same = ExportJob.objects.filter(
        requested_by=actor, source=source, fmt=fmt, params=params, status__in=ExportJob.ACTIVE
    ).first()
    if same is not None:
        return same
    office = SalesOffice.objects.filter(pk=getattr(actor, "office_id", None)).first()
    job = ExportJob.objects.create(
        source=source,
        fmt=fmt,
        params=params,
        requested_by=actor,
        office=office,
        total=export.rows,
        download_name=export.name,
        content_type=export.content_type,
    )
    details = {**audit_event.get("details", {}), "background_job": job.pk}
    audit.record(audit_action, actor=actor, **{**audit_event, "details": details})
    from documents.tasks import run_export

    transaction.on_commit(lambda: run_export.delay(job.pk))
    return job


class ExportCancelled(Exception):
    pass


def export_heartbeat(job_id: int, done: int | None = None) -> bool:
    changes = {"heartbeat_at": timezone.now()}
    if done is not None:
        changes["done_count"] = done
    return bool(ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.RUNNING).update(**changes))


def export_fail(job: ExportJob, message: str) -> None:
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.FAILED, error=message[:500], finished_at=timezone.now()
    )


def export_run(*, job_id: int) -> None:
    """Write the export's file (the Celery task; safe to run twice: the job is claimed first)."""
    now = timezone.now()
    if not ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING, started_at=now, heartbeat_at=now
    ):
        return
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    user = job.requested_by
    try:
        if user is None or not user.is_active:
            raise PermissionDenied
        export = export_file(job.source, user=user, params=job.params, fmt=job.fmt)
    except (PermissionDenied, ValidationError):
        export_fail(job, "依頼者にこの出力の権限がなくなりました。")
        return
    job.file_key = storage.new_key()
    job.file_name = f"{job.uuid}.bin"
    job.save(update_fields=["file_key", "file_name"])
    writer = storage.EncryptedWriter(area=AREA, name=job.file_name, key=job.file_key, file_id=str(job.uuid))
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if done % PROGRESS_EVERY == 0 and not export_heartbeat(job.pk, done):
            raise ExportCancelled

    try:
        for piece in export.produce(tick):
            writer.write(piece)
        size = writer.close()
    except ExportCancelled:
        writer.abort()
        return
    except Exception as exc:
        writer.abort()
        logger.exception("export %s failed", job.pk)
        export_fail(job, f"作成に失敗しました: {type(exc).__name__}")
        return
    now = timezone.now()
    finished = ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.RUNNING).update(
        status=ExportJob.Status.DONE,
        total=done,  # the rows as written (the count at the request may have moved meanwhile)
        done_count=done,
        file_size=size,
        finished_at=now,
        expires_at=now + timedelta(hours=settings.DOCUMENTS_BATCH_EXPIRY_HOURS),
    )
    if not finished:  # cancelled or reaped meanwhile
        storage.delete(area=AREA, name=job.file_name)
        return
    audit.record(
        "documents.export.completed",
        actor=user,
        target=job,
        office=job.office,
        details={"source": job.source, "format": job.fmt, "rows": done, "bytes": size},
    )


@transaction.atomic
def export_cancel(*, job: ExportJob, actor) -> bool:
    cancelled = ExportJob.objects.filter(pk=job.pk, status__in=ExportJob.ACTIVE).update(
        status=ExportJob.Status.CANCELLED, finished_at=timezone.now()
    )
    if cancelled:
        audit.record("documents.export.cancelled", actor=actor, target=job, office=job.office)
    return bool(cancelled)


def export_download(*, job: ExportJob, actor) -> Iterator[bytes]:
    """Claim the one download and stream the decrypted file; it is deleted once sent."""
    if job.requested_by_id != actor.pk:
        raise PermissionDenied("依頼したユーザーだけがダウンロードできます。")
    if job.status != ExportJob.Status.DONE or (job.expires_at and job.expires_at <= timezone.now()):
        raise ValidationError("このファイルはダウンロードできません（削除済みまたは期限切れ）。")
    with transaction.atomic():
        claimed = ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.DONE).update(
            status=ExportJob.Status.DOWNLOADED, downloaded_at=timezone.now()
        )
        if not claimed:
            raise ValidationError("このファイルはすでにダウンロードされ、削除されました。")
        audit.record(
            "documents.export.downloaded",
            actor=actor,
            target=job,
            office=job.office,
            details={"source": job.source, "rows": job.done_count},
        )
    name, key = job.file_name, job.file_key

    def stream() -> Iterator[bytes]:
        try:
            yield from storage.read_decrypted(area=AREA, name=name, key=key, file_id=str(job.uuid))
        finally:
            _delete_file(job)

    return stream()


def _delete_file(job: ExportJob) -> None:
    storage.delete(area=AREA, name=job.file_name)
    ExportJob.objects.filter(pk=job.pk).update(file_key="", file_name="")


DEAD_EXPORT_ERROR = (
    "作成処理が応答しなくなったため中止しました（最終応答 {at}、ワーカーの停止など）。"
    "作成途中のファイルは削除しました。もう一度出力してください。"
)


def reap_dead_exports() -> int:
    """Fail the running exports whose heartbeat (every PROGRESS_EVERY rows) is older than
    DOCUMENTS_BATCH_HEARTBEAT_SECONDS and delete their partial files. Periodic, with reap_dead_batches."""
    cutoff = timezone.now() - timedelta(seconds=settings.DOCUMENTS_BATCH_HEARTBEAT_SECONDS)
    dead = ExportJob.objects.filter(status=ExportJob.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    reaped = 0
    for job in dead:
        beat = timezone.localtime(job.heartbeat_at or job.started_at)
        if not ExportJob.objects.filter(
            pk=job.pk, status=ExportJob.Status.RUNNING, heartbeat_at=job.heartbeat_at
        ).update(
            status=ExportJob.Status.FAILED,
            error=DEAD_EXPORT_ERROR.format(at=date_format(beat, "SHORT_DATETIME_FORMAT")),
            finished_at=timezone.now(),
        ):
            continue
        _delete_file(job)
        audit.record(
            "documents.export.abandoned",
            target=job,
            office=job.office,
            details={"done": job.done_count, "total": job.total, "heartbeat_at": str(beat)},
        )
        reaped += 1
    return reaped


def purge_expired_exports() -> int:
    """Delete the files of exports past their expiry, and any file a finished job still names."""
    now = timezone.now()
    purged = 0
    for job in ExportJob.objects.filter(status=ExportJob.Status.DONE, expires_at__lte=now):
        if ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.DONE).update(
            status=ExportJob.Status.EXPIRED, file_key="", file_name=""
        ):
            storage.delete(area=AREA, name=job.file_name)
            purged += 1
    leftovers = ExportJob.objects.exclude(status__in=[*ExportJob.ACTIVE, ExportJob.Status.DONE]).exclude(file_name="")
    for job in leftovers:
        _delete_file(job)
        purged += 1
    return purged
