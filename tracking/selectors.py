from __future__ import annotations

from datetime import date

from django.db.models import Q

from tracking.models import AccountStatus, Campaign, Status


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


def pending_accounts(*, member, campaign) -> list[AccountStatus]:
    """The member's accounts still to change in ``campaign`` (not 完了/対象外): primary first, then by slot."""
    rows = (
        AccountStatus.objects.filter(member=member, campaign=campaign, status__in=OPEN_STATUSES)
        .filter(active_accounts_q())
        .select_related("address")
    )
    return sorted(rows, key=lambda r: (r.address_id is not None, r.address.slot if r.address_id else 0))


def member_accounts(*, member, campaign) -> list[AccountStatus]:
    """All of the member's active accounts in ``campaign``, primary first, then by slot."""
    rows = (
        AccountStatus.objects.filter(member=member, campaign=campaign)
        .filter(active_accounts_q())
        .select_related("address", "recorded_by")
    )
    return sorted(rows, key=lambda r: (r.address_id is not None, r.address.slot if r.address_id else 0))
