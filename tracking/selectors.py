from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from efnet.scoping import offices_visible_to, visible_to
from members.models import Member
from members.selectors import member_text_q
from tracking.models import AccountStatus, Campaign, CompletionCount, MemberProgress, ProgressCount, Status


def current_campaign() -> Campaign | None:
    """The campaign the office is working on: the newest active one."""
    return Campaign.objects.filter(is_active=True).order_by("-started_on", "-id").first()


def password_changed_on(*, member, address=None) -> date | None:
    """When the member reported changing this account's password (status 完了) in the newest campaign that
    has it as done; None if the stored password may still be the one the office issued."""
    row = (
        AccountStatus.objects.filter(member=member, address=address, status=Status.DONE)
        .order_by("-campaign__started_on", "-campaign_id")
        .values_list("status_on", flat=True)
        .first()
    )
    return row


def active_accounts_q() -> Q:
    """Rows of accounts that count: the primary account, or an additional address that is active."""
    return Q(address__isnull=True) | Q(address__is_active=True)


OPEN_STATUSES = (Status.NOT_NOTIFIED, Status.NOTIFIED)


def account_order(row: AccountStatus) -> tuple[bool, int]:
    """Sort key of a member's account rows: the primary account first, then additional addresses by slot."""
    return (row.address_id is not None, row.address.slot if row.address_id else 0)


def is_pending(row: AccountStatus) -> bool:
    """In Python, what ``pending_accounts`` asks the database: open, and the account still active."""
    return row.status in OPEN_STATUSES and (row.address_id is None or row.address.is_active)


def pending_accounts(*, member, campaign) -> list[AccountStatus]:
    """The member's accounts still to change in ``campaign`` (not 完了/対象外): primary first, then by slot."""
    rows = (
        AccountStatus.objects.filter(member=member, campaign=campaign, status__in=OPEN_STATUSES)
        .filter(active_accounts_q())
        .select_related("address")
    )
    return sorted(rows, key=account_order)


def member_accounts(*, member, campaign) -> list[AccountStatus]:
    """All of the member's active accounts in ``campaign``, primary first, then by slot."""
    rows = (
        AccountStatus.objects.filter(member=member, campaign=campaign)
        .filter(active_accounts_q())
        .select_related("address", "recorded_by")
    )
    return sorted(rows, key=account_order)


# --- Dashboard and lists -------------------------------------------------------------------------------------

STATUS_ORDER = [Status.NOT_NOTIFIED, Status.NOTIFIED, Status.DONE, Status.EXCLUDED]
# A member's state in a campaign, from its active accounts: any 未案内 → 未案内; else any 案内済 → 案内済;
# else any 完了 → 完了 (every account done or excluded); else 対象外 (every account excluded).
MEMBER_STATES = STATUS_ORDER
# MemberProgress columns counting a member's accounts by status.
ACCOUNT_COLUMNS = {
    Status.NOT_NOTIFIED: "n_not_notified",
    Status.NOTIFIED: "n_notified",
    Status.DONE: "n_done",
    Status.EXCLUDED: "n_excluded",
}
INCOMPLETE = "未完了"  # list filter: 未案内 or 案内済


def campaign_accounts(*, user, campaign) -> QuerySet[AccountStatus]:
    """The accounts that count in ``campaign`` (active members, active accounts), narrowed to what ``user``
    may see."""
    qs = AccountStatus.objects.filter(campaign=campaign, counted=True)
    return visible_to(user, qs, office_path="office")


def progress_rows(*, user, campaign) -> QuerySet[MemberProgress]:
    """The stored per-member progress of ``campaign`` that ``user`` may see (active members with at least
    one active account). The office is on the row itself, so an office user's queries read that office's
    rows through the (campaign, office, state) index, and nothing here groups account rows."""
    return visible_to(user, MemberProgress.objects.filter(campaign=campaign), office_path="office")


def member_states(*, user, campaign, office=None, text: str = "") -> QuerySet[MemberProgress]:
    """One row per member enrolled in ``campaign`` that ``user`` may see, with ``state``, ``n_pending``,
    ``last_notice`` and ``pending_labels`` stored; ``hydrate`` turns a page of rows into Member objects."""
    qs = progress_rows(user=user, campaign=campaign)
    if office is not None:
        qs = qs.filter(office=office)
    condition = member_text_q(text, prefix="member__")
    if condition is not None:
        qs = qs.filter(condition)
    return qs.select_related("member", "office")


def filter_member_state(qs: QuerySet, state: str) -> QuerySet:
    if state == INCOMPLETE:
        return qs.filter(state__in=OPEN_STATUSES)
    if state in MEMBER_STATES:
        return qs.filter(state=state)
    return qs


def hydrate(rows) -> list[Member]:
    """Member objects (with office) for ``member_states`` rows, in the rows' order, carrying their progress.
    No query: the rows were read with their member and office."""
    out = []
    for r in rows:
        m = r.member
        m.office = r.office  # the progress row carries the member's office
        m.n_pending, m.last_notice, m.state = r.n_pending, r.last_notice, r.state
        m.pending_labels = r.pending_labels.split("、") if r.pending_labels else []
        out.append(m)
    return out


@dataclass
class OfficeRow:
    office: object  # SalesOffice, or None for the totals row
    accounts: dict = field(default_factory=dict)
    members: dict = field(default_factory=dict)

    @staticmethod
    def _pct(counts):
        counted = counts.get("total", 0) - counts.get(Status.EXCLUDED, 0)
        return round(100 * counts.get(Status.DONE, 0) / counted, 1) if counted else None

    @property
    def accounts_pct(self):
        return self._pct(self.accounts)

    @property
    def members_pct(self):
        return self._pct(self.members)


def dashboard_rows(*, user, campaign) -> tuple[list[OfficeRow], OfficeRow]:
    """Per visible office and in total: accounts and members by status. Read from ``ProgressCount`` (a few
    rows per office, kept by triggers in the statement that changes the per-member progress), never from
    the per-member or account rows.

    % complete = 完了 / (total − 対象外)."""
    from tracking import progress

    offices = list(offices_visible_to(user))
    rows = {o.pk: OfficeRow(office=o) for o in offices}
    total = OfficeRow(office=None)
    for row in [*rows.values(), total]:
        row.accounts = {s: 0 for s in STATUS_ORDER} | {"total": 0}
        row.members = {s: 0 for s in STATUS_ORDER} | {"total": 0}
    visible = visible_to(user, ProgressCount.objects.filter(campaign=campaign), office_path="office")
    for counts in progress.counts(campaign_id=campaign.pk, queryset=visible):
        for row in (rows.get(counts["office_id"]), total):
            if row is not None:
                row.members[counts["state"]] += counts["n_members"]
                row.members["total"] += counts["n_members"]
                for status, column in ACCOUNT_COLUMNS.items():
                    row.accounts[status] += counts[f"sum_{column}"]
                    row.accounts["total"] += counts[f"sum_{column}"]
    return list(rows.values()), total


def completion_series(*, user, campaign, until: date | None = None) -> list[tuple[date, int]]:
    """Cumulative count of accounts completed, day by day since the campaign began (by the date recorded)."""
    from tracking import progress

    # From the stored per-office, per-day counts (kept by triggers on the status rows), not the rows.
    visible = visible_to(user, CompletionCount.objects.filter(campaign=campaign), office_path="office")
    per_day = progress.completions_per_day(campaign_id=campaign.pk, queryset=visible)
    start = min([campaign.started_on, *per_day.keys()])
    end = max([until or timezone.localdate(), *per_day.keys()])
    series, running, day = [], 0, start
    while day <= end:
        running += per_day.get(day, 0)
        series.append((day, running))
        day += timedelta(days=1)
    return series


def waiting_members(*, user, campaign, limit: int = 20) -> list[Member]:
    """Incomplete members, longest waiting since their last notice first (never notified last)."""
    rows = filter_member_state(member_states(user=user, campaign=campaign), INCOMPLETE).order_by(
        F("last_notice").asc(nulls_last=True), "member__number"
    )[:limit]
    return hydrate(rows)


def pending_labels(*, member_ids, campaign) -> dict[int, list[str]]:
    """Labels of the open accounts of many members, in one query: {member id: ["メイン", "追加2", …]}."""
    rows = (
        AccountStatus.objects.filter(member_id__in=member_ids, campaign=campaign, status__in=OPEN_STATUSES)
        .filter(active_accounts_q())
        .values_list("member_id", "address__slot")
        .order_by("member_id", F("address__slot").asc(nulls_first=True))
    )
    labels: dict[int, list[str]] = {}
    for member_id, slot in rows:
        labels.setdefault(member_id, []).append("メイン" if slot is None else f"追加{slot}")
    return labels
