"""Writes to password-change tracking."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from efnet import audit
from tracking.models import AccountStatus, Campaign, Status, StatusChange


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


@transaction.atomic
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
    and the attempt is kept in the history (applied=False) so nothing the user typed is lost.
    """
    if status not in ALLOWED_TRANSITIONS.get(account_status.status, set()) and status != account_status.status:
        raise ValidationError(f"「{account_status.status}」から「{status}」には変更できません。")
    if status == Status.EXCLUDED and not note.strip():
        raise ValidationError("対象外にする理由をメモに入力してください。")
    status_on = status_on or timezone.localdate()
    filters = {"pk": account_status.pk}
    if expected_version is not None:
        filters["version"] = expected_version
    updated = AccountStatus.objects.filter(**filters).update(
        status=status,
        status_on=status_on,
        source=source,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        note=note,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    change = StatusChange(
        account_status=account_status,
        from_status=account_status.status,
        to_status=status,
        status_on=status_on,
        source=source,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        note=note,
        applied=bool(updated),
    )
    change.save()
    if not updated:
        raise StaleStatusError(account_status)
    account_status.refresh_from_db()
    audit.record(
        "tracking.status.changed",
        actor=actor,
        target=account_status,
        details={
            "account": account_status.account_label,
            "from": change.from_status,
            "to": status,
            "source": source,
            "on": status_on.isoformat(),
        },
    )
    return account_status
