"""What the audit log's codes and details mean, in Japanese, for the audit log page, its CSV and the timeline.

Every code the application emits has a description here; tests/efnet/test_audit_labels.py reads the source for
``audit.record("…")``/``audit.event("…")`` calls and fails on a code without one. The details are shown as
「項目: 値」 pairs: known keys get a Japanese label, known codes among the values (why a request was refused,
a file format, a channel) a Japanese word; anything else is shown as stored, never as a Python repr. The
details are masked when written (efnet.audit.mask_secrets), so nothing here can show a secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# The kinds of event, for the 種類 filter: the code's first segment.
CATEGORIES = {
    "auth": "ログイン・認証",
    "access": "アクセス拒否",
    "member": "会員",
    "tracking": "変更状況・架電",
    "documents": "書類の一括作成",
    "notice": "案内",
    "faxreplies": "FAX返信",
    "import": "取込・書き出し",
    "audit": "監査ログ",
}

EVENTS = {
    "auth.login": "ログイン",
    "auth.logout": "ログアウト",
    "auth.login_failed": "ログイン失敗",
    "auth.locked_out": "ログイン失敗が続いたためロック",
    "auth.otp_failed": "ワンタイムコードの誤り",
    "auth.otp_reset": "二要素認証をリセット",
    "auth.password_changed": "自分のパスワードを変更",
    "auth.reauth_failed": "パスワード再確認の失敗",
    "auth.session_expired": "ログインの有効期限切れ",
    "access.denied": "アクセスを拒否",
    "member.created": "会員を登録",
    "member.updated": "会員情報を変更",
    "member.duplicate_refused": "他営業所の会員と重複する登録を拒否",
    "member.password.revealed": "パスワードを表示",
    "member.password.reset": "パスワードを再設定",
    "member.address.added": "追加メールアドレスを登録",
    "member.address.updated": "追加メールアドレスを変更",
    "member.card.issued": "会員証を発行",
    "member.address_list.issued": "追加メールアドレスリストを発行",
    "member.credentials.exported": "パスワード付きの会員一覧を書き出し",
    "member.note.added": "メモを追加",
    "tracking.status.changed": "変更状況を記録",
    "tracking.status.refused_stale": "古い画面からの状況記録を拒否",
    "tracking.status.bulk": "変更状況を一括記録",
    "tracking.accounts.notified": "案内により状況を更新",
    "tracking.campaign.enrolled": "キャンペーンに会員を登録",
    "tracking.selfreport.link_created": "本人報告リンクを作成",
    "tracking.selfreport.submitted": "本人報告リンクから報告",
    "tracking.call.recorded": "架電結果を記録",
    "tracking.calllist.exported": "コールリストを書き出し",
    "documents.batch.requested": "書類の一括作成を依頼",
    "documents.batch.completed": "書類の一括作成が完了",
    "documents.batch.cancelled": "書類の一括作成を取り消し",
    "documents.batch.abandoned": "応答のない一括作成を打ち切り",
    "documents.batch.downloaded": "一括作成した書類をダウンロード",
    "documents.export.completed": "大きな出力ファイルの作成が完了",
    "documents.export.cancelled": "大きな出力ファイルの作成を取り消し",
    "documents.export.downloaded": "作成した出力ファイルをダウンロード",
    "documents.export.abandoned": "応答のない出力ファイルの作成を打ち切り",
    "notice.created": "案内を作成",
    "notice.updated": "案内を変更",
    "notice.approval_requested": "案内の承認を依頼",
    "notice.approval_request.mailed": "承認依頼のメールを他の管理者に送信",
    "notice.approved": "案内を承認",
    "notice.cancelled": "案内の送付を中止",
    "notice.sending.started": "案内の送付を開始",
    "notice.sending.paused": "案内の送付を一時停止",
    "notice.sending.resumed": "案内の送付を再開",
    "notice.sent": "案内の送付が完了",
    "notice.test_sent": "案内をテスト送信",
    "notice.delivery.sent": "案内を送付",
    "notice.delivery.failed": "案内の送付に失敗",
    "notice.delivery.unknown": "案内の送付結果が不明",
    "notice.delivery.unknown_resolved": "送付結果不明の案内を処理",
    "notice.delivery.retried": "案内を再送",
    "notice.bundle.requested": "印刷用の案内一式を依頼",
    "notice.bundle.printed": "案内を印刷（FAX・郵送）",
    "faxreplies.import.uploaded": "FAX返信をアップロード",
    "faxreplies.page.matched": "FAX返信のページを会員番号で照合",
    "faxreplies.page.confirmed": "FAX返信を取り込み（完了を記録）",
    "faxreplies.page.dismissed": "FAX返信のページを対象外に",
    "import.uploaded": "取込ファイルをアップロード",
    "import.preview_requested": "取込の確認を開始",
    "import.previewed": "取込の確認が完了",
    "import.apply_started": "取込の反映を開始",
    "import.applied": "取込を反映",
    "import.cancel_requested": "取込の中止を依頼",
    "import.cancelled": "取込を中止",
    "import.failed": "取込に失敗",
    "import.resumed": "中断した取込を再開",
    "import.file_expired": "期限切れの取込ファイルを削除",
    "import.undo_refused": "取込の取り消しを拒否",
    "import.undone": "取込を取り消し",
    "import.errors_downloaded": "取込エラーの一覧をダウンロード",
    "import.members_exported": "会員一覧を書き出し",
    "audit.exported": "監査ログを書き出し",
}

DETAIL_LABELS = {
    "account": "アカウント",
    "accounts": "アカウント",
    "address": "メールアドレス",
    "addresses": "追加メールアドレス",
    "applied": "反映",
    "approval_withdrawn": "承認を取り消した",
    "asked": "記録しようとした状況",
    "at": "日時",
    "blockers": "取り消せない理由",
    "bulk": "一括",
    "called_on": "架電日",
    "campaign": "キャンペーン",
    "cancelled_deliveries": "中止した送付",
    "cards": "会員証",
    "changed": "変更",
    "channel": "送付方法",
    "count": "件数",
    "counts": "件数",
    "created": "登録数",
    "decision": "処理",
    "deliveries": "送付先",
    "detected": "判定した文字コード",
    "devices_removed": "削除した認証アプリ",
    "done": "完了数",
    "edition": "版",
    "encoding": "文字コード",
    "error": "エラー",
    "errors_skipped": "エラーで飛ばした行",
    "fax_import": "FAX取込",
    "field": "項目",
    "file": "ファイル",
    "filters": "絞り込み",
    "format": "形式",
    "from": "変更前",
    "heartbeat_at": "最後の応答",
    "highlight_date": "強調する日付",
    "invalid": "無効",
    "job": "処理番号",
    "kind": "種類",
    "left_out": "除外",
    "locked": "ロック",
    "lookup": "指定した値",
    "mapped": "列の対応",
    "members": "会員",
    "message_id": "メッセージID",
    "method": "方式",
    "model": "対象",
    "moved_to_notified": "案内済みにした",
    "no_card_since": "会員証の発行がない期間の起点",
    "note": "メモ",
    "notice": "案内",
    "number": "会員番号",
    "office": "営業所",
    "office_id": "営業所番号",
    "on": "日付",
    "open_accounts": "未完了のアカウント",
    "owner_office_id": "登録先の営業所番号",
    "page": "ページ",
    "pages": "ページ数",
    "path": "画面",
    "q": "検索語",
    "reason": "理由",
    "refused": "拒否",
    "result": "結果",
    "reveal": "パスワードを含む",
    "rows": "行数",
    "sample_member": "見本の会員",
    "seen": "画面を開いた時点",
    "serial": "通し番号",
    "skipped": "飛ばした数",
    "slot": "番号",
    "source": "情報源",
    "stale": "古い画面から",
    "started": "開始",
    "status": "状況",
    "step": "段階",
    "supersedes": "置き換えた番号",
    "title": "件名",
    "to": "変更後",
    "total": "全体",
    "unchanged": "変更なし",
    "username": "ユーザー名",
    "why": "理由",
    # imports' counts
    "member": "会員",
    "new": "新規",
    "update": "更新",
    "error_rows": "エラー",
    "statuses": "状況",
    "since": "開始日",
    "until": "終了日",
    "actor": "操作者",
    "action": "種類",
    "bytes": "サイズ（バイト）",
    "recipients": "宛先数",
    "background_job": "作成処理の番号",
}

# Keys whose meaning depends on the event.
ACTION_DETAIL_LABELS = {
    "access.denied": {"status": "応答コード", "method": "要求の種類", "path": "アドレス"},
}

# Codes that appear as values (why a request was refused, a format, a channel, a decision…).
VALUE_LABELS = {
    "permission_denied": "権限がない",
    "member_editor_required": "会員を変更する権限がない",
    "reveal_permission_required": "パスワードを表示する権限がない",
    "head_office_required": "本社の権限がない",
    "admin_required": "管理者の権限がない",
    "other_office": "他営業所のデータ",
    "other_parent": "別の会員のデータ",
    "office_not_visible": "選べない営業所",
    "not_owner": "依頼した本人ではない",
    "fax_reply_of_another_office": "他営業所のFAX返信",
    "csv": "CSV（Shift_JIS）",
    "csv-utf8": "CSV（UTF-8）",
    "xlsx": "Excel",
    "pdf": "PDF",
    "cp932": "Shift_JIS（CP932）",
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8（BOM付き）",
    "email": "メール",
    "print": "印刷",
    "fax": "FAX",
    "resend": "再送する",
    "sent": "送付済みとする",
    "mark_sent": "送付済みとする",
    "cards": "会員証",
    "address_lists": "追加メールアドレスリスト",
    "preview": "確認",
    "confirm": "反映の確認",
    "applying": "反映中",
    "previewing": "確認中",
    "GET": "表示",
    "POST": "送信",
    "members.member": "会員",
    "members.salesoffice": "営業所",
    "mailaddresses.additionalmailaddress": "追加メールアドレス",
    "tracking.accountstatus": "変更状況",
    "documents.batchjob": "書類の一括作成",
    "documents.exportjob": "出力ファイルの作成",
    "faxreplies.faxpage": "FAX返信のページ",
    "notices.notice": "案内",
    "notices.delivery": "案内の送付",
    "imports.importbatch": "取込",
}


def describe(action: str) -> str:
    """The event's description; an unknown code (from an older version, say) is shown with its kind."""
    if action in EVENTS:
        return EVENTS[action]
    category = CATEGORIES.get(action.split(".", 1)[0])
    return f"{category}（その他の操作）" if category else "その他の操作"


def event_choices() -> list:
    """The events grouped by kind, for a select's optgroups."""
    return [
        (label, [(code, text) for code, text in EVENTS.items() if code.split(".")[0] == prefix])
        for prefix, label in CATEGORIES.items()
    ]


def category_of(action: str) -> str:
    return CATEGORIES.get(action.split(".", 1)[0], "その他")


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, dict):
        return "、".join(f"{label}: {text}" for label, text in detail_pairs(value))
    if isinstance(value, (list, tuple)):
        return "、".join(_value(v) for v in value)
    text = str(value)
    return VALUE_LABELS.get(text, text)


def _changed(changed: dict, action: str) -> str:
    """``{"field": [before, after]}`` as 「項目: 前 → 後」, the field by its name on the form."""
    model = _changed_model(action)
    parts = []
    for field, pair in changed.items():
        label = _field_label(model, str(field))
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            parts.append(f"{label}: {_value(pair[0])} → {_value(pair[1])}")
        else:
            parts.append(f"{label}: {_value(pair)}")
    return "、".join(parts)


def _counts(counts: dict) -> str:
    """An import's counts: rows, errors, and per kind (会員・追加メールアドレス・状態) per action."""
    from imports.models import ImportRow

    kinds, actions = dict(ImportRow.Kind.choices), dict(ImportRow.Action.choices)
    parts = []
    for key, value in counts.items():
        if isinstance(value, dict):
            inner = "・".join(f"{actions.get(k, DETAIL_LABELS.get(k, k))}{v}" for k, v in value.items())
            parts.append(f"{kinds.get(key, DETAIL_LABELS.get(key, key))}（{inner}）")
        else:
            label = {"rows": "行数", "error": "エラー", "members": "会員", "addresses": "追加メールアドレス"}.get(key)
            parts.append(f"{label or DETAIL_LABELS.get(key, key)}: {_value(value)}")
    return "、".join(parts)


def detail_pairs(details: dict | None, action: str = "") -> Iterator[tuple[str, str]]:
    """(label, value) for each detail, in stored order: 「項目: 値」 text, never a Python repr."""
    labels = {**DETAIL_LABELS, **ACTION_DETAIL_LABELS.get(action, {})}
    for key, value in (details or {}).items():
        key = str(key)
        label = labels.get(key, key)
        if key == "changed" and isinstance(value, dict):
            yield label, _changed(value, action)
        elif key == "counts" and isinstance(value, dict):
            yield label, _counts(value)
        elif key == "mapped" and isinstance(value, (list, dict)):
            yield label, "、".join(f"{h} → {f}" for h, f in value.items()) if isinstance(value, dict) else _value(value)
        else:
            yield label, _value(value)


def _changed_model(action: str):
    from mailaddresses.models import AdditionalMailAddress
    from members.models import Member

    return AdditionalMailAddress if action.startswith("member.address.") else Member


def _field_label(model, key: str) -> str:
    from django.core.exceptions import FieldDoesNotExist

    try:
        return str(model._meta.get_field(key).verbose_name)
    except FieldDoesNotExist:
        return DETAIL_LABELS.get(key, key)


def details_text(details: dict | None, action: str = "") -> str:
    """The details on one line, for the CSV."""
    return " / ".join(f"{label}: {value}" for label, value in detail_pairs(details, action))
