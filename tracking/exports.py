"""Call lists: the filtered member list as CSV (CP932 or UTF-8 with BOM) or .xlsx. Never any password.

Data stays data. In .xlsx every cell is typed as text, which Excel and LibreOffice never evaluate, so values
are written exactly as stored (``+81-6-6942-4028`` stays that, with no apostrophe in front). A CSV cell has no
type: one a spreadsheet would read as a formula gets a leading apostrophe, so ``=HYPERLINK(...)`` in a company
name is shown as text and never run. That is every cell starting with = or @, a tab or a carriage return, and
one starting with + or - when what follows could be more than arithmetic on numbers (a function, a reference,
DDE such as ``-cmd|...``); a phone number (digits, spaces, hyphens, dots, brackets) or a lone "-" is left as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO

from django.utils import timezone

from efnet.formats import csv_date

# The columns of the member list on screen, in its order, then empty ones for the caller to fill in.
HEADERS = [
    "会員番号",
    "会社名",
    "フリガナ",
    "電話番号",
    "FAX番号",
    "担当営業所",
    "状態",
    "未完了アカウント",
    "最終案内日",
    "経過日数",
]
CALL_RESULT_HEADERS = ["架電日", "架電結果（電話済・不在・折返し待ち）", "メモ"]
HEADERS = [*HEADERS, *CALL_RESULT_HEADERS]
FORMULA_START = ("=", "@", "\t", "\r")
SIGN_START = ("+", "-")
# After a leading + or -: what a phone or plain number is made of. Anything else (a letter, a quote, "!", "|",
# "&", ":", "$", "=", ...) could make a formula call a function or reach another cell or program.
NUMBER_LIKE = re.compile(r"[\d\s\-.()]*")
CP932_SUBSTITUTE = "〓"  # the customary "could not print this character" mark, itself in CP932
CHUNK = 2000


def csv_cell(value) -> str:
    """A value for a CSV cell, with an apostrophe in front when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    if text.startswith(SIGN_START) and not NUMBER_LIKE.fullmatch(text, 1):
        return "'" + text
    return text


def xlsx_text(value) -> str:
    """A value for a text-typed .xlsx cell: as stored. The cell type, not a prefix, keeps it from running."""
    return "" if value is None else str(value)


def call_list_rows(states, *, campaign=None) -> Iterable[list[str]]:
    """Rows for a ``member_states`` queryset: one query, read in chunks (a server-side cursor on PostgreSQL),
    with the open accounts' labels stored on the progress row. Nothing is kept beyond a chunk."""
    columns = ("member__number", "member__name", "member__name_kana", "member__phone", "member__fax")
    rows = states.values_list(*columns, "office__name", "state", "pending_labels", "last_notice")
    today = timezone.localdate()
    blanks = [""] * len(CALL_RESULT_HEADERS)
    for *member, office, state, labels, last_notice in rows.iterator(chunk_size=CHUNK):
        if last_notice:
            last = csv_date(last_notice)
            waiting = str((today - timezone.localdate(last_notice)).days)
        else:
            last, waiting = "未案内", ""
        yield [*member, office, state, labels, last, waiting, *blanks]


def stream_csv(rows: Iterable[list[str]], *, encoding: str, lines_per_chunk: int = 500) -> Iterator[bytes]:
    """The call list as CSV byte chunks (``efnet.csvfiles.stream_csv`` with the call list's headers).

    CP932 cannot hold every character (e.g. 𠮷, emoji; ㈱ is fine): such a character becomes 〓 and a closing
    line says how many were replaced, so nothing is silently lost and the export never fails."""
    from efnet.csvfiles import stream_csv as stream  # efnet.csvfiles reads this module's cell rules

    return stream(
        rows,
        headers=HEADERS,
        encoding=encoding,
        lines_per_chunk=lines_per_chunk,
        replaced_hint="正しい表記はUTF-8版またはExcel版で確認してください。",
    )


def _cp932_safe(text: str) -> tuple[str, int]:
    try:
        text.encode("cp932")
        return text, 0
    except UnicodeEncodeError:
        out, n = [], 0
        for ch in text:
            try:
                ch.encode("cp932")
                out.append(ch)
            except UnicodeEncodeError:
                out.append(CP932_SUBSTITUTE)
                n += 1
        return "".join(out), n


def write_xlsx(rows: Iterable[list[str]], *, title: str, out: IO[bytes]) -> int:
    """The call list as .xlsx into ``out`` (a temporary file), in openpyxl's write-only mode: rows go to disk
    as they come, so memory stays flat whatever the size. Every cell is typed as text (data type "s", format
    "@"): a member number keeps its leading zeros and nothing is evaluated, so no cell needs an apostrophe.
    Returns the number of data rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("コールリスト")
    widths = (10, 34, 30, 15, 15, 12, 8, 22, 12, 8, 12, 30, 40)
    for column, width in zip("ABCDEFGHIJKLM", widths, strict=True):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)

    def text_cell(value, font=None):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        cell.number_format = "@"
        if font is not None:
            cell.font = font
        return cell

    ws.append([text_cell(h, bold) for h in HEADERS])
    count = 0
    for row in rows:
        ws.append([text_cell(xlsx_text(c)) for c in row])
        count += 1
    wb.properties.title = title
    wb.save(out)
    return count


def filename(campaign, office, fmt: str, now: datetime | None = None) -> str:
    now = timezone.localtime(now or timezone.now())
    where = office.code if office else "all"
    ext = "xlsx" if fmt == "xlsx" else "csv"
    return f"calllist_{where}_{now:%Y%m%d_%H%M}.{ext}"


# The call list's formats: (CSV encoding or None for .xlsx, content type).
FORMATS = {
    "csv": ("cp932", "text/csv; charset=Shift_JIS"),
    "csv-utf8": ("utf-8-sig", "text/csv; charset=utf-8"),
    "xlsx": (None, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def call_list_states(*, user, values: dict):
    """member_states rows for the list filters, longest-waiting first when listing the incomplete (the member
    list on screen and its export)."""
    from django.db.models import F

    from tracking import selectors
    from tracking.models import Status

    qs = selectors.member_states(user=user, campaign=values["campaign"], office=values["office"], text=values["q"])
    qs = selectors.filter_member_state(qs, values["status"])
    if values["status"] in (selectors.INCOMPLETE, Status.NOTIFIED, Status.NOT_NOTIFIED):
        return qs.order_by(F("last_notice").asc(nulls_last=True), "member__number")
    return qs.order_by("member__number")


def call_list_export(*, user, values: dict, fmt: str):
    """The call list of the filters ``values`` as an ``ExportFile`` (documents.exports): streamed by the request,
    or written by a worker beyond EXPORT_BACKGROUND_ROWS, the same bytes either way."""
    from documents.exports import ExportFile, counted, spooled_file

    campaign = values["campaign"]
    states = call_list_states(user=user, values=values)
    encoding, content_type = FORMATS[fmt]
    name = filename(campaign, values["office"], fmt)
    if fmt == "xlsx":
        title = f"{campaign.name} コールリスト"
        spool, produce = spooled_file(
            lambda out, tick: write_xlsx(counted(call_list_rows(states), tick), title=title, out=out)
        )
    else:
        spool = None

        def produce(tick=None):
            return stream_csv(counted(call_list_rows(states), tick), encoding=encoding)

    return ExportFile(name=name, content_type=content_type, rows=states.count(), produce=produce, spool=spool)


def call_list_params(values: dict) -> dict:
    """The filters as a background job keeps them (ids and strings)."""
    return {
        "campaign": values["campaign"].pk,
        "office": values["office"].pk if values["office"] else None,
        "status": values["status"],
        "q": values["q"],
    }


def call_list_file(*, user, params: dict, fmt: str):
    """The worker's side: the filters back from ``params``, for ``user`` (an office no longer theirs refuses)."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from efnet.scoping import offices_visible_to
    from tracking.models import Campaign

    campaign = Campaign.objects.filter(pk=params["campaign"]).first()
    if campaign is None or fmt not in FORMATS:
        raise ValidationError("キャンペーンが見つかりません。")
    office = None
    if params.get("office") is not None:
        office = offices_visible_to(user).filter(pk=params["office"]).first()
        if office is None:
            raise PermissionDenied("この営業所は出力できません。")
    values = {"campaign": campaign, "office": office, "status": params.get("status", ""), "q": params.get("q", "")}
    return call_list_export(user=user, values=values, fmt=fmt)
