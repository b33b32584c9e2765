from __future__ import annotations

from datetime import date

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
