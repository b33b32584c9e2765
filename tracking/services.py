"""Writes to password-change tracking."""

from __future__ import annotations

from django.db import transaction

from tracking.models import AccountStatus, Campaign


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
