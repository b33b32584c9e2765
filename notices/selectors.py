"""Reads for notices: the audience of a notice, one member's merge fields, progress counts."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from mailaddresses.models import AdditionalMailAddress
from members.models import Member, SalesOffice
from notices.models import Channel, Delivery, Notice
from tracking.models import AccountStatus, MemberProgress
from tracking.selectors import OPEN_STATUSES, account_order, is_pending
from tracking.selfreport import self_report_url


def audience(notice: Notice) -> QuerySet[Member]:
    """The members ``notice``'s filters select (the notice may be unsaved: the edit page counts live)."""
    qs = Member.objects.filter(is_active=True).select_related("office")
    # The member's stored progress in the campaign (one row per member; none when no account counts).
    progress = MemberProgress.objects.filter(member=OuterRef("pk"), campaign_id=notice.campaign_id)
    if notice.audience_status == Notice.AudienceStatus.PENDING:
        qs = qs.filter(Exists(progress.filter(state__in=OPEN_STATUSES)))
    elif notice.audience_status == Notice.AudienceStatus.COMPLETE:
        qs = qs.filter(Exists(progress.exclude(state__in=OPEN_STATUSES)))
    if notice.audience_office_id:
        qs = qs.filter(office_id=notice.audience_office_id)
    has_addresses = Exists(AdditionalMailAddress.objects.filter(member=OuterRef("pk"), is_active=True))
    if notice.audience_addresses == Notice.AudienceAddresses.YES:
        qs = qs.filter(has_addresses)
    elif notice.audience_addresses == Notice.AudienceAddresses.NO:
        qs = qs.exclude(has_addresses)
    if notice.audience_edition and notice.audience_edition_rule != Notice.AudienceEdition.ANY:
        received = Exists(
            Delivery.objects.filter(
                member=OuterRef("pk"),
                notice__campaign_id=notice.campaign_id,
                notice__edition=notice.audience_edition,
                status=Delivery.Status.SENT,
            )
        )
        wanted = notice.audience_edition_rule == Notice.AudienceEdition.RECEIVED
        qs = qs.filter(received) if wanted else qs.exclude(received)
    if notice.audience_channel == Notice.AudienceChannel.EMAIL:
        qs = qs.exclude(email="")
    elif notice.audience_channel == Notice.AudienceChannel.FAX:
        qs = qs.filter(email="")
    return qs.order_by("office__sort_order", "number")


def channel_for(member: Member) -> str:
    """Email when the member has an address, otherwise print (sent by FAX or post)."""
    return Channel.EMAIL if member.email else Channel.PRINT


def audience_summary(notice: Notice, *, sample_size: int = 10) -> dict:
    qs = audience(notice)
    counted = _counted_audience(notice)
    if counted is None:
        counts = qs.aggregate(total=Count("pk"), email=Count("pk", filter=~Q(email="")))
        total, by_email = counts["total"], counts["email"]
    else:
        total, by_email = counted
    return {
        "total": total,
        "email": by_email,
        "print": total - by_email,
        # The first members by number: read in index order, where the audience's own order sorts them all.
        "sample": list(qs.order_by("number")[:sample_size]),
    }


def _counted_audience(notice: Notice) -> tuple[int, int] | None:
    """(total, with a mail address) from the stored counts (``tracking.ProgressCount``) when the notice's
    filters are ones they hold: by state (未完了 / すべて完了), office, channel. None otherwise (all members
    including those with no counted account, additional addresses, earlier editions): counted live."""
    if not notice.campaign_id or notice.audience_status == Notice.AudienceStatus.ANY:
        return None
    if notice.audience_addresses != Notice.AudienceAddresses.ANY:
        return None
    if notice.audience_edition and notice.audience_edition_rule != Notice.AudienceEdition.ANY:
        return None
    from tracking import progress
    from tracking.models import ProgressCount

    pending = notice.audience_status == Notice.AudienceStatus.PENDING
    rows = ProgressCount.objects.filter(campaign_id=notice.campaign_id)
    if notice.audience_office_id:
        rows = rows.filter(office_id=notice.audience_office_id)
    total = by_email = 0
    for g in progress.counts(campaign_id=notice.campaign_id, queryset=rows):
        if (g["state"] in OPEN_STATUSES) != pending:
            continue
        if notice.audience_channel == Notice.AudienceChannel.EMAIL and not g["has_email"]:
            continue
        if notice.audience_channel == Notice.AudienceChannel.FAX and g["has_email"]:
            continue
        total += g["n_members"]
        by_email += g["n_members"] if g["has_email"] else 0
    return total, by_email


def office_phone_table() -> str:
    """The seed's table: 「札幌　営業所 ■TEL:011-222-4321」. The place name is padded with full-width spaces
    to three characters, so 営業所/出張所 and the ■ line up under 名古屋営業所 in a Japanese font."""
    lines = []
    for o in SalesOffice.objects.order_by("sort_order", "id"):
        place = o.name.removesuffix(o.kind) if o.name.endswith(o.kind) else o.name
        lines.append(f"{place.ljust(3, '　')}{o.kind if o.name.endswith(o.kind) else ''} ■TEL:{o.phone}")
    return "\n".join(lines)


def account_line(row: AccountStatus, member: Member) -> str:
    address = row.address.address if row.address_id else member.biglobe_user_id
    return f"・{row.account_label}（{address}）"


@dataclass
class MemberFacts:
    """What one member's notice depends on beyond the member row: read for many members at once."""

    pending: list[AccountStatus]
    has_accounts: bool
    has_addresses: bool
    # (edition, date sent, channel) of every notice of the campaign sent to the member, newest first.
    sent: list[tuple[int, date, str]] = field(default_factory=list)


def member_facts(*, campaign, members) -> dict[int, MemberFacts]:
    """The facts of every member in ``members`` in two queries (a batch of sends reads them once)."""
    ids = [m.pk for m in members]
    rows = AccountStatus.objects.filter(member_id__in=ids, campaign=campaign).select_related("address")
    statuses: dict[int, list[AccountStatus]] = {pk: [] for pk in ids}
    for row in rows:
        statuses[row.member_id].append(row)
    with_addresses = set(
        AdditionalMailAddress.objects.filter(member_id__in=ids, is_active=True).values_list("member_id", flat=True)
    )
    sent: dict[int, list[tuple[int, date, str]]] = {pk: [] for pk in ids}
    deliveries = Delivery.objects.filter(member_id__in=ids, notice__campaign=campaign, status=Delivery.Status.SENT)
    for member_id, edition, sent_at, channel in deliveries.order_by("-sent_at").values_list(
        "member_id", "notice__edition", "sent_at", "channel"
    ):
        sent[member_id].append((edition, timezone.localdate(sent_at), channel))
    facts = {}
    for pk, member_rows in statuses.items():
        pending = sorted(filter(is_pending, member_rows), key=account_order)
        facts[pk] = MemberFacts(
            pending=pending, has_accounts=bool(member_rows), has_addresses=pk in with_addresses, sent=sent[pk]
        )
    return facts


def addressee(name: str) -> str:
    """A company takes 御中, a person (or a shop's name) 様."""
    return f"{name} {'御中' if any(word in name for word in ORGANISATION_WORDS) else '様'}"


ORGANISATION_WORDS = (
    "株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "(株)", "(有)", "（株）", "（有）", "㈱", "㈲",
    "法人", "組合", "協会", "事務所",
)  # fmt: skip


def member_context(
    *,
    notice: Notice,
    member: Member,
    phone_table: str | None = None,
    facts: MemberFacts | None = None,
    channel: str | None = None,
) -> dict[str, str | bool]:
    """The merge fields and conditions for one member: plain strings and booleans only (the sandbox).
    ``facts`` (from ``member_facts``) saves the queries when many members are rendered in a row; ``channel``
    is how this copy goes out (default: the member's usual channel)."""
    if facts is None:
        facts = member_facts(campaign=notice.campaign, members=[member])[member.pk]
    complete = facts.has_accounts and not facts.pending
    channel = channel or channel_for(member)
    # The last earlier edition the member received: 「本日…FAX にてご案内差し上げましたが」 says when and how.
    previous = next((s for s in facts.sent if s[0] < notice.edition), None)
    link = self_report_url(member=member, campaign=notice.campaign, base_url=settings.NOTICES_BASE_URL)
    return {
        "会社名": member.name,
        "会員番号": member.number,
        "営業所名": member.office.name,
        "営業所電話": member.office.phone,
        "未完了アカウント": "\n".join(account_line(r, member) for r in facts.pending),
        "本人報告URL": link,
        "営業所電話一覧": phone_table if phone_table is not None else office_phone_table(),
        "日付": notice.date_line,
        "第N報": notice.edition_label,
        "完了": complete,
        "未完了": not complete,
        "追加メールアドレスあり": facts.has_addresses,
        "宛名": addressee(member.name),
        "メール": channel == Channel.EMAIL,
        "前回が本日": previous is not None and previous[1] == notice.date,
        "前回がメール": previous is not None and previous[2] == Channel.EMAIL,
    }


def progress(notice: Notice) -> dict:
    counts = {s: 0 for s in Delivery.Status.values}
    for row in notice.deliveries.values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    total = sum(counts.values())
    done = counts["sent"] + counts["failed"] + counts["unknown"] + counts["cancelled"]
    return {
        "counts": counts,
        "state_text": notice.state_text(failed=counts["failed"], unknown=counts["unknown"]),
        "total": total,
        "done": done,
        "percent": int(100 * counts["sent"] / total) if total else 0,
        "finished": total > 0 and done == total,
    }


UNKNOWN_REASON = "不明（送信中に処理が中断）"


def problem_reason(*, status: str, last_error: str) -> str:
    """What a failed or 不明 delivery is grouped under for a decision in bulk: the SMTP reply code (550, 451 …)
    when the server gave one, else the kind of error."""
    if status == Delivery.Status.UNKNOWN:
        return UNKNOWN_REASON
    text = re.sub(r"^\d+回失敗: ", "", last_error or "")
    code = re.match(r"(\d{3})\b", text)
    if code:
        return f"失敗: SMTP {code.group(1)}"
    return "失敗: " + (text.split(":")[0].strip()[:40] or "理由なし")


def problem_deliveries(notice: Notice) -> list[dict]:
    """Every failed or 不明 delivery of the notice: id, status and reason (no member data)."""
    rows = notice.deliveries.filter(status__in=[Delivery.Status.FAILED, Delivery.Status.UNKNOWN]).values_list(
        "pk", "status", "last_error"
    )
    return [{"pk": pk, "status": st, "reason": problem_reason(status=st, last_error=err)} for pk, st, err in rows]


def problem_reasons(notice: Notice) -> list[tuple[str, int]]:
    """(reason, count) of the notice's failed and 不明 deliveries, most frequent first."""
    counted = Counter(row["reason"] for row in problem_deliveries(notice))
    return sorted(counted.items(), key=lambda item: (-item[1], item[0]))


def awaiting_approval_count(user) -> int:
    """Drafts whose authors asked for approval and that ``user`` may approve (not their own): the menu badge."""
    if not user.is_admin:
        return 0
    return (
        Notice.objects.filter(state=Notice.State.DRAFT, approval_requested_at__isnull=False)
        .exclude(author_id=user.pk)
        .count()
    )
