"""The sandboxed language of notice bodies.

Authors write plain text with merge fields ``{{ 会社名 }}`` and simple conditions
``{% if 完了 %} … {% else %} … {% endif %}`` (``{% if not 完了 %}`` too). That is the whole language: a name
is looked up in a dict of plain strings and booleans built for one member, never on an object, so nothing in
a body can reach the database, settings or attributes. Anything else is refused with an error that names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Merge fields (text) and conditions (yes/no) an author may use, with the help text shown on the edit page.
FIELDS: dict[str, str] = {
    "会社名": "会員の登録者名（会社名）",
    "会員番号": "会員番号",
    "営業所名": "担当営業所の名前",
    "営業所電話": "担当営業所の電話番号",
    "未完了アカウント": "まだ変更が済んでいないアカウントの一覧（1行に1つ）",
    "本人報告URL": "会員が変更済みを報告するリンク",
    "営業所電話一覧": "全営業所の電話番号の表",
    "日付": "案内の日付行（令和8年6月吉日など）",
    "第N報": "第2報など",
    "宛名": "会社名に「御中」（会社・団体）または「様」を付けたもの",
}
CONDITIONS: dict[str, str] = {
    "完了": "すべてのアカウントの変更が済んでいる会員",
    "未完了": "まだ変更が済んでいないアカウントがある会員",
    "追加メールアドレスあり": "追加メールアドレスを持っている会員",
    "メール": "この案内をメールで受け取る会員（そうでなければFAX・印刷）",
    "前回が本日": "この案内と同じ日付の日に、前の報を受け取った会員（「本日…ご案内差し上げましたが」）",
    "前回がメール": "前の報をメールで受け取った会員（記録がなければ偽: 第1報はFAXで送られた）",
}

TOKEN = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})", re.DOTALL)
NAME = re.compile(r"^[^\s{}%.\[\]()'\"|:]+$")


class NoticeTemplateError(ValueError):
    """The body uses something outside the notice language; the message says what, in Japanese."""


@dataclass
class _Text:
    text: str


@dataclass
class _Field:
    name: str


@dataclass
class _If:
    name: str
    negate: bool
    then: list
    otherwise: list


def _check_name(name: str, allowed: dict[str, str], what: str) -> str:
    if not NAME.match(name) or name not in allowed:
        raise NoticeTemplateError(f"使えない{what}です: 「{name}」。使えるもの: {'、'.join(allowed)}")
    return name


def parse(source: str) -> list:
    """Parse a body into nodes, raising NoticeTemplateError for anything outside the language."""
    root: list = []
    stack: list[tuple[_If | None, list]] = [(None, root)]
    for piece in TOKEN.split(source):
        if not piece:
            continue
        current = stack[-1][1]
        if piece.startswith("{{"):
            current.append(_Field(_check_name(piece[2:-2].strip(), FIELDS, "差し込み項目")))
        elif piece.startswith("{%"):
            words = piece[2:-2].split()
            if len(words) in (2, 3) and words[0] == "if" and (len(words) == 2 or words[1] == "not"):
                node = _If(_check_name(words[-1], CONDITIONS, "条件"), len(words) == 3, [], [])
                current.append(node)
                stack.append((node, node.then))
            elif words == ["else"] and stack[-1][0] is not None and current is stack[-1][0].then:
                stack[-1] = (stack[-1][0], stack[-1][0].otherwise)
            elif words == ["endif"] and stack[-1][0] is not None:
                stack.pop()
            else:
                raise NoticeTemplateError(
                    f"使えない命令です: 「{piece}」。使えるのは {{% if 条件 %}}・{{% else %}}・{{% endif %}} だけです。"
                )
        else:
            if "{{" in piece or "{%" in piece:
                raise NoticeTemplateError("閉じていない {{ または {% があります。")
            current.append(_Text(piece))
    if len(stack) != 1:
        raise NoticeTemplateError("{% if %} に対応する {% endif %} がありません。")
    return root


def _render(nodes: list, context: dict) -> str:
    out = []
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Field):
            value = context.get(node.name, "")
            out.append(value if isinstance(value, str) else "")
        else:
            flag = bool(context.get(node.name)) is not node.negate
            out.append(_render(node.then if flag else node.otherwise, context))
    return "".join(out)


def render(source: str, context: dict[str, str | bool]) -> str:
    """Render ``source`` for one member. ``context`` holds only plain strings and booleans."""
    for key, value in context.items():
        if not isinstance(value, (str, bool)):
            raise TypeError(f"notice context {key!r} must be a str or bool, not {type(value).__name__}")
    text = _render(parse(source), context)
    # A condition on its own line leaves an empty line behind; keep at most one blank line in a row.
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
