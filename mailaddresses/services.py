from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max

from efnet import audit, normalize
from efnet.passwords import validate_biglobe_password
from efnet.permissions import can_edit_members
from mailaddresses.models import AdditionalMailAddress
from members.models import Member

EDITABLE_FIELDS = ("address", "login_id", "issued_on", "pop3_server", "smtp_server", "smtp_port", "is_active")


@transaction.atomic
def address_add(*, actor, member: Member, fields: dict, password: str) -> AdditionalMailAddress:
    if not can_edit_members(actor):
        raise PermissionDenied
    # Lock the member row so two clerks adding at once do not pick the same slot.
    Member.objects.select_for_update().filter(pk=member.pk).first()
    slot = (member.additional_addresses.aggregate(m=Max("slot"))["m"] or 0) + 1
    validate_biglobe_password(password)
    address = AdditionalMailAddress(
        member=member, slot=slot, **{k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
    )
    address.address = normalize.identifier(address.address)
    address.login_id = normalize.identifier(address.login_id)
    address.password = password
    address.full_clean()
    address.save()
    audit.record(
        "member.address.added", actor=actor, target=address, details={"slot": slot, "address": address.address}
    )
    from tracking.services import accounts_enroll

    accounts_enroll(member=member)
    return address


@transaction.atomic
def address_update(*, actor, address: AdditionalMailAddress, fields: dict) -> AdditionalMailAddress:
    if not can_edit_members(actor):
        raise PermissionDenied
    changed = {}
    for name in EDITABLE_FIELDS:
        if name in fields:
            value = fields[name]
            if name in ("address", "login_id"):
                value = normalize.identifier(value)
            if getattr(address, name) != value:
                changed[name] = [str(getattr(address, name)), str(value)]
                setattr(address, name, value)
    if not changed:
        return address
    address.full_clean()
    address.save()
    audit.record("member.address.updated", actor=actor, target=address, details={"changed": changed})
    if address.is_active:
        from tracking.services import accounts_enroll

        accounts_enroll(member=address.member)
    return address
