"""Inbound FAX replies: upload, read (in a Celery task), match to members, and record 完了 with source FAX.

Recording goes through tracking.services.status_record, the one path every status change takes (transition
check, history, audit). The page image stays, encrypted, as the evidence the member's timeline links to.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import Resolver404, resolve
from django.utils import timezone

from documents import storage
from efnet import audit
from efnet.normalize import member_number
from efnet.permissions import can_edit_members
from efnet.scoping import members_visible_to
from faxreplies import pages as fax_pages
from faxreplies.models import FaxImport, FaxPage
from members.models import Member
from tracking.models import AccountStatus, Campaign, Source, Status

logger = logging.getLogger(__name__)
AREA = "faxreplies"


def _store(data_chunks, *, key: str, file_id: str, name: str) -> int:
    writer = storage.EncryptedWriter(area=AREA, name=name, key=key, file_id=file_id)
    try:
        for chunk in data_chunks:
            writer.write(chunk)
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def _read(*, name: str, key: str, file_id: str) -> bytes:
    return b"".join(storage.read_decrypted(area=AREA, name=name, key=key, file_id=file_id))


@transaction.atomic
def fax_import_create(*, actor, data: bytes, original_name: str) -> FaxImport:
    """Check the upload is a PDF or TIFF with pages, keep it encrypted, and queue the reading."""
    if not can_edit_members(actor):
        raise PermissionDenied("FAX返信を取り込む権限がありません。")
    if not data:
        raise ValidationError("ファイルが空です。")
    if len(data) > settings.FAXREPLIES_MAX_UPLOAD_MB * 1024 * 1024:
        raise ValidationError(f"ファイルが大きすぎます（{settings.FAXREPLIES_MAX_UPLOAD_MB} MBまで）。")
    kind = fax_pages.kind_of(data[:8])
    if kind is None:
        raise ValidationError("PDFかTIFFのファイルを選んでください（このファイルはどちらでもありません）。")
    count = fax_pages.count_pages(data, kind)
    if count == 0:
        raise ValidationError("ファイルにページがありません。")
    if count > settings.FAXREPLIES_MAX_PAGES:
        raise ValidationError(f"一度に取り込めるのは{settings.FAXREPLIES_MAX_PAGES}ページまでです（{count}ページ）。")
    job = FaxImport(
        uploaded_by=actor,
        office=actor.office,
        original_name=original_name[:200],
        kind=kind,
        total_pages=count,
        upload_key=storage.new_key(),
    )
    job.upload_name = f"{job.uuid}.upload"
    _store([data], key=job.upload_key, file_id=str(job.uuid), name=job.upload_name)
    job.save()
    audit.record("faxreplies.import.uploaded", actor=actor, target=job, office=actor.office, details={"pages": count})
    from faxreplies.tasks import process_import

    transaction.on_commit(lambda: process_import.delay(job.pk))
    return job


def _match(text: str | None, *, user) -> tuple[str, Member | None, Campaign | None]:
    """What a QR code's text says: the member and campaign of a reply form this portal printed."""
    from tracking.selfreport import LinkError, load_printed_token

    if text is None:
        return FaxPage.Match.NO_CODE, None, None
    try:
        match = resolve(urlsplit(text).path)
    except Resolver404:
        return FaxPage.Match.UNKNOWN, None, None
    if match.view_name != "tracking:self_report":
        return FaxPage.Match.UNKNOWN, None, None
    try:
        link = load_printed_token(match.kwargs["token"])
    except LinkError:
        return FaxPage.Match.UNKNOWN, None, None
    member = members_visible_to(user).filter(pk=link.member_id).first()
    if member is None:
        if Member.objects.filter(pk=link.member_id).exists():
            return FaxPage.Match.FOREIGN, None, None
        return FaxPage.Match.UNKNOWN, None, None
    return FaxPage.Match.QR, member, Campaign.objects.filter(pk=link.campaign_id).first()


def fax_import_process(*, import_id: int) -> None:
    """Read every page: rasterise, decode its QR code, match, keep the image encrypted (the Celery task's
    work; safe to run twice: the job is claimed first)."""
    if not FaxImport.objects.filter(pk=import_id, status=FaxImport.Status.QUEUED).update(
        status=FaxImport.Status.RUNNING
    ):
        return
    job = FaxImport.objects.select_related("uploaded_by").get(pk=import_id)
    user = job.uploaded_by
    try:
        if user is None or not user.is_active or not can_edit_members(user) or user.office_id != job.office_id:
            raise PermissionDenied("取込者に権限がなくなりました。")
        expires = timezone.now() + timedelta(days=settings.FAXREPLIES_UNCONFIRMED_DAYS)
        with tempfile.TemporaryDirectory(prefix="efnet-faxin-") as tmp:
            source = Path(tmp) / f"upload.{job.kind}"
            source.write_bytes(_read(name=job.upload_name, key=job.upload_key, file_id=str(job.uuid)))
            for number, image in enumerate(fax_pages.iter_page_images(source, job.kind), start=1):
                match, member, campaign = _match(fax_pages.read_qr(image), user=user)
                page = FaxPage(
                    fax_import=job, number=number, match=match, member=member, campaign=campaign, expires_at=expires
                )
                page.image_key = storage.new_key()
                page.image_name = f"{page.uuid}.png"
                _store([fax_pages.as_png(image)], key=page.image_key, file_id=str(page.uuid), name=page.image_name)
                page.save()
                if match == FaxPage.Match.FOREIGN:
                    audit.record(
                        "access.denied", actor=user, target=page, details={"why": "fax_reply_of_another_office"}
                    )
                FaxImport.objects.filter(pk=job.pk).update(done_pages=number)
    except Exception as exc:
        logger.warning("fax import %s failed: %s", job.pk, type(exc).__name__)
        message = str(exc) if isinstance(exc, PermissionDenied) else f"読み取りに失敗しました（{type(exc).__name__}）。"
        FaxImport.objects.filter(pk=job.pk).update(status=FaxImport.Status.FAILED, error=message[:500])
        _purge_pages(FaxPage.objects.filter(fax_import=job))
    else:
        FaxImport.objects.filter(pk=job.pk).update(status=FaxImport.Status.DONE, finished_at=timezone.now())
    finally:
        storage.delete(area=AREA, name=job.upload_name)
        FaxImport.objects.filter(pk=job.pk).update(upload_name="", upload_key="")


def page_image(*, page: FaxPage) -> bytes:
    if not page.image_name:
        raise ValidationError("このページの画像は保存期間を過ぎたため削除されました。")
    return _read(name=page.image_name, key=page.image_key, file_id=str(page.uuid))


def open_accounts(*, page: FaxPage) -> list[AccountStatus]:
    from tracking.selectors import pending_accounts

    if page.member is None or page.campaign is None:
        return []
    return pending_accounts(member=page.member, campaign=page.campaign)


@transaction.atomic
def fax_page_match(*, page: FaxPage, number: str, actor) -> FaxPage:
    """A clerk read the member number off a page without a readable code: tie the page to that member (in the
    current campaign). Only members the clerk may see; another office's number is "not found" as well."""
    from tracking.selectors import current_campaign

    normalised = member_number(number)
    if not normalised:
        raise ValidationError("会員番号を入力してください。")
    member = members_visible_to(actor).filter(number=normalised).first()
    if member is None:
        raise ValidationError(f"会員番号 {normalised} の会員は見つかりません。")
    campaign = current_campaign()
    if campaign is None:
        raise ValidationError("実施中のキャンペーンがありません。")
    updated = (
        FaxPage.objects.filter(pk=page.pk, state=FaxPage.State.OPEN)
        .exclude(match=FaxPage.Match.QR)
        .update(member=member, campaign=campaign, match=FaxPage.Match.MANUAL)
    )
    if not updated:
        raise ValidationError("このページはすでに処理されています。")
    audit.record("faxreplies.page.matched", actor=actor, target=page, member=member, details={"page": page.number})
    page.refresh_from_db()
    return page


@transaction.atomic
def fax_page_confirm(*, page: FaxPage, account_ids: list[int], actor) -> int:
    """Record 完了 (source FAX) for the ticked accounts of the page's member, and keep the page as evidence for
    FAXREPLIES_RETENTION_DAYS. A second submit, or accounts that are not the member's open ones, change
    nothing. Returns how many accounts were recorded."""
    from tracking.services import status_record

    locked = (
        FaxPage.objects.select_for_update(of=("self",))
        .select_related("member", "campaign", "fax_import")
        .get(pk=page.pk)
    )
    if locked.state != FaxPage.State.OPEN:
        raise ValidationError("このページはすでに処理されています（二重送信）。")
    if locked.member is None or locked.campaign is None:
        raise ValidationError("会員が決まっていないページです。会員番号を入力してください。")
    if not members_visible_to(actor).filter(pk=locked.member_id).exists():
        raise PermissionDenied("この会員の状況は記録できません。")
    if not account_ids:
        raise ValidationError("完了にするアカウントに印をつけてください（記録しない場合は「記録しない」）。")
    open_rows = {row.pk: row for row in open_accounts(page=locked)}
    unknown = set(account_ids) - set(open_rows)
    if unknown:
        raise ValidationError("選んだアカウントの状況が変わりました。画面を読み込み直してください。")
    received_on = timezone.localdate(locked.fax_import.created_at)
    note = f"FAX返信（取込 {locked.fax_import_id} の {locked.number} ページ）"
    for pk in account_ids:
        status_record(
            account_status=open_rows[pk],
            status=Status.DONE,
            actor=actor,
            source=Source.FAX,
            status_on=received_on,
            note=note,
        )
    now = timezone.now()
    FaxPage.objects.filter(pk=locked.pk).update(
        state=FaxPage.State.CONFIRMED,
        handled_by=actor,
        handled_at=now,
        accounts_recorded=len(account_ids),
        expires_at=now + timedelta(days=settings.FAXREPLIES_RETENTION_DAYS),
    )
    audit.record(
        "faxreplies.page.confirmed",
        actor=actor,
        target=locked,
        member=locked.member,
        details={
            "accounts": [open_rows[pk].account_label for pk in account_ids],
            "campaign": locked.campaign.name,
            "page": locked.number,
            "fax_import": locked.fax_import_id,
        },
    )
    return len(account_ids)


@transaction.atomic
def fax_page_dismiss(*, page: FaxPage, actor) -> None:
    """Not a reply to record (a cover sheet, a blank page): nothing is recorded, and the image goes."""
    if not FaxPage.objects.filter(pk=page.pk, state=FaxPage.State.OPEN).update(
        state=FaxPage.State.DISMISSED, handled_by=actor, handled_at=timezone.now()
    ):
        raise ValidationError("このページはすでに処理されています。")
    audit.record("faxreplies.page.dismissed", actor=actor, target=page, details={"page": page.number})
    _purge_pages(FaxPage.objects.filter(pk=page.pk))


def _purge_pages(queryset) -> int:
    purged = 0
    for page in queryset.exclude(image_name=""):
        storage.delete(area=AREA, name=page.image_name)
        FaxPage.objects.filter(pk=page.pk).update(image_name="", image_key="")
        purged += 1
    return purged


def purge_expired_pages() -> int:
    """Delete the images past their retention (the rows stay: the status history cites them), and files no row
    names any more (an upload whose transaction rolled back: unreadable anyway, its key was in the row)."""
    purged = _purge_pages(FaxPage.objects.filter(expires_at__lte=timezone.now()))
    # A worker that died mid-reading leaves its import "running": after a day it is failed, its pages dropped.
    stale = FaxImport.objects.filter(
        status=FaxImport.Status.RUNNING, created_at__lte=timezone.now() - timedelta(days=1)
    )
    for job in stale:
        FaxImport.objects.filter(pk=job.pk).update(
            status=FaxImport.Status.FAILED,
            error="読み取りが中断されました（ワーカー停止）。もう一度取り込んでください。",
        )
        purged += _purge_pages(FaxPage.objects.filter(fax_import=job))
    known = set(FaxPage.objects.exclude(image_name="").values_list("image_name", flat=True))
    known |= set(FaxImport.objects.exclude(upload_name="").values_list("upload_name", flat=True))
    purged += storage.delete_orphans(area=AREA, keep=known, before=timezone.now() - timedelta(days=1))
    return purged
