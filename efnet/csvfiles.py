"""CSV files written as the rows are read: Shift_JIS (CP932, what Excel in Japan opens) or UTF-8 with a BOM.

The formula guard is the call list's (tracking.exports.csv_cell): a cell a spreadsheet would run gets a
leading apostrophe. A character CP932 cannot hold becomes 〓 and a closing line says how many were replaced."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator

from tracking.exports import CP932_SUBSTITUTE, _cp932_safe, csv_cell


def stream_csv(
    rows: Iterable[list], *, headers: list[str], encoding: str, lines_per_chunk: int = 500, replaced_hint: str = ""
) -> Iterator[bytes]:
    """The CSV file as byte chunks of a few hundred lines. ``encoding`` is "cp932" or "utf-8-sig";
    ``replaced_hint`` follows the closing line about replaced characters (where to read them as written)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if encoding == "utf-8-sig":
        yield codecs.BOM_UTF8
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    writer.writerow(headers)
    replaced = 0
    for lines, row in enumerate(rows, start=1):
        cells = [csv_cell(c) for c in row]
        if codec == "cp932":
            cells = [_cp932_safe(c) for c in cells]
            replaced += sum(n for _, n in cells)
            cells = [c for c, _ in cells]
        writer.writerow(cells)
        if lines % lines_per_chunk == 0:
            yield buffer.getvalue().encode(codec)
            buffer.seek(0)
            buffer.truncate()
    if replaced:
        writer.writerow(
            [f"※ Shift_JIS（CP932）で表せない文字{replaced}字を「{CP932_SUBSTITUTE}」に置き換えました。{replaced_hint}"]
        )
    yield buffer.getvalue().encode(codec)
