"""The audit log: append-only events written in the same transaction as the change they describe."""

from __future__ import annotations

import re
from typing import Any

from django.db import models

from efnet.request_context import current_ip

SECRET_KEY_PATTERN = re.compile(r"pass|secret|token|otp|key|credential", re.IGNORECASE)
MASK = "********"


def mask_secrets(data: Any) -> Any:
    """Replace the value of any key that looks like it holds a secret (pretix does the same)."""
    if isinstance(data, dict):
        return {
            k: (MASK if SECRET_KEY_PATTERN.search(str(k)) and v not in (None, "") else mask_secrets(v))
            for k, v in data.items()
        }
    if isinstance(data, (list, tuple)):
        return [mask_secrets(v) for v in data]
    return data


def event(
    action: str,
    *,
    actor=None,
    target: models.Model | None = None,
    member=None,
    office=None,
    details: dict | None = None,
    ip: str | None = None,
):
    """One audit event, not yet written: ``record`` writes it, ``record_many`` writes several at once."""
    from efnet.models import AuditEvent

    if member is None and target is not None:
        member = getattr(target, "audit_member", None)
    if office is None:
        office = getattr(member, "office", None) if member is not None else None
    actor_user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent(
        actor=actor_user,
        actor_name=getattr(actor_user, "username", "") or "",
        actor_office=getattr(actor_user, "office", None),
        office=office,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        member_id=getattr(member, "pk", None),
        ip=ip or current_ip.get(),
        details=mask_secrets(details or {}),
    )


def record(action: str, **kwargs):
    """Write one audit event (keyword arguments as for ``event``). ``member`` ties it to a member's timeline."""
    entry = event(action, **kwargs)
    entry.save()
    return entry


def record_many(events: list) -> list:
    """Write events built with ``event`` in one statement (a batch of sends, say)."""
    from efnet.models import AuditEvent

    return AuditEvent.objects.bulk_create(events) if events else []
