"""Every write to members goes through here: validated, audited in the same transaction."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from efnet import audit
from efnet.passwords import validate_biglobe_password
from efnet.permissions import can_edit_members, can_reveal
from efnet.scoping import office_filter_for
from members.models import Member, SalesOffice

# Fields a member form may change; the password has its own, audited, paths.
EDITABLE_FIELDS = (
    "number",
    "registered_on",
    "name",
    "name_kana",
    "postal_code",
    "address",
    "phone",
    "fax",
    "office",
    "biglobe_user_id",
    "email",
    "pop3_server",
    "smtp_server",
    "is_active",
    "note",
)


def _check_office_allowed(actor, office: SalesOffice) -> None:
    rule = office_filter_for(actor)
    if rule == {} or (rule is not None and rule["office_id"] != office.pk):
        # An office clerk can only file members under their own office.
        raise ValidationError({"office": "自分の営業所以外の会員は登録・変更できません。"})


@transaction.atomic
def member_create(*, actor, fields: dict, password: str) -> Member:
    if not can_edit_members(actor):
        raise PermissionDenied
    _check_office_allowed(actor, fields["office"])
    validate_biglobe_password(password)
    member = Member(**{k: v for k, v in fields.items() if k in EDITABLE_FIELDS})
    member.biglobe_password = password
    member.full_clean()
    member.save()
    audit.record("member.created", actor=actor, target=member, details={"number": member.number})
    from tracking.services import accounts_enroll

    accounts_enroll(member=member)
    return member


@transaction.atomic
def member_update(*, actor, member: Member, fields: dict) -> Member:
    if not can_edit_members(actor):
        raise PermissionDenied
    _check_office_allowed(actor, member.office)
    if "office" in fields:
        _check_office_allowed(actor, fields["office"])
    changed = {}
    for name in EDITABLE_FIELDS:
        if name in fields and getattr(member, name) != fields[name]:
            old = getattr(member, name)
            setattr(member, name, fields[name])
            changed[name] = [str(old), str(fields[name])]
    if not changed:
        return member
    member.full_clean()
    member.save()
    audit.record("member.updated", actor=actor, target=member, details={"changed": changed})
    return member


@transaction.atomic
def member_password_reveal(*, actor, member: Member, address=None) -> str:
    """The stored password of the primary account (or of ``address``), audited as a reveal."""
    if not can_reveal(actor):
        raise PermissionDenied
    account = address if address is not None else member
    value = account.password if address is not None else member.biglobe_password
    audit.record(
        "member.password.revealed",
        actor=actor,
        target=account,
        member=member,
        details={"account": str(address) if address is not None else "メインアカウント"},
    )
    return value
