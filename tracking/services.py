"""Writes to password-change tracking."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from efnet import audit
from tracking.models import AccountStatus, CallResult, Campaign, Source, Status, StatusChange


@transaction.atomic
def accounts_enroll(*, member) -> int:
    """Give every active account of ``member`` a status row (未案内) in each active campaign.

    Called when a member or an address is added, so an account added during a campaign joins it.
    Returns how many rows were created.
    """
    created = 0
    campaigns = list(Campaign.objects.filter(is_active=True))
    if not campaigns or not member.is_active:
        return 0
    addresses = list(member.additional_addresses.filter(is_active=True))
    for campaign in campaigns:
        _, made = AccountStatus.objects.get_or_create(campaign=campaign, member=member, address=None)
        created += made
        for address in addresses:
            _, made = AccountStatus.objects.get_or_create(campaign=campaign, member=member, address=address)
            created += made
    return created


class StaleStatusError(Exception):
    """The status changed since the user loaded it; nothing was overwritten."""

    def __init__(self, account_status: AccountStatus):
        self.account_status = account_status
        super().__init__(f"status of {account_status.pk} changed meanwhile")


# Which moves the service accepts. 完了 can be undone (a mistaken click, or the office reset the password).
ALLOWED_TRANSITIONS = {
    Status.NOT_NOTIFIED: {Status.NOTIFIED, Status.DONE, Status.EXCLUDED},
    Status.NOTIFIED: {Status.DONE, Status.EXCLUDED, Status.NOT_NOTIFIED},
    Status.DONE: {Status.NOTIFIED, Status.NOT_NOTIFIED, Status.EXCLUDED},
    Status.EXCLUDED: {Status.NOT_NOTIFIED, Status.NOTIFIED, Status.DONE},
}


def status_record(
    *,
    account_status: AccountStatus,
    status: str,
    actor,
    source: str,
    status_on: date | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> AccountStatus:
    """Record a status change for one account, checked and audited.

    ``expected_version`` is the version the user saw: if the row moved on since, StaleStatusError is raised
    and the attempt is kept in the history (applied=False) so nothing the user typed is lost. (The refused
    attempt is committed before the error is raised; a caller that wraps this in its own transaction and lets
    the error escape that transaction would roll it back, so callers catch StaleStatusError.)
    """
    result = _status_record(
        account_status=account_status,
        status=status,
        actor=actor,
        source=source,
        status_on=status_on,
        note=note,
        expected_version=expected_version,
    )
    if result is None:
        account_status.refresh_from_db()
        raise StaleStatusError(account_status)
    return result


def _lock_members(member_ids) -> None:
    """Lock the members' rows, in id order, before their status rows: the progress refresh locks them too, so
    every writer takes member rows first and two writers cannot wait on each other in opposite orders."""
    from members.models import Member

    list(Member.objects.select_for_update().filter(pk__in=member_ids).order_by("pk").values_list("pk", flat=True))


@transaction.atomic
def _status_record(*, account_status, status, actor, source, status_on, note, expected_version):
    _lock_members([account_status.member_id])
    current = (
        AccountStatus.objects.select_for_update(of=("self",))
        .select_related("member", "address")
        .get(pk=account_status.pk)
    )
    user = actor if getattr(actor, "is_authenticated", False) else None
    status_on = status_on or timezone.localdate()
    stale = expected_version is not None and current.version != expected_version
    if not stale:
        if status not in ALLOWED_TRANSITIONS.get(current.status, set()) and status != current.status:
            raise ValidationError(f"「{current.status}」から「{status}」には変更できません。")
        if status == Status.EXCLUDED and not note.strip():
            raise ValidationError("対象外にする理由をメモに入力してください。")
    filters = {"pk": current.pk}
    if expected_version is not None:
        filters["version"] = expected_version
    updated = 0
    if not stale:
        updated = AccountStatus.objects.filter(**filters).update(
            status=status,
            status_on=status_on,
            source=source,
            recorded_by=user,
            note=note,
            version=F("version") + 1,
            updated_at=timezone.now(),
        )
    # The history keeps refused attempts too: from what the user saw, to what they asked for.
    change = StatusChange.objects.create(
        account_status=current,
        from_status=account_status.status if not updated else current.status,
        to_status=status,
        status_on=status_on,
        source=source,
        recorded_by=user,
        note=note,
        applied=bool(updated),
    )
    if not updated:
        audit.record(
            "tracking.status.refused_stale",
            actor=actor,
            target=current,
            details={"account": current.account_label, "seen": account_status.status, "asked": status},
        )
        return None
    current.refresh_from_db()
    audit.record(
        "tracking.status.changed",
        actor=actor,
        target=current,
        details={
            "account": current.account_label,
            "from": change.from_status,
            "to": status,
            "source": source,
            "on": status_on.isoformat(),
        },
    )
    # The caller's object follows the row, so a page re-rendered from it shows the new state.
    for name in ("status", "status_on", "source", "recorded_by_id", "note", "version", "updated_at"):
        setattr(account_status, name, getattr(current, name))
    return account_status


@dataclass
class BulkResult:
    applied: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    stale: list = field(default_factory=list)  # AccountStatus rows as they are now
    invalid: list = field(default_factory=list)  # (AccountStatus, message)


@transaction.atomic
def statuses_bulk_record(
    *,
    items: list[tuple[AccountStatus, int | None]],
    status: str,
    actor,
    source: str,
    status_on: date | None = None,
    note: str = "",
) -> BulkResult:
    """Set one status on many accounts (each with the version the user saw). Rows already in that status are
    left alone; rows changed meanwhile are refused and reported (their attempt stays in the history)."""
    result = BulkResult()
    for row, version in items:
        if row.status == status and (version is None or row.version == version):
            result.unchanged.append(row)
            continue
        try:
            status_record(
                account_status=row,
                status=status,
                actor=actor,
                source=source,
                status_on=status_on,
                note=note,
                expected_version=version,
            )
        except StaleStatusError as exc:
            result.stale.append(exc.account_status)
        except ValidationError as exc:
            result.invalid.append((row, " ".join(exc.messages)))
        else:
            result.applied.append(row)
    audit.record(
        "tracking.status.bulk",
        actor=actor,
        details={
            "to": status,
            "source": source,
            "applied": len(result.applied),
            "unchanged": len(result.unchanged),
            "stale": len(result.stale),
            "invalid": len(result.invalid),
        },
    )
    return result


def accounts_mark_notified(*, member, campaign, actor=None, at: datetime) -> int:
    """A notice reached ``member``: their 未案内 accounts become 案内済 (source 案内送付), and every account
    still open (not 完了/対象外) gets ``last_notified_at = at``. Returns how many statuses changed."""
    return accounts_mark_notified_many(members=[member], campaign=campaign, actor=actor, at=at).get(member.pk, 0)


@transaction.atomic
def accounts_mark_notified_many(*, members, campaign, actor=None, at: datetime) -> dict[int, int]:
    """``accounts_mark_notified`` for several members at once (a batch of sent notices), in a fixed number of
    statements. Returns how many statuses changed, per member id; one audit event per member with open
    accounts."""
    from tracking.selectors import OPEN_STATUSES, active_accounts_q

    by_id = {m.pk: m for m in members}
    _lock_members(by_id)
    open_rows = list(
        AccountStatus.objects.select_for_update(of=("self",))
        .filter(member_id__in=by_id, campaign=campaign, status__in=OPEN_STATUSES)
        .filter(active_accounts_q())
        .order_by("pk")  # one lock order for every caller, so two batches cannot deadlock
    )
    if not open_rows:
        return {}
    on = timezone.localdate(at) if timezone.is_aware(at) else at.date()
    user = actor if getattr(actor, "is_authenticated", False) else None
    to_move = [r for r in open_rows if r.status == Status.NOT_NOTIFIED]
    StatusChange.objects.bulk_create(
        [
            StatusChange(
                account_status=r,
                from_status=r.status,
                to_status=Status.NOTIFIED,
                status_on=on,
                source=Source.NOTICE,
                recorded_by=user,
            )
            for r in to_move
        ]
    )
    AccountStatus.objects.filter(pk__in=[r.pk for r in to_move]).update(
        status=Status.NOTIFIED,
        status_on=on,
        source=Source.NOTICE,
        recorded_by=user,
        note="",
        version=F("version") + 1,
        last_notified_at=at,
        updated_at=timezone.now(),
    )
    AccountStatus.objects.filter(pk__in=[r.pk for r in open_rows if r.status != Status.NOT_NOTIFIED]).update(
        last_notified_at=at, updated_at=timezone.now()
    )
    open_count = Counter(r.member_id for r in open_rows)
    changed = {member_id: 0 for member_id in open_count} | Counter(r.member_id for r in to_move)
    audit.record_many(
        [
            audit.event(
                "tracking.accounts.notified",
                actor=actor,
                target=campaign,
                member=by_id[member_id],
                details={
                    "campaign": campaign.name,
                    "moved_to_notified": moved,
                    "open_accounts": open_count[member_id],
                    "at": at.isoformat(),
                },
            )
            for member_id, moved in changed.items()
        ]
    )
    return changed


class LinkAlreadyUsedError(Exception):
    """The self-report link was submitted before; nothing was recorded this time."""


@transaction.atomic
def self_report_submit(*, member, campaign, nonce: str, account_ids: list[int]) -> int:
    """A member ticked the accounts they changed on their self-report link: record 完了 (source 本人報告).

    Only the member's own open accounts in that campaign are touched; anything else in ``account_ids`` is
    ignored. The link is consumed (SelfReportUse), so a second submit raises LinkAlreadyUsedError.
    """
    from django.db import IntegrityError

    from tracking.models import SelfReportUse
    from tracking.selectors import OPEN_STATUSES, active_accounts_q

    try:
        with transaction.atomic():
            use = SelfReportUse.objects.create(nonce=nonce, campaign=campaign, member=member)
    except IntegrityError:
        raise LinkAlreadyUsedError from None
    _lock_members([member.pk])
    rows = list(
        AccountStatus.objects.select_for_update(of=("self",))
        .filter(member=member, campaign=campaign, status__in=OPEN_STATUSES, pk__in=account_ids)
        .filter(active_accounts_q())
        .select_related("address", "member")
    )
    for row in rows:
        status_record(
            account_status=row,
            status=Status.DONE,
            actor=None,
            source=Source.SELF_REPORT,
            note="本人報告リンクから",
            expected_version=row.version,
        )
    use.accounts_reported = len(rows)
    use.save(update_fields=["accounts_reported"])
    audit.record(
        "tracking.selfreport.submitted",
        target=campaign,
        member=member,
        details={"campaign": campaign.name, "accounts": [r.account_label for r in rows]},
    )
    return len(rows)


@transaction.atomic
def campaign_enroll_all(*, campaign: Campaign, actor) -> int:
    """Give every active account of every active member a 未案内 row in ``campaign`` (a new campaign's start).

    Rows that exist are kept as they are; safe to run again. Set-based: a few queries whatever the size."""
    from mailaddresses.models import AdditionalMailAddress
    from members.models import Member

    have_primary = set(
        AccountStatus.objects.filter(campaign=campaign, address__isnull=True).values_list("member_id", flat=True)
    )
    have_address = set(
        AccountStatus.objects.filter(campaign=campaign, address__isnull=False).values_list("address_id", flat=True)
    )
    rows = [
        AccountStatus(campaign=campaign, member_id=pk)
        for pk in Member.objects.filter(is_active=True).values_list("pk", flat=True)
        if pk not in have_primary
    ]
    rows += [
        AccountStatus(campaign=campaign, member_id=member_id, address_id=pk)
        for pk, member_id in AdditionalMailAddress.objects.filter(is_active=True, member__is_active=True).values_list(
            "pk", "member_id"
        )
        if pk not in have_address
    ]
    AccountStatus.objects.bulk_create(rows, batch_size=2000)
    audit.record("tracking.campaign.enrolled", actor=actor, target=campaign, details={"created": len(rows)})
    return len(rows)


@transaction.atomic
def self_report_link_create(*, member, campaign: Campaign, actor) -> str:
    """Sign a new self-report link for ``member`` in ``campaign`` because a clerk asked for one; returns its
    site-relative path. The link is a credential: it is shown once to the clerk, and neither stored nor
    written to the audit log (the event says who created a link for whom, not the link)."""
    from tracking.selectors import OPEN_STATUSES, active_accounts_q
    from tracking.selfreport import self_report_path

    if not member.is_active:
        raise ValidationError("退会した会員には本人報告リンクを作成できません。")
    if not campaign.is_active:
        raise ValidationError("このキャンペーンは終了しています。")
    open_accounts = (
        AccountStatus.objects.filter(member=member, campaign=campaign, status__in=OPEN_STATUSES)
        .filter(active_accounts_q())
        .count()
    )
    if not open_accounts:
        raise ValidationError("この会員に未完了のアカウントはありません。本人報告リンクは不要です。")
    path = self_report_path(member=member, campaign=campaign)
    audit.record(
        "tracking.selfreport.link_created",
        actor=actor,
        target=campaign,
        member=member,
        details={"campaign": campaign.name, "open_accounts": open_accounts},
    )
    return path


@transaction.atomic
def member_call_record(*, member, campaign: Campaign, result: str, called_on: date, note: str = "", actor) -> None:
    """A clerk called ``member`` from the call list: the outcome (電話済・不在・折返し待ち), the day and a note go
    on the member's timeline as an audit event. Statuses are not touched; a 完了 is recorded as such."""
    if result not in CallResult.values:
        raise ValidationError("架電結果を選んでください。")
    if called_on > timezone.localdate():
        raise ValidationError("未来の日付は指定できません。")
    if not member.is_active:
        raise ValidationError("退会した会員には記録できません。")
    audit.record(
        "tracking.call.recorded",
        actor=actor,
        target=campaign,
        member=member,
        details={
            "campaign": campaign.name,
            "result": result,
            "called_on": called_on.isoformat(),
            "note": note.strip()[:500],
        },
    )
