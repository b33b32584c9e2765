"""Everything that happened to a member, newest first: audit events tied to the member plus the status history
(which also holds refused attempts, not in the audit log)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.formats import date_format

from tracking.models import StatusChange

# Plain words for the audit actions a member page shows; others take the audit log's (efnet.audit_labels).
ACTION_LABELS = {
    "member.created": "会員を登録",
    "member.updated": "会員情報を変更",
    "member.password.revealed": "パスワードを表示",
    "member.password.reset": "パスワードを再設定",
    "member.address.added": "追加メールアドレスを登録",
    "member.address.updated": "追加メールアドレスを変更",
    "member.card.issued": "会員証を発行",
    "member.address_list.issued": "追加メールアドレスリストを発行",
    "member.note.added": "メモを追加",
    "notice.delivery.sent": "案内を送付",
    "notice.delivery.failed": "案内の送付に失敗",
    "notice.delivery.unknown": "案内の送付結果が不明",
    "notice.delivery.retried": "案内を再送",
    "notice.delivery.unknown_resolved": "送付結果不明の案内を処理",
    "notice.bundle.printed": "案内を印刷（FAX・郵送）",
    "tracking.accounts.notified": "案内により状況を更新",
    "tracking.selfreport.submitted": "本人報告リンクから報告",
    "tracking.selfreport.link_created": "本人報告リンクを作成",
    "tracking.call.recorded": "架電結果を記録",
    "access.denied": "他営業所からのアクセスを拒否",
    "faxreplies.page.confirmed": "FAX返信を取り込み（完了を記録）",
    "faxreplies.page.matched": "FAX返信のページを会員番号で照合",
}
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
