"""A notice's FAX/print bundle built in the background, on the documents batch machinery (BatchJob of kind
``bundle``): the same Celery task, render processes, chunked documents, encrypted file, progress page, cancel,
one-time download with a fresh login, expiry and purge as a card batch. Only what differs is here: who may ask
(admins), which members, and that nothing is recorded per member (the deliveries are marked sent by
「送付済みにする」 as before)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from documents import storage
from documents.models import BatchJob
from documents.services import AREA, BatchCancelled, batch_fail, batch_heartbeat, write_cards_file
from efnet import audit
from members.models import Member, SalesOffice
from members.selectors import return_fax_for
from notices import selectors
from notices.models import Channel, Delivery, Notice
from notices.printing import LeftOut, bundle_html, bundle_pages

logger = logging.getLogger(__name__)


def bundle_members(*, notice: Notice, everyone: bool):
    """Member ids of the bundle (a query): the print/FAX deliveries (``everyone``: every delivery), or the
    audience of a draft."""
    if notice.state == Notice.State.DRAFT:
        return selectors.audience(notice).values_list("pk", flat=True)
    deliveries = notice.deliveries.exclude(status=Delivery.Status.CANCELLED)
    if not everyone:
        deliveries = deliveries.filter(channel=Channel.PRINT)
    return deliveries.order_by("member__number").values_list("member_id", flat=True)


@transaction.atomic
def bundle_job_create(*, notice: Notice, actor, everyone: bool = False) -> BatchJob:
    if not actor.is_admin:
        raise PermissionDenied("案内のPDFは管理者だけが作成できます。")
    Notice.objects.select_for_update().filter(pk=notice.pk).first()
    active = BatchJob.objects.filter(notice=notice, status__in=BatchJob.ACTIVE).first()
    if active is not None:
        raise ValidationError(f"この案内のPDF（受付番号 {active.pk}）を作成中です。終わってから依頼してください。")
    members = bundle_members(notice=notice, everyone=everyone)
    ids = list(members)
    if not ids:
        raise ValidationError("FAX・印刷の対象はありません。")
    # Every reply form needs a number to come back to: refuse now, by office, rather than fail in the worker.
    return_fax_for(SalesOffice.objects.filter(pk__in=Member.objects.filter(pk__in=members).values("office")))
    job = BatchJob.objects.create(
        kind=BatchJob.Kind.NOTICE_BUNDLE, requested_by=actor, notice=notice, member_ids=ids, total=len(ids)
    )
    audit.record("notice.bundle.requested", actor=actor, target=notice, details={"members": len(ids), "job": job.pk})
    from documents.tasks import render_batch

    transaction.on_commit(lambda: render_batch.delay(job.pk))
    return job


def bundle_job_run(job: BatchJob) -> None:
    """Render the claimed job (documents.services.batch_run hands it here)."""
    user = job.requested_by
    if user is None or not user.is_active or not user.is_admin:
        batch_fail(job, "依頼者に作成の権限がなくなりました。")
        return
    notice = Notice.objects.select_related("campaign").get(pk=job.notice_id)
    job.file_key = storage.new_key()
    job.file_name = f"{job.uuid}.bin"
    job.save(update_fields=["file_key", "file_name"])
    writer = storage.EncryptedWriter(area=AREA, name=job.file_name, key=job.file_key, file_id=str(job.uuid))
    left_out: list[LeftOut] = []
    done = 0

    def chunks() -> Iterator[list[dict]]:
        ids = job.member_ids
        size = max(1, settings.DOCUMENTS_BATCH_CHUNK_SIZE)
        for start in range(0, len(ids), size):
            if not batch_heartbeat(job.pk):
                raise BatchCancelled
            found = Member.objects.select_related("office").in_bulk(ids[start : start + size])
            members = [found[pk] for pk in ids[start : start + size] if pk in found]
            pages, skipped = bundle_pages(notice=notice, members=members)
            left_out.extend(skipped)
            if pages:
                yield pages

    def progress(count: int) -> None:
        nonlocal done
        done += count
        BatchJob.objects.filter(pk=job.pk).update(
            done_count=done, skipped_count=len(left_out), error=_left_out_text(left_out), heartbeat_at=timezone.now()
        )

    try:
        file_format = write_cards_file(
            chunks(),
            writer=writer,
            as_zip=len(job.member_ids) > settings.DOCUMENTS_BATCH_ZIP_THRESHOLD,
            on_chunk=progress,
            to_html=lambda pages: bundle_html(notice=notice, pages=pages, left_out=[]),
            stylesheets=(),
            entry_prefix=f"notice-{notice.pk}",
        )
        size = writer.close()
    except BatchCancelled:
        writer.abort()
        return
    except ValidationError as exc:  # an office lost its FAX number meanwhile: say which
        writer.abort()
        batch_fail(job, " ".join(exc.messages))
        return
    except Exception as exc:
        writer.abort()
        logger.exception("bundle job %s failed", job.pk)
        batch_fail(job, f"作成に失敗しました: {type(exc).__name__}")
        return
    if not done:
        storage.delete(area=AREA, name=job.file_name)
        batch_fail(job, "印字できない文字があるため、どの会員も印刷できませんでした。\n" + _left_out_text(left_out))
        return
    now = timezone.now()
    finished = BatchJob.objects.filter(pk=job.pk, status=BatchJob.Status.RUNNING).update(
        status=BatchJob.Status.DONE,
        done_count=done,
        skipped_count=len(left_out),
        error=_left_out_text(left_out),
        file_format=file_format,
        file_size=size,
        finished_at=now,
        expires_at=now + timedelta(hours=settings.DOCUMENTS_BATCH_EXPIRY_HOURS),
    )
    if not finished:  # cancelled meanwhile
        storage.delete(area=AREA, name=job.file_name)
        return
    audit.record(
        "notice.bundle.printed",
        actor=user,
        target=notice,
        details={"members": done, "left_out": [item.as_dict() for item in left_out], "job": job.pk},
    )


def _left_out_text(left_out: list[LeftOut]) -> str:
    if not left_out:
        return ""
    lines = [f"{i.number}: {i.field}に印字できない文字 {i.codepoint}" for i in left_out]
    return ("印刷できなかった会員:\n" + "\n".join(lines))[:500]
