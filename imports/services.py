"""Every write of the import feature: upload, column mapping, preview, confirm, apply, cancel, undo, purge.

Keyword-only services; each writes its audit event in the same transaction. The Celery tasks (imports.tasks)
take a batch id and call ``batch_preview_run`` / ``batch_apply_run``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from efnet import audit
from imports import applying, columns, parsing, preview, storage
from imports.models import ColumnMemory, ImportBatch, ImportRow
from tracking.models import Campaign

IMPORT_PERMISSION = "imports.run_import"


def can_import(user) -> bool:
    """Admins; head-office staff only when given the permission."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_admin or (user.is_head_office and user.has_perm(IMPORT_PERMISSION))


def _require(actor) -> None:
    if not can_import(actor):
        raise PermissionDenied


def _queue(task_name: str, batch_id: int) -> None:
    from imports import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(batch_id))


def expiry_hours() -> int:
    return getattr(settings, "IMPORTS_FILE_EXPIRY_HOURS", 24)


# --- upload and mapping ---------------------------------------------------------------------------------


@transaction.atomic
def batch_upload(*, actor, uploaded_file, encoding: str = "") -> ImportBatch:
    """Keep the file (encrypted only), read its header row, and map the columns it recognises or the user
    mapped before. Bad files raise ValidationError with a Japanese message and leave nothing behind."""
    _require(actor)
    uploaded_file.seek(0)
    head = uploaded_file.read(parsing.SAMPLE_BYTES)
    uploaded_file.seek(0)
    name = (uploaded_file.name or "upload").rsplit("/", 1)[-1][:200]
    if not head:
        raise ValidationError("ファイルが空です。")
    if encoding and encoding not in parsing.ENCODINGS:
        raise ValidationError("文字コードの指定が正しくありません。")
    try:
        file_format = parsing.file_format_of(name, head)
        detected = file_format == "csv" and not encoding
        csv_encoding = encoding or parsing.detect_encoding(head) if file_format == "csv" else ""
    except parsing.FileError as exc:
        raise ValidationError(str(exc)) from None
    batch = ImportBatch(
        created_by=actor,
        file_name=name,
        file_format=file_format,
        encoding=csv_encoding,
        encoding_detected=detected,
        campaign=Campaign.objects.filter(is_active=True).order_by("-started_on", "-id").first(),
    )
    try:
        storage.store(batch, uploaded_file.chunks())
    except ValueError:
        raise ValidationError("ファイルが大きすぎます（200MBまで）。") from None
    try:
        batch.headers = preview.read_headers(batch)
    except parsing.FileError as exc:
        storage.delete(batch)
        raise ValidationError(str(exc)) from None
    remembered = dict(ColumnMemory.objects.filter(user=actor).values_list("header", "field"))
    batch.mapping = {
        header: (columns.recognise(header) or remembered.get(columns.header_key(header), ""))
        for header in batch.headers
    }
    batch.save()
    audit.record(
        "import.uploaded",
        actor=actor,
        target=batch,
        details={"file": name, "format": file_format, "encoding": csv_encoding, "detected": detected},
    )
    return batch


def _initial_field(header: str, remembered: dict) -> str:
    known = columns.recognise(header)
    return known if known is not None else remembered.get(columns.header_key(header), "")


def unknown_headers(batch: ImportBatch) -> list[str]:
    """Headers the import did not recognise by itself (mapped from memory or not mapped at all)."""
    return [h for h in batch.headers if h and columns.recognise(h) is None]


@transaction.atomic
def batch_map_columns(*, batch: ImportBatch, actor, mapping: dict[str, str], encoding: str = "") -> ImportBatch:
    """Save the user's column mapping (and remember it for their next file), then start the preview."""
    _require(actor)
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status not in (ImportBatch.Status.UPLOADED, ImportBatch.Status.PREVIEWED, ImportBatch.Status.FAILED):
        raise ValidationError("この取込は列の対応づけを変更できません。")
    known = {c.key for c in columns.COLUMNS}
    chosen = {}
    for header in batch.headers:
        field = mapping.get(header, batch.mapping.get(header, ""))
        if field and field not in known:
            raise ValidationError(f"列「{header}」の取込先が正しくありません。")
        chosen[header] = field
    used = [f for f in chosen.values() if f]
    duplicates = sorted({columns.BY_KEY[f].header for f in used if used.count(f) > 1})
    if duplicates:
        raise ValidationError(f"同じ取込先が複数の列に指定されています: {'、'.join(duplicates)}")
    if "number" not in used:
        raise ValidationError("会員番号の列を指定してください。")
    if encoding:
        if batch.file_format != "csv" or encoding not in parsing.ENCODINGS:
            raise ValidationError("文字コードの指定が正しくありません。")
        batch.encoding, batch.encoding_detected = encoding, False
    for header in unknown_headers(batch):
        ColumnMemory.objects.update_or_create(
            user=actor, header=columns.header_key(header), defaults={"field": chosen[header]}
        )
    batch.mapping = chosen
    batch.status = ImportBatch.Status.PARSING
    batch.cancel_requested = False
    batch.error = ""
    batch.progress_done = batch.progress_total = 0
    batch.heartbeat_at = timezone.now()
    batch.save()
    audit.record(
        "import.preview_requested",
        actor=actor,
        target=batch,
        details={"mapped": {h: f for h, f in chosen.items() if h in unknown_headers(batch)}},
    )
    _queue("preview_batch", batch.pk)
    return batch


# --- preview (task body) --------------------------------------------------------------------------------


def batch_preview_run(*, batch_id: int) -> None:
    """Build the preview. Safe to run twice: it starts from no rows each time, and only a batch still in
    ``parsing`` is worked on."""
    batch = ImportBatch.objects.select_related("created_by").get(pk=batch_id)
    if batch.status != ImportBatch.Status.PARSING:
        return
    if not can_import(batch.created_by):
        _fail(batch, "取込の権限がなくなったため中止しました。")
        return
    try:
        counts = preview.build_preview(batch)
    except preview.Cancelled:
        with transaction.atomic():
            batch.rows.all().delete()
            ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.CANCELLED)
            _discard_file(batch)
            audit.record("import.cancelled", actor=batch.created_by, target=batch, details={"step": "preview"})
        return
    except parsing.FileError as exc:
        batch.rows.all().delete()
        _fail(batch, str(exc))
        return
    with transaction.atomic():
        updated = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PARSING).update(
            status=ImportBatch.Status.PREVIEWED,
            counts=counts,
            total_rows=counts.get("rows", 0),
            previewed_at=batch.previewed_at,
            progress_done=batch.progress_total or counts.get("rows", 0),
        )
        if updated:
            audit.record("import.previewed", actor=batch.created_by, target=batch, details={"counts": counts})


def _fail(batch: ImportBatch, message: str) -> None:
    with transaction.atomic():
        ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.FAILED, error=message[:500])
        audit.record("import.failed", actor=batch.created_by, target=batch, details={"error": message[:200]})


def _discard_file(batch: ImportBatch) -> None:
    path_batch = batch
    transaction.on_commit(lambda: storage.delete(path_batch))
    ImportBatch.objects.filter(pk=batch.pk).update(file_deleted_at=timezone.now(), file_key="")


# --- confirm and apply ----------------------------------------------------------------------------------


@transaction.atomic
def batch_confirm(*, batch: ImportBatch, actor, skip_errors: bool = False) -> ImportBatch:
    """Start applying exactly what the preview recorded. With errors, only when ``skip_errors`` is chosen."""
    _require(actor)
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != ImportBatch.Status.PREVIEWED:
        raise ValidationError("確認待ちの取込ではありません。")
    if batch.error_count and not skip_errors:
        raise ValidationError(
            f"エラーが {batch.error_count} 行あります。エラーの行を除いて取り込む場合は、そのことを選んでください。"
        )
    to_apply = batch.rows.filter(
        state=ImportRow.State.PENDING, action__in=[ImportRow.Action.NEW, ImportRow.Action.UPDATE]
    ).count()
    batch.rows.filter(action=ImportRow.Action.ERROR).update(state=ImportRow.State.SKIPPED)
    batch.status = ImportBatch.Status.APPLYING
    batch.include_errors_skipped = bool(batch.error_count)
    batch.applied_by = actor
    batch.progress_done, batch.progress_total = 0, to_apply
    batch.heartbeat_at = timezone.now()
    batch.cancel_requested = False
    batch.save()
    audit.record(
        "import.apply_started",
        actor=actor,
        target=batch,
        details={"rows": to_apply, "errors_skipped": batch.error_count if skip_errors else 0},
    )
    _queue("apply_batch", batch.pk)
    return batch


def batch_apply_run(*, batch_id: int) -> None:
    """Apply chunk after chunk until nothing is pending. Re-running after a crash carries on where the last
    committed chunk ended."""
    batch = ImportBatch.objects.select_related("applied_by").get(pk=batch_id)
    if batch.status != ImportBatch.Status.APPLYING:
        return
    actor = batch.applied_by
    if not can_import(actor):
        _fail(batch, "取込の権限がなくなったため中止しました（適用済みの行は取り消せます）。")
        return
    try:
        applying.apply_all(batch_id=batch.pk, actor_id=actor.pk)
    except applying.ApplyCancelled:
        _finish(batch, actor, cancelled=True)
        return
    _finish(batch, actor, cancelled=False)


@transaction.atomic
def _finish(batch: ImportBatch, actor, *, cancelled: bool) -> None:
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != ImportBatch.Status.APPLYING:
        return
    rows = batch.rows.values_list("kind", "state")
    applied = {kind: 0 for kind in ImportRow.Kind.values}
    refused = 0
    for kind, state in rows.iterator(5000):
        if state == ImportRow.State.APPLIED:
            applied[kind] += 1
        elif state == ImportRow.State.REFUSED:
            refused += 1
    batch.counts = {**batch.counts, "applied": applied, "refused": refused}
    batch.status = ImportBatch.Status.CANCELLED if cancelled else ImportBatch.Status.APPLIED
    batch.applied_at = timezone.now()
    batch.save()
    _discard_file(batch)
    audit.record(
        "import.cancelled" if cancelled else "import.applied",
        actor=actor,
        target=batch,
        details={"applied": applied, "refused": refused, "file": batch.file_name},
    )


@transaction.atomic
def batch_cancel(*, batch: ImportBatch, actor) -> bool:
    """Ask a running preview or apply to stop after its current chunk; a batch waiting for confirmation is
    dropped at once. Applied chunks stay applied (and can be undone)."""
    _require(actor)
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status in (ImportBatch.Status.UPLOADED, ImportBatch.Status.PREVIEWED):
        batch.rows.all().delete()
        batch.status = ImportBatch.Status.CANCELLED
        batch.save(update_fields=["status"])
        _discard_file(batch)
        audit.record("import.cancelled", actor=actor, target=batch, details={"step": "confirm"})
        return True
    if batch.is_active and not batch.cancel_requested:
        batch.cancel_requested = True
        batch.save(update_fields=["cancel_requested"])
        audit.record("import.cancel_requested", actor=actor, target=batch)
        return True
    return False


# --- undo -----------------------------------------------------------------------------------------------


class UndoBlocked(ValidationError):
    def __init__(self, blockers: list[str]):
        self.blockers = blockers
        super().__init__("取込の後に変更された行があるため、取り消せません。")


def can_undo(batch: ImportBatch) -> bool:
    return batch.status in (ImportBatch.Status.APPLIED, ImportBatch.Status.CANCELLED, ImportBatch.Status.FAILED) and (
        batch.rows.filter(state=ImportRow.State.APPLIED).exists()
    )


@transaction.atomic
def batch_undo(*, batch: ImportBatch, actor) -> dict:
    """Undo the whole batch, or nothing: UndoBlocked names the rows changed since."""
    _require(actor)
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if not can_undo(batch):
        raise ValidationError("この取込は取り消せません。")
    blockers = applying.undo_blockers(batch)
    if blockers:
        audit.record("import.undo_refused", actor=actor, target=batch, details={"blockers": blockers[:5]})
        raise UndoBlocked(blockers)
    counts = applying.undo(batch)
    batch.status = ImportBatch.Status.UNDONE
    batch.undone_at, batch.undone_by = timezone.now(), actor
    batch.save(update_fields=["status", "undone_at", "undone_by"])
    audit.record("import.undone", actor=actor, target=batch, details={"counts": counts, "file": batch.file_name})
    return counts


# --- housekeeping ---------------------------------------------------------------------------------------


def resume_stalled() -> list[int]:
    """Queue again the batches whose worker died mid-step (no chunk committed for a while). Safe if the first
    worker is alive after all: an apply chunk locks the batch row and takes only pending rows, and a preview
    starts from no rows."""
    cutoff = timezone.now() - timedelta(seconds=getattr(settings, "IMPORTS_STALLED_SECONDS", 300))
    resumed = []
    for batch in ImportBatch.objects.filter(status__in=ImportBatch.ACTIVE, heartbeat_at__lt=cutoff):
        with transaction.atomic():
            touched = ImportBatch.objects.filter(pk=batch.pk, heartbeat_at=batch.heartbeat_at).update(
                heartbeat_at=timezone.now()
            )
            if touched:
                audit.record("import.resumed", target=batch, details={"step": batch.status})
                _queue("apply_batch" if batch.status == ImportBatch.Status.APPLYING else "preview_batch", batch.pk)
                resumed.append(batch.pk)
    return resumed


def purge_expired_files() -> int:
    """Delete stored files older than the expiry (a batch left unconfirmed); its rows stay for the record."""
    cutoff = timezone.now() - timedelta(hours=expiry_hours())
    count = 0
    for batch in ImportBatch.objects.filter(created_at__lt=cutoff, file_deleted_at__isnull=True):
        with transaction.atomic():
            locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if locked.is_active or locked.file_deleted_at:
                continue
            if locked.status in (ImportBatch.Status.UPLOADED, ImportBatch.Status.PREVIEWED):
                locked.rows.all().delete()
                ImportBatch.objects.filter(pk=locked.pk).update(
                    status=ImportBatch.Status.CANCELLED, error="保存期限を過ぎたため取り消しました。"
                )
            _discard_file(locked)
            audit.record("import.file_expired", target=locked)
            count += 1
    return count
