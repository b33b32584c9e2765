"""Office scoping: the one place that decides which members a staff user may see.

A sales-office user sees the members of their own office; head office and admins see every office; anyone
else sees nothing. Another office's object is answered with 404 (not 403: it must not even be confirmed to
exist), and the attempt is written to the audit log.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet
from django.http import Http404

from efnet import audit


def office_filter_for(user) -> dict | None:
    """None: everything; {}: nothing; {"office_id": n}: one office."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    if user.office_id is not None:
        return {"office_id": user.office_id}
    if user.is_head_office:
        return None
    return {}


def visible_to(user, queryset: QuerySet, office_path: str = "office") -> QuerySet:
    """Narrow any queryset to what ``user`` may see; ``office_path`` leads from its model to SalesOffice."""
    rule = office_filter_for(user)
    if rule is None:
        return queryset
    if not rule:
        return queryset.none()
    key = f"{office_path}_id" if office_path else "id"
    return queryset.filter(**{key: rule["office_id"]})


def members_visible_to(user) -> QuerySet:
    from members.models import Member

    return visible_to(user, Member.objects.select_related("office"))


def offices_visible_to(user) -> QuerySet:
    from members.models import SalesOffice

    return visible_to(user, SalesOffice.objects.all(), office_path="")


def record_denied(user, hidden: Model, *, why: str, **details) -> None:
    """Audit a refused access to ``hidden`` (an object outside the user's scope) as ``access.denied``."""
    audit.record(
        "access.denied",
        actor=user,
        target=hidden,
        office=hidden if hidden._meta.label_lower == "members.salesoffice" else None,
        details={"model": hidden._meta.label_lower, "why": why, **details},
    )


def get_visible_or_404(
    user, queryset: QuerySet, office_path: str = "office", *, within: dict | None = None, **lookup
) -> Model:
    """Load one object through the scope; a stranger's object is a 404, and the attempt is audited.

    ``within`` narrows to a parent named in the URL (an address of *this* member): an object that exists
    but belongs elsewhere, even to a member the user may see, is refused and audited the same way."""
    narrowed = visible_to(user, queryset, office_path)
    if within:
        narrowed = narrowed.filter(**within)
    try:
        return narrowed.get(**lookup)
    except queryset.model.DoesNotExist:
        hidden = queryset.filter(**lookup).first()
        if hidden is not None:
            in_scope = visible_to(user, queryset, office_path).filter(pk=hidden.pk).exists()
            record_denied(
                user,
                hidden,
                why="other_parent" if in_scope else "other_office",
                lookup={k: str(v) for k, v in {**lookup, **(within or {})}.items()},
            )
        raise Http404("見つかりません") from None


def taken_message(label: str) -> str:
    """What anyone is told when a unique value is held by a row they may not see: not whose, nor where."""
    return f"この{label}は使用できません。本社にお問い合わせください。"


def refuse_if_taken(
    user, queryset: QuerySet, *, field: str, value, label: str, exclude_pk=None, office_path: str = "office", describe
) -> None:
    """Raise a ValidationError when another row of ``queryset`` holds ``value`` in its unique ``field``.

    Within the user's scope the message names the holder (``describe(row)``), which helps a clerk; outside
    it, the message is ``taken_message`` and the attempt is audited (``member.duplicate_refused``, with the
    field and the holder's office id only), so creating a member cannot be used to probe other offices."""
    from django.core.exceptions import ValidationError

    if value in (None, ""):
        return
    clash = queryset.filter(**{field: value}).exclude(pk=exclude_pk).first()
    if clash is None:
        return
    if visible_to(user, queryset, office_path).filter(pk=clash.pk).exists():
        raise ValidationError(f"この{label}は{describe(clash)}で使用されています。", code="unique")
    owner_office_id = queryset.filter(pk=clash.pk).values_list(f"{office_path}_id", flat=True).get()
    audit.record(
        "member.duplicate_refused",
        actor=user,
        office=getattr(user, "office", None),
        details={"field": field, "owner_office_id": owner_office_id},
    )
    raise ValidationError(taken_message(label), code="unique")
