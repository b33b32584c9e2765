"""Everything that happened to a member, newest first: audit events tied to the member plus the status history
(which also holds refused attempts, not in the audit log)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.formats import date_format

from tracking.models import StatusChange

# Where a member page words an action differently from the audit log (efnet.audit_labels, which names every
# other action): on a member's page the refused access is always another office's.
ACTION_LABELS = {"access.denied": "他営業所からのアクセスを拒否"}
# Who did it, when no staff user did: the member through their link (本人), or the portal itself (notices,
# imports, the worker). One wording for both kinds of entry.
SYSTEM_ACTOR = "システム"
# Covered by the StatusChange rows, which say more.
SKIP_ACTIONS = {"tracking.status.changed", "tracking.status.refused_stale"}


@dataclass
class Entry:
    at: datetime
    kind: str  # "status" | "event"
    title: str
    detail: str
    actor: str
    css: str = ""
    url: str = ""  # evidence to open (the received FAX page), when there is one


def _label(action: str) -> str:
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    from efnet.audit_labels import describe

    return describe(action)


def _detail(details: dict) -> str:
    keep = []
    for key in (
        "result",
        "called_on",
        "note",
        "reason",
        "serial",
        "edition",
        "channel",
        "account",
        "accounts",
        "campaign",
        "error",
    ):
        value = details.get(key)
        if value not in (None, "", [], {}):
            if isinstance(value, list):
                value = "、".join(str(v) for v in value)
            keep.append(str(value))
    return " / ".join(keep)[:200]


def _evidence_url(event) -> str:
    if event.action == "faxreplies.page.confirmed" and event.target_id:
        from django.urls import reverse

        return reverse("faxreplies:page_image", args=[event.target_id])
    return ""


def member_timeline(member, *, limit: int = 100) -> list[Entry]:
    from efnet.models import AuditEvent

    entries: list[Entry] = []
    events = AuditEvent.objects.filter(member_id=member.pk).exclude(action__in=SKIP_ACTIONS).order_by("-created_at")
    for e in events[:limit]:
        entries.append(
            Entry(
                at=e.created_at,
                kind="event",
                title=_label(e.action),
                detail=" / ".join(
                    p for p in (e.target_repr if e.action.startswith("notice.") else "", _detail(e.details or {})) if p
                ),
                actor=e.actor_name or ("本人" if e.action.startswith("tracking.selfreport.") else SYSTEM_ACTOR),
                css="ev-" + e.action.split(".")[0],
                url=_evidence_url(e),
            )
        )
    changes = (
        StatusChange.objects.filter(account_status__member=member)
        .select_related("account_status__address", "account_status__campaign", "recorded_by")
        .order_by("-created_at")[:limit]
    )
    for c in changes:
        label = c.account_status.account_label
        title = f"{label}：{c.from_status} → {c.to_status}"
        if not c.applied:
            title += "（他の変更と重なったため未反映）"
        parts = [c.source or "", date_format(c.status_on, "SHORT_DATE_FORMAT") if c.status_on else "", c.note]
        entries.append(
            Entry(
                at=c.created_at,
                kind="status",
                title=title,
                detail=" / ".join(p for p in parts if p),
                actor=c.recorded_by.username if c.recorded_by else ("本人" if c.source == "本人報告" else SYSTEM_ACTOR),
                css="refused" if not c.applied else "",
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
