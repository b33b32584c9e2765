"""The columns the import reads and the export writes, with the headers the office writes for them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as the export writes it
    aliases: tuple[str, ...] = ()


# Order = the export's column order. Member columns are read from rows without 追加メールアドレス; address columns
# (ID, 発行日, パスワード on such rows) from rows with one; the status columns from either (that row's account).
COLUMNS = (
    Column("number", "会員番号", ("会員no", "会員no.", "会員コード")),
    Column("name", "登録者名", ("会社名", "登録者", "氏名", "名称")),
    Column("name_kana", "フリガナ", ("ふりがな", "カナ", "登録者名カナ", "よみがな")),
    Column("postal_code", "郵便番号", ("〒",)),
    Column("address", "住所", ("登録者住所", "所在地")),
    Column("phone", "電話", ("電話番号", "tel")),
    Column("fax", "FAX", ("fax番号", "ファックス")),
    Column("office", "営業所", ("担当営業所", "営業所名", "営業所コード")),
    Column("registered_on", "会員登録日", ("登録日", "入会日")),
    Column("biglobe_user_id", "ユーザーID", ("biglobeid", "biglobeユーザーid", "ユーザid")),
    Column("password", "パスワード", ("pw", "パスワード(初期)")),
    Column("email", "メールアドレス", ("メール", "e-mail", "email")),
    Column("note", "メモ", ("備考",)),
    Column("extra_address", "追加メールアドレス", ("追加アドレス",)),
    Column("login_id", "ID", ("ログインid", "追加id")),
    Column("issued_on", "発行日", ("メールアドレス発行日",)),
    Column("status", "状態", ("状況", "変更状況")),
    Column("status_on", "確認日", ("完了日", "変更日")),
    Column("source", "確認方法", ("連絡方法",)),
    Column("status_note", "状態メモ", ("状況メモ",)),
)
BY_KEY = {c.key: c for c in COLUMNS}
MEMBER_KEYS = (
    "name",
    "name_kana",
    "postal_code",
    "address",
    "phone",
    "fax",
    "office",
    "registered_on",
    "biglobe_user_id",
    "email",
    "note",
)
ADDRESS_KEYS = ("login_id", "issued_on")
STATUS_KEYS = ("status", "status_on", "source", "status_note")
PASSWORD_KEY = "password"  # noqa: S105 (a column key, not a secret)


def header_key(header: str) -> str:
    """How headers are compared: NFKC, no spaces or brackets, lower case (ＦＡＸ番号 = fax番号)."""
    text = unicodedata.normalize("NFKC", str(header or "")).strip().lower()
    return re.sub(r"[\s　・_()（）\[\]【】]", "", text)


_KNOWN = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        _KNOWN[header_key(_name)] = _column.key


# The error file's own column: recognised, and never imported, when the fixed file comes back.
ERROR_HEADER = "エラー内容"
_KNOWN[header_key(ERROR_HEADER)] = ""


def recognise(header: str) -> str | None:
    """The field a header stands for, "" for a known column that is not imported, None when unknown."""
    return _KNOWN.get(header_key(header))


def field_choices() -> list[tuple[str, str]]:
    return [("", "（取り込まない）")] + [(c.key, c.header) for c in COLUMNS]
