"""Staff accounts: what an admin may do to another staff member's login."""

from __future__ import annotations

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from efnet import audit


def second_factor_status(user) -> dict:
    """The user's authenticator app as staff and admins see it: enrolled or not, and when it was last used."""
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-last_used_at"))
    return {
        "enrolled": bool(devices),
        "count": len(devices),
        "last_used_at": max((d.last_used_at for d in devices if d.last_used_at), default=None),
    }


@transaction.atomic
def staff_second_factor_reset(*, user, actor) -> int:
    """Remove every authenticator app of ``user`` (a lost phone): they cannot log in until an admin enrols a
    new one with ``manage.py totp_enroll``. Audited in the same transaction; returns how many were removed."""
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    audit.record(
        "auth.otp_reset",
        actor=actor,
        target=user,
        office=user.office,
        details={"username": user.get_username(), "devices_removed": removed},
    )
    return removed


@transaction.atomic
def staff_password_change(*, user, new_password: str) -> None:
    """A staff member sets their own login password (already checked against the validators and the old one).
    Audited in the same transaction, without the password."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit.record("auth.password_changed", actor=user, target=user, office=user.office)
