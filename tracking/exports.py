"""Call lists: the filtered member list as CSV (CP932 or UTF-8 with BOM) or .xlsx. Never any password.

Cells that a spreadsheet would read as a formula (starting with = + - @, a tab or a carriage return) get a
leading apostrophe, so ``=HYPERLINK(...)`` in a company name is shown as text and never run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

HEADERS = ["会員番号", "会社名", "フリガナ", "電話番号", "FAX番号", "担当営業所", "未完了アカウント", "最終案内日"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CP932_SUBSTITUTE = "〓"  # the customary "could not print this character" mark, itself in CP932
CHUNK = 2000


def neutralise(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def call_list_rows(states, *, campaign) -> Iterable[list[str]]:
    """Rows for a ``member_states`` queryset, in chunks: two more queries a chunk, none per member."""
    from tracking.selectors import hydrate, pending_labels

    chunk: list = []

    def flush():
        members = hydrate(chunk)
        labels = pending_labels(member_ids=[m.pk for m in members], campaign=campaign)
        for m in members:
            last = timezone.localtime(m.last_notice).strftime("%Y/%m/%d") if m.last_notice else "未案内"
            yield [
                m.number,
                m.name,
                m.name_kana,
                m.phone,
                m.fax,
                m.office.name,
                "、".join(labels.get(m.pk, [])),
                last,
            ]

    for row in states.iterator(chunk_size=CHUNK):
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


def to_csv(rows: Iterable[list[str]], *, encoding: str) -> tuple[bytes, int, int]:
    """Returns (file bytes, data rows, characters replaced). ``encoding`` is "cp932" or "utf-8-sig".

    CP932 cannot hold every character (e.g. 髙 in some forms, emoji, ㈱ is fine): such a character becomes 〓
    and a closing line says how many were replaced, so nothing is silently lost and the export never fails.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    count = replaced = 0
    for row in rows:
        cells = [neutralise(c) for c in row]
        if encoding == "cp932":
            fixed = []
            for cell in cells:
                safe, n = _cp932_safe(cell)
                fixed.append(safe)
                replaced += n
            cells = fixed
        writer.writerow(cells)
        count += 1
    if replaced:
        writer.writerow(
            [
                f"※ Shift_JIS（CP932）で表せない文字{replaced}字を「{CP932_SUBSTITUTE}」に置き換えました。"
                "正しい表記はUTF-8版またはExcel版で確認してください。"
            ]
        )
    return buffer.getvalue().encode(encoding), count, replaced


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


def to_xlsx(rows: Iterable[list[str]], *, title: str) -> tuple[bytes, int]:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = "コールリスト"
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    count = 0
    for row in rows:
        ws.append([neutralise(c) for c in row])
        count += 1
    for column, width in zip("ABCDEFGH", (10, 34, 30, 15, 15, 12, 22, 12), strict=True):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = "A2"
    # Every cell is text: a member number keeps its leading zeros, and nothing is evaluated.
    for line in ws.iter_rows(min_row=2):
        for cell in line:
            cell.data_type = "s"
            cell.number_format = "@"
    wb.properties.title = title
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), count


def filename(campaign, office, fmt: str, now: datetime | None = None) -> str:
    now = timezone.localtime(now or timezone.now())
    where = office.code if office else "all"
    ext = "xlsx" if fmt == "xlsx" else "csv"
    return f"calllist_{where}_{now:%Y%m%d_%H%M}.{ext}"
