"""Issuing member cards and additional-address lists (singly, or in batches), and the password reset.

Each issue is a reveal: it needs the reveal permission, goes through office scoping, is recorded in the issue
register (MemberCard / AddressListIssue: serial, reason, issuer, office, superseded document, content hash)
and audited in the same transaction. The PDF itself is returned, never stored, except a batch's, which waits
encrypted for its one download (documents.storage).
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.formats import date_format

from documents import storage
from documents.models import BatchJob
from efnet import audit, pdf_pool
from efnet.passwords import generate_password
from efnet.pdf import check_printable, render_pdf
from efnet.permissions import can_reveal
from efnet.scoping import members_visible_to, offices_visible_to
from efnet.wareki import seireki, slash_date
from mailaddresses.models import AdditionalMailAddress, AddressListIssue
from members.models import Member, MemberCard, SalesOffice

logger = logging.getLogger(__name__)
# The storage area of batch files (documents.storage).
AREA = "documents"

Reason = MemberCard.Reason
PDF_STYLESHEETS = ("pdf/documents.css",)
SERIAL_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # nothing a clerk could misread on the phone


def new_serial(prefix: str, day: date) -> str:
    return f"{prefix}-{day:%Y%m%d}-{''.join(secrets.choice(SERIAL_ALPHABET) for _ in range(6))}"


def content_hash(printed: dict) -> str:
    """A keyed hash (HMAC with the site key) of what was printed: it proves what a card said without the
    register holding anything a password could be guessed back from."""
    canonical = json.dumps(printed, ensure_ascii=False, sort_keys=True, default=str)
    return salted_hmac("documents.content_hash", canonical, algorithm="sha256").hexdigest()


def _check_may_issue(actor, member: Member) -> None:
    if not can_reveal(actor):
        raise PermissionDenied("パスワードを印字する権限がありません。")
    if not members_visible_to(actor).filter(pk=member.pk).exists():
        raise PermissionDenied("この会員の書類は発行できません。")


def _password_stale_since(member: Member, address=None) -> date | None:
    """The date the member reported changing this account's password, unless the office has reset it since
    (then the stored password is the one the office issued, and the card prints it)."""
    from tracking.selectors import password_changed_on

    changed_on = password_changed_on(member=member, address=address)
    if changed_on is None or address is not None:
        return changed_on
    last_reset = (
        member.cards.filter(reason=Reason.PASSWORD_RESET).order_by("-issued_on").values_list("issued_on", flat=True)
    ).first()
    if last_reset is not None and last_reset > changed_on:
        return None
    return changed_on


# --- member card -------------------------------------------------------------------------------------------


@dataclass
class PreparedCard:
    member_id: int
    serial: str
    context: dict
    password_printed: bool
    content_hash: str


def prepare_card(member: Member, *, reason: str, issued_on: date, force_password: bool = False) -> PreparedCard:
    """Everything a card prints, checked printable. Decrypts the password: callers are issuing services."""
    stale_since = None if force_password else _password_stale_since(member)
    office = member.office
    context = {
        "serial": new_serial("C", issued_on),
        "issued_on": seireki(issued_on),
        "reason": reason,
        "registered_on": seireki(member.registered_on),
        "number": member.number,
        "name": member.name,
        "postal_code": member.postal_code,
        "address": member.address,
        "user_id": member.biglobe_user_id,
        "password": member.biglobe_password if stale_since is None else "",
        "changed_on": seireki(stale_since) if stale_since else "",
        "email": member.email,
        "pop3_server": member.pop3_server,
        "smtp_server": member.smtp_server,
        "office_name": f"{office.name}" if office.kind in office.name else f"{office.name} {office.kind}",
        "office_phone": office.phone,
    }
    check_printable(
        {
            "会員番号": context["number"],
            "登録者名": context["name"],
            "登録者住所": f"{context['postal_code']} {context['address']}",
            "ユーザーID": context["user_id"],
            "パスワード": context["password"],
            "メールアドレス": context["email"],
            "メールサーバー名": f"{context['pop3_server']} {context['smtp_server']}",
            "営業所": f"{context['office_name']} {context['office_phone']}",
        }
    )
    return PreparedCard(
        member_id=member.pk,
        serial=context["serial"],
        context=context,
        password_printed=stale_since is None,
        content_hash=content_hash(context),
    )


def cards_html(contexts: list[dict]) -> str:
    """The HTML document of a run of cards, one page each."""
    return render_to_string("pdf/member_cards.html", {"cards": contexts})


def render_cards(contexts: list[dict]) -> bytes:
    """One PDF document with one page per card, rendered in this process (issuing a single card)."""
    return render_pdf(cards_html(contexts), stylesheets=PDF_STYLESHEETS)


def _record_card(*, member: Member, prepared: PreparedCard, reason: str, actor, issued_on: date, batch=None):
    previous = member.cards.filter(superseded_by__isnull=True).order_by("-issued_at", "-id").first()
    card = MemberCard(
        member=member,
        serial=prepared.serial,
        issued_on=issued_on,
        reason=reason,
        issued_by=actor if getattr(actor, "is_authenticated", False) else None,
        office=getattr(actor, "office", None),
        supersedes=previous,
        password_printed=prepared.password_printed,
        content_hash=prepared.content_hash,
    )
    card.full_clean()
    card.save()
    details = {
        "serial": card.serial,
        "reason": reason,
        # A printed password is a reveal; the key avoids the audit log's secret masking on purpose.
        "reveal": prepared.password_printed,
        "printed": "password" if prepared.password_printed else "self-set box",
        "supersedes": previous.serial if previous else "",
    }
    if batch is not None:
        details["batch"] = batch.pk
    audit.record("member.card.issued", actor=actor, target=card, member=member, details=details)
    return card


@transaction.atomic
def member_card_issue(*, member: Member, reason: str, actor, force_password: bool = False) -> tuple[MemberCard, bytes]:
    """Issue one member card: the register row and its audit event, and the PDF (returned, never stored)."""
    _check_may_issue(actor, member)
    if reason not in Reason.values:
        raise ValidationError("発行理由を選んでください。")
    member = Member.objects.select_for_update().select_related("office").get(pk=member.pk)
    issued_on = timezone.localdate()
    prepared = prepare_card(member, reason=reason, issued_on=issued_on, force_password=force_password)
    data = render_cards([prepared.context])
    card = _record_card(member=member, prepared=prepared, reason=reason, actor=actor, issued_on=issued_on)
    return card, data


@transaction.atomic
def member_password_reset(*, member: Member, actor) -> tuple[MemberCard, bytes]:
    """The office reset the account at BIGLOBE: store a new generated password, put the account back to
    "must change" (案内済) in the current campaign, and issue a card (パスワード再設定) that prints it."""
    from tracking.models import AccountStatus, Source, Status
    from tracking.selectors import current_campaign
    from tracking.services import status_record

    _check_may_issue(actor, member)
    member = Member.objects.select_for_update().select_related("office").get(pk=member.pk)
    member.biglobe_password = generate_password()
    member.save(update_fields=["biglobe_password", "updated_at"])
    audit.record("member.password.reset", actor=actor, target=member, details={"account": "メインアカウント"})
    campaign = current_campaign()
    if campaign is not None:
        row, _ = AccountStatus.objects.get_or_create(campaign=campaign, member=member, address=None)
        status_record(
            account_status=row,
            status=Status.NOTIFIED,
            actor=actor,
            source=Source.OFFICE_CHECK,
            note="営業所でパスワードを再設定しました（会員証を再発行）。会員による変更が必要です。",
        )
    return member_card_issue(member=member, reason=Reason.PASSWORD_RESET, actor=actor, force_password=True)


# --- additional-address list -------------------------------------------------------------------------------


@dataclass
class PreparedList:
    member_id: int
    serial: str
    doc: dict
    printed_any: bool
    content_hash: str
    highlight_date: date | None
    addresses: int


def prepare_address_list(
    member: Member, *, reason: str, issued_on: date, highlight_date: date | None = None
) -> PreparedList:
    """Everything a member's list prints, checked printable; addresses issued on ``highlight_date`` (default:
    the newest issue date) are 今回追加分. Decrypts the passwords: callers are issuing services."""
    addresses = list(member.additional_addresses.filter(is_active=True).order_by("slot"))
    if highlight_date is None and addresses:
        highlight_date = max(a.issued_on for a in addresses)
    office = member.office
    blocks = []
    printed_any = False
    for a in addresses:
        stale_since = _password_stale_since(member, a)
        printed_any |= stale_since is None
        blocks.append(
            {
                "slot": a.slot,
                "issued_on": slash_date(a.issued_on),
                "highlight": a.issued_on == highlight_date,
                "address": a.address,
                "password": a.password if stale_since is None else "",
                "changed_on": seireki(stale_since) if stale_since else "",
                "login_id": a.login_id,
                "pop3_server": a.pop3_server,
                "smtp_server": a.smtp_server,
                "smtp_port": a.smtp_port,
            }
        )
    doc = {
        "serial": new_serial("L", issued_on),
        "issued_on": seireki(issued_on),
        "reason": reason,
        "highlight_date": slash_date(highlight_date) if highlight_date else "",
        "number": member.number,
        "name": member.name,
        "user_id": member.biglobe_user_id,
        "addresses": blocks,
        "office_name": office.name if office.kind in office.name else f"{office.name} {office.kind}",
        "office_phone": office.phone,
    }
    fields = {"会員番号": doc["number"], "会員名": doc["name"], "会員ID": doc["user_id"]}
    for b in blocks:
        label = f"追加メールアドレス{b['slot']}"
        fields[f"{label}のメールアドレス"] = b["address"]
        fields[f"{label}のパスワード"] = b["password"]
        fields[f"{label}のID"] = b["login_id"]
    check_printable(fields)
    return PreparedList(
        member_id=member.pk,
        serial=doc["serial"],
        doc=doc,
        printed_any=printed_any,
        content_hash=content_hash(doc),
        highlight_date=highlight_date,
        addresses=len(blocks),
    )


def address_lists_html(docs: list[dict]) -> str:
    """The HTML document of one or more lists, each starting on a new page and numbering its own pages."""
    return render_to_string("pdf/address_list.html", {"docs": docs})


def _record_address_list(*, member: Member, prepared: PreparedList, reason: str, actor, issued_on: date, batch=None):
    previous = member.address_list_issues.filter(superseded_by__isnull=True).order_by("-issued_at", "-id").first()
    issue = AddressListIssue(
        member=member,
        serial=prepared.serial,
        issued_on=issued_on,
        highlight_date=prepared.highlight_date,
        reason=reason,
        issued_by=actor if getattr(actor, "is_authenticated", False) else None,
        office=getattr(actor, "office", None),
        supersedes=previous,
        content_hash=prepared.content_hash,
    )
    issue.full_clean()
    issue.save()
    details = {
        "serial": issue.serial,
        "reason": reason,
        "reveal": prepared.printed_any,
        "addresses": prepared.addresses,
        "highlight_date": prepared.highlight_date.isoformat() if prepared.highlight_date else "",
        "supersedes": previous.serial if previous else "",
    }
    if batch is not None:
        details["batch"] = batch.pk
    audit.record("member.address_list.issued", actor=actor, target=issue, member=member, details=details)
    return issue


@transaction.atomic
def address_list_issue(
    *, member: Member, actor, reason: str = AddressListIssue.Reason.LOST, highlight_date: date | None = None
) -> tuple[AddressListIssue, bytes]:
    """Issue the member's additional-address list; addresses issued on ``highlight_date`` are 今回追加分."""
    _check_may_issue(actor, member)
    if reason not in AddressListIssue.Reason.values:
        raise ValidationError("発行理由を選んでください。")
    member = Member.objects.select_for_update().select_related("office").get(pk=member.pk)
    issued_on = timezone.localdate()
    prepared = prepare_address_list(member, reason=reason, issued_on=issued_on, highlight_date=highlight_date)
    data = render_pdf(address_lists_html([prepared.doc]), stylesheets=PDF_STYLESHEETS)
    issue = _record_address_list(member=member, prepared=prepared, reason=reason, actor=actor, issued_on=issued_on)
    return issue, data


# --- batches -----------------------------------------------------------------------------------------------


def batch_members(*, actor, office: SalesOffice, no_card_since: date | None):
    """The members a batch would cover: active members of ``office`` visible to ``actor``, without a card
    issued on or after ``no_card_since``."""
    qs = members_visible_to(actor).filter(office=office, is_active=True)
    if no_card_since is not None:
        qs = qs.exclude(cards__issued_on__gte=no_card_since)
    return qs.order_by("number")


def _check_may_batch(actor, office: SalesOffice, what: str) -> None:
    if not can_reveal(actor):
        raise PermissionDenied("パスワードを印字する権限がありません。")
    if not offices_visible_to(actor).filter(pk=office.pk).exists():
        raise PermissionDenied(f"この営業所の{what}は発行できません。")


def _lock_office_for_batch(office: SalesOffice) -> None:
    """One batch per office at a time (cards or lists): two batches finishing together would each supersede
    the same documents, and a double-clicked 「作成を開始」 must not start two. The office row lock makes the
    check hold against a second request arriving at the same moment."""
    SalesOffice.objects.select_for_update().filter(pk=office.pk).first()
    active = BatchJob.objects.filter(office=office, status__in=BatchJob.ACTIVE).order_by("created_at").first()
    if active is not None:
        raise ValidationError(
            f"{office.name}の一括発行（受付番号 {active.pk}、{active.get_status_display()}）が終わっていません。"
            "終わってから依頼してください（不要なら取り消してください）。"
        )


def _check_batch_size(ids: list[int]) -> None:
    if not ids:
        raise ValidationError("条件に合う会員がいません。")
    if len(ids) > settings.DOCUMENTS_BATCH_MAX_CARDS:
        raise ValidationError(
            f"一度に発行できるのは{settings.DOCUMENTS_BATCH_MAX_CARDS}件までです（{len(ids)}件が該当）。"
        )


@transaction.atomic
def batch_create(*, actor, office: SalesOffice, reason: str, no_card_since: date | None = None) -> BatchJob:
    _check_may_batch(actor, office, "会員証")
    if reason not in Reason.values:
        raise ValidationError("発行理由を選んでください。")
    _lock_office_for_batch(office)
    ids = list(batch_members(actor=actor, office=office, no_card_since=no_card_since).values_list("pk", flat=True))
    _check_batch_size(ids)
    return _queue_batch(
        actor=actor,
        office=office,
        ids=ids,
        fields={"reason": reason, "no_card_since": no_card_since},
        details={"reason": reason, "no_card_since": str(no_card_since or "")},
    )


def _queue_batch(*, actor, office: SalesOffice, ids: list[int], fields: dict, details: dict) -> BatchJob:
    """Record the job for ``ids``, audit the request and render it in a worker once the transaction commits."""
    job = BatchJob.objects.create(requested_by=actor, office=office, member_ids=ids, total=len(ids), **fields)
    audit.record(
        "documents.batch.requested",
        actor=actor,
        target=job,
        office=office,
        details={**({"kind": job.kind} if "kind" in fields else {}), "count": len(ids), **details},
    )
    from documents.tasks import render_batch

    transaction.on_commit(lambda: render_batch.delay(job.pk))
    return job


def address_batch_members(*, actor, office: SalesOffice, issued_since: date | None = None, only_open: bool = False):
    """The members an address-list batch would cover: active members of ``office`` visible to ``actor`` with an
    active additional address (issued on or after ``issued_since``, when given). ``only_open``: only those with
    an additional address whose password change is still open (未案内/案内済) in the current campaign; the
    list is about the additional addresses (the main account is on the card)."""
    from tracking.selectors import OPEN_STATUSES, current_campaign

    addresses = AdditionalMailAddress.objects.filter(is_active=True)
    if issued_since is not None:
        addresses = addresses.filter(issued_on__gte=issued_since)
    qs = members_visible_to(actor).filter(office=office, is_active=True, pk__in=addresses.values("member_id"))
    if only_open:
        campaign = current_campaign()
        if campaign is None:
            raise ValidationError("進行中のキャンペーンがないため、パスワード変更の状況で絞り込めません。")
        open_rows = campaign.statuses.filter(
            status__in=OPEN_STATUSES, address__isnull=False, address__is_active=True
        ).values("member_id")
        qs = qs.filter(pk__in=open_rows)
    return qs.order_by("number")


@transaction.atomic
def address_batch_create(
    *, actor, office: SalesOffice, reason: str, issued_since: date | None = None, only_open: bool = False
) -> BatchJob:
    """Ask for the additional-address lists of an office's members as one PDF, rendered in the background."""
    _check_may_batch(actor, office, "追加メールアドレスリスト")
    if reason not in AddressListIssue.Reason.values:
        raise ValidationError("発行理由を選んでください。")
    _lock_office_for_batch(office)
    members = address_batch_members(actor=actor, office=office, issued_since=issued_since, only_open=only_open)
    ids = list(members.values_list("pk", flat=True))
    _check_batch_size(ids)
    return _queue_batch(
        actor=actor,
        office=office,
        ids=ids,
        fields={
            "kind": BatchJob.Kind.ADDRESS_LISTS,
            "reason": reason,
            "issued_since": issued_since,
            "only_open": only_open,
        },
        details={"reason": reason, "issued_since": str(issued_since or ""), "only_open": only_open},
    )


@transaction.atomic
def batch_cancel(*, job: BatchJob, actor) -> bool:
    cancelled = BatchJob.objects.filter(pk=job.pk, status__in=BatchJob.ACTIVE).update(
        status=BatchJob.Status.CANCELLED, finished_at=timezone.now()
    )
    if cancelled:
        audit.record("documents.batch.cancelled", actor=actor, target=job, office=job.office)
    return bool(cancelled)


class BatchCancelled(Exception):
    pass


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_cards_file(
    chunks: Iterable[list],
    *,
    writer: storage.EncryptedWriter,
    as_zip: bool,
    on_chunk=None,
    to_html=None,
    stylesheets: tuple[str, ...] = PDF_STYLESHEETS,
    entry_prefix: str = "membercards",
) -> str:
    """Render each chunk of card contexts as one document and write the result through ``writer``.

    Other batch documents (a notice's FAX bundle) pass their own ``to_html`` (a chunk's items → one HTML
    document), ``stylesheets`` and ZIP ``entry_prefix``; the rest (render processes, ZIP or merged PDF,
    encryption) is the same.

    The chunks are rendered by the render processes (efnet.pdf_pool), in order, a few at a time; ``chunks`` is
    consumed a little ahead of the writing. ZIP: one PDF per chunk, streamed (memory flat whatever the batch
    size). PDF: the chunks merged into one document (used up to DOCUMENTS_BATCH_ZIP_THRESHOLD cards). Returns
    the format written.
    """
    sizes: deque[int] = deque()
    to_html = to_html or cards_html  # looked up at call time

    def documents() -> Iterator[str]:
        for contexts in chunks:
            sizes.append(len(contexts))
            yield to_html(contexts)

    def rendered() -> Iterator[tuple[int, bytes]]:
        """(cards in the chunk, its PDF), in order; tells ``on_chunk`` as each one is in."""
        for data in pdf_pool.render_many(documents(), stylesheets=stylesheets):
            count = sizes.popleft()
            yield count, data
            if on_chunk:
                on_chunk(count)

    if as_zip:
        with zipfile.ZipFile(writer, mode="w", compression=zipfile.ZIP_STORED) as archive:
            first = 1
            for count, data in rendered():
                archive.writestr(f"{entry_prefix}-{first:05d}-{first + count - 1:05d}.pdf", data)
                first += count
        return "zip"
    from pypdf import PdfWriter

    merged = PdfWriter()
    for _count, data in rendered():
        merged.append(io.BytesIO(data))
    merged.write(writer)
    return "pdf"


@dataclass(frozen=True)
class _MemberDocuments:
    """What differs between an office's card batch and its address-list batch: how one member's document is
    prepared (its printed context, and the slim record the register needs, kept between chunks), how a chunk
    of them becomes one HTML document, how one is recorded, and the names."""

    prepare: Callable  # (member, job, issued_on) -> (printed context, slim prepared record)
    to_html: Callable  # list of contexts -> one HTML document
    record: Callable  # keyword arguments of _record_card / _record_address_list
    entry_prefix: str
    noun: str  # for the audit details and messages


def _card_documents() -> _MemberDocuments:
    def prepare(member, job, issued_on):
        card = prepare_card(member, reason=job.reason, issued_on=issued_on)
        return card.context, PreparedCard(card.member_id, card.serial, {}, card.password_printed, card.content_hash)

    # cards_html looked up at call time (tests replace it to act between chunks).
    return _MemberDocuments(prepare, lambda c: cards_html(c), _record_card, "membercards", "cards")


def _list_documents() -> _MemberDocuments:
    def prepare(member, job, issued_on):
        p = prepare_address_list(member, reason=job.reason, issued_on=issued_on)
        slim = PreparedList(p.member_id, p.serial, {}, p.printed_any, p.content_hash, p.highlight_date, p.addresses)
        return p.doc, slim

    return _MemberDocuments(prepare, lambda d: address_lists_html(d), _record_address_list, "addresslists", "lists")


def batch_run(*, job_id: int) -> None:
    """Render a batch (called by the Celery task; safe to run twice: the job is claimed first)."""
    now = timezone.now()
    if not BatchJob.objects.filter(pk=job_id, status=BatchJob.Status.QUEUED).update(
        status=BatchJob.Status.RUNNING, started_at=now, heartbeat_at=now
    ):
        return
    job = BatchJob.objects.select_related("office", "requested_by").get(pk=job_id)
    if job.kind == BatchJob.Kind.NOTICE_BUNDLE:
        from notices.bundles import bundle_job_run

        bundle_job_run(job)
        return
    kind = _list_documents() if job.kind == BatchJob.Kind.ADDRESS_LISTS else _card_documents()
    user = job.requested_by
    # Scope is checked again for the user who asked: their role or office may have changed since.
    if (
        user is None
        or not user.is_active
        or not can_reveal(user)
        or not offices_visible_to(user).filter(pk=job.office_id).exists()
    ):
        batch_fail(job, "依頼者に発行の権限がなくなりました。")
        return
    visible = set(
        members_visible_to(user)
        .filter(pk__in=job.member_ids, office_id=job.office_id, is_active=True)
        .values_list("pk", flat=True)
    )
    ids = [pk for pk in job.member_ids if pk in visible]
    job.file_key = storage.new_key()
    job.file_name = f"{job.uuid}.bin"
    job.save(update_fields=["file_key", "file_name"])
    writer = storage.EncryptedWriter(area=AREA, name=job.file_name, key=job.file_key, file_id=str(job.uuid))
    issued_on = timezone.localdate()
    prepared: list = []
    problems: list[str] = []
    skipped = len(job.member_ids) - len(ids)

    def contexts() -> Iterator[list[dict]]:
        nonlocal skipped
        for chunk_ids in _chunks(ids, max(1, settings.DOCUMENTS_BATCH_CHUNK_SIZE)):
            if not batch_heartbeat(job.pk):
                raise BatchCancelled
            members = Member.objects.select_related("office").in_bulk(chunk_ids)
            chunk = []
            for pk in chunk_ids:
                try:
                    context, slim = kind.prepare(members[pk], job, issued_on)
                except ValidationError as exc:
                    # An unprintable member is left out and listed on the batch page, the rest go on.
                    skipped += 1
                    problems.append(f"{members[pk].number}: {exc.messages[0]}")
                    continue
                # Only what the register needs is kept between chunks; the printed contexts are dropped.
                prepared.append(slim)
                chunk.append(context)
            if chunk:
                yield chunk

    rendered = 0

    def progress(count: int) -> None:
        nonlocal rendered
        rendered += count
        BatchJob.objects.filter(pk=job.pk).update(
            done_count=rendered, skipped_count=skipped, error="\n".join(problems)[:500], heartbeat_at=timezone.now()
        )

    try:
        file_format = write_cards_file(
            contexts(),
            writer=writer,
            as_zip=len(ids) > settings.DOCUMENTS_BATCH_ZIP_THRESHOLD,
            on_chunk=progress,
            to_html=kind.to_html,
            entry_prefix=kind.entry_prefix,
        )
        size = writer.close()
    except BatchCancelled:
        writer.abort()
        return
    except Exception as exc:
        writer.abort()
        logger.exception("batch %s failed", job.pk)
        if isinstance(exc, pdf_pool.BrokenProcessPool):  # a render process died (killed, out of memory)
            batch_fail(job, "PDF作成プロセスが途中で止まりました。何も発行されていません。もう一度依頼してください。")
        else:
            batch_fail(job, f"作成に失敗しました: {type(exc).__name__}")
        return
    if not prepared:
        storage.delete(area=AREA, name=job.file_name)
        batch_fail(job, "どの会員も発行できませんでした。\n" + "\n".join(problems))
        return
    try:
        if not batch_heartbeat(job.pk):  # recording thousands of cards takes a while: start it with a fresh beat
            raise BatchCancelled
        _batch_finish(
            job, kind=kind, prepared=prepared, skipped=skipped, problems=problems, file_format=file_format, size=size
        )
    except BatchCancelled:
        storage.delete(area=AREA, name=job.file_name)
    except Exception as exc:
        # The register was rolled back: nothing was issued, so the file goes and the job says so. A job left
        # "running" would show 作成中 until the reaper, hiding the failure from the clerk.
        storage.delete(area=AREA, name=job.file_name)
        logger.exception("batch %s failed while recording its documents", job.pk)
        batch_fail(
            job, f"発行の記録に失敗しました（{type(exc).__name__}）。何も発行されていません。もう一度依頼してください。"
        )


@transaction.atomic
def _batch_finish(job, *, kind: _MemberDocuments, prepared, skipped, problems, file_format, size) -> None:
    # The register is written only once the whole file exists: a cancelled or failed batch issued nothing.
    locked = BatchJob.objects.select_for_update().get(pk=job.pk)
    if locked.status != BatchJob.Status.RUNNING:
        raise BatchCancelled
    # Each member's row is locked (in id order, so two finishing transactions cannot deadlock) before the
    # document it supersedes is looked up: a single issue or another batch finishing meanwhile waits, then sees
    # ours.
    members = {
        m.pk: m
        for m in Member.objects.select_for_update().filter(pk__in=[p.member_id for p in prepared]).order_by("pk")
    }
    issued_on = timezone.localdate()
    for p in prepared:
        kind.record(
            member=members[p.member_id],
            prepared=p,
            reason=job.reason,
            actor=job.requested_by,
            issued_on=issued_on,
            batch=job,
        )
    now = timezone.now()
    BatchJob.objects.filter(pk=job.pk).update(
        status=BatchJob.Status.DONE,
        done_count=len(prepared),
        skipped_count=skipped,
        error="\n".join(problems)[:500],
        file_format=file_format,
        file_size=size,
        finished_at=now,
        expires_at=now + timedelta(hours=settings.DOCUMENTS_BATCH_EXPIRY_HOURS),
    )
    audit.record(
        "documents.batch.completed",
        actor=job.requested_by,
        target=job,
        office=job.office,
        details={kind.noun: len(prepared), "skipped": skipped, "format": file_format},
    )


def batch_heartbeat(job_id: int) -> bool:
    """The worker is alive and the job still running (not cancelled, not failed by the reaper)."""
    return bool(BatchJob.objects.filter(pk=job_id, status=BatchJob.Status.RUNNING).update(heartbeat_at=timezone.now()))


DEAD_BATCH_ERROR = (
    "作成処理が応答しなくなったため中止しました（最終応答 {at}、ワーカーの停止など）。"
    "作成途中のファイルは削除しました。{what}もう一度依頼してください。"
)


def reap_dead_batches() -> int:
    """Fail the running jobs whose heartbeat is older than DOCUMENTS_BATCH_HEARTBEAT_SECONDS (their worker was
    killed or its machine went down) and delete their partial files: the clerk sees why within minutes, and
    the office, which may have one active batch, can ask again. Returns how many. Periodic (every minute)."""
    cutoff = timezone.now() - timedelta(seconds=settings.DOCUMENTS_BATCH_HEARTBEAT_SECONDS)
    dead = BatchJob.objects.filter(status=BatchJob.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    reaped = 0
    for job in dead.select_related("office"):
        beat = timezone.localtime(job.heartbeat_at or job.started_at)
        what = {
            BatchJob.Kind.CARDS: "会員証は発行されていません。",
            BatchJob.Kind.ADDRESS_LISTS: "追加メールアドレスリストは発行されていません。",
        }.get(job.kind, "")
        message = DEAD_BATCH_ERROR.format(at=date_format(beat, "SHORT_DATETIME_FORMAT"), what=what)
        # Conditional on the beat we saw: a worker that was only slow and beat meanwhile keeps its job.
        if not BatchJob.objects.filter(pk=job.pk, status=BatchJob.Status.RUNNING, heartbeat_at=job.heartbeat_at).update(
            status=BatchJob.Status.FAILED, error=message, finished_at=timezone.now()
        ):
            continue
        _delete_file(job)
        audit.record(
            "documents.batch.abandoned",
            target=job,
            office=job.office,
            details={"kind": job.kind, "done": job.done_count, "total": job.total, "heartbeat_at": str(beat)},
        )
        reaped += 1
    return reaped


def _delete_file(job: BatchJob) -> None:
    storage.delete(area=AREA, name=job.file_name)
    BatchJob.objects.filter(pk=job.pk).update(file_key="", file_name="")


def batch_fail(job: BatchJob, message: str) -> None:
    BatchJob.objects.filter(pk=job.pk).update(
        status=BatchJob.Status.FAILED, error=message[:500], finished_at=timezone.now()
    )


def batch_download(*, job: BatchJob, actor) -> Iterator[bytes]:
    """Claim the download (first one only, when so configured) and stream the decrypted file."""
    if job.requested_by_id != actor.pk:
        raise PermissionDenied("依頼したユーザーだけがダウンロードできます。")
    if job.status != BatchJob.Status.DONE or (job.expires_at and job.expires_at <= timezone.now()):
        raise ValidationError("このファイルはダウンロードできません（削除済みまたは期限切れ）。")
    if settings.DOCUMENTS_BATCH_DELETE_AFTER_DOWNLOAD:
        with transaction.atomic():
            claimed = BatchJob.objects.filter(pk=job.pk, status=BatchJob.Status.DONE).update(
                status=BatchJob.Status.DOWNLOADED, downloaded_at=timezone.now()
            )
            if not claimed:
                raise ValidationError("このファイルはすでにダウンロードされ、削除されました。")
            audit.record(
                "documents.batch.downloaded", actor=actor, target=job, office=job.office, details={"reveal": True}
            )
    else:
        audit.record("documents.batch.downloaded", actor=actor, target=job, office=job.office, details={"reveal": True})
    name, key = job.file_name, job.file_key
    delete_after = settings.DOCUMENTS_BATCH_DELETE_AFTER_DOWNLOAD

    def stream() -> Iterator[bytes]:
        try:
            yield from storage.read_decrypted(area=AREA, name=name, key=key, file_id=str(job.uuid))
        finally:
            if delete_after:
                storage.delete(area=AREA, name=name)
                BatchJob.objects.filter(pk=job.pk).update(file_key="", file_name="")

    return stream()


def purge_expired_batches() -> int:
    """Delete the files of batches past their expiry, and of cancelled or failed ones. Returns how many."""
    now = timezone.now()
    purged = 0
    expired = BatchJob.objects.filter(status=BatchJob.Status.DONE, expires_at__lte=now)
    for job in expired:
        if BatchJob.objects.filter(pk=job.pk, status=BatchJob.Status.DONE).update(
            status=BatchJob.Status.EXPIRED, file_key="", file_name=""
        ):
            storage.delete(area=AREA, name=job.file_name)
            purged += 1
    # A job whose worker died is failed by reap_dead_batches (every minute, by its heartbeat); its file goes
    # there too.
    leftovers = BatchJob.objects.filter(
        status__in=[BatchJob.Status.CANCELLED, BatchJob.Status.FAILED, BatchJob.Status.DOWNLOADED, "expired"]
    ).exclude(file_name="")
    for job in leftovers:
        _delete_file(job)
        purged += 1
    return purged
