"""Exports in the columns the import reads, so that exporting and importing the result changes nothing.

Members with their additional addresses and the current campaign's statuses, streamed chunk by chunk (constant
memory), scoped to what the user may see, without passwords. The error file of a preview is written here too.
A cell beginning with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading ``'`` so Excel shows it as text; the
import takes it off again. In CP932 a character the encoding cannot hold becomes 〓, which the import refuses
rather than store.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator

from efnet.scoping import members_visible_to
from imports.columns import COLUMNS, ERROR_HEADER, PASSWORD_KEY
from imports.models import ImportBatch, ImportRow
from mailaddresses.models import AdditionalMailAddress
from tracking.models import AccountStatus, Campaign

CHUNK = 1000
ENCODINGS = {"cp932": "cp932", "utf-8-sig": "utf-8"}
_RISKY = ("=", "+", "-", "@", "\t", "\r")


def guard(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_RISKY) else text


class _Encoder:
    """CSV text to bytes; in CP932 an unencodable character becomes 〓 (geta), counted."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        self.replaced = 0
        self.first = True

    def __call__(self, text: str) -> bytes:
        prefix = b""
        if self.first and self.encoding == "utf-8-sig":
            prefix = b"\xef\xbb\xbf"
        self.first = False
        if self.encoding != "cp932":
            return prefix + text.encode("utf-8")
        out = []
        for char in text:
            try:
                out.append(char.encode("cp932"))
            except UnicodeEncodeError:
                self.replaced += 1
                out.append("〓".encode("cp932"))
        return b"".join(out)


def export_columns(*, with_passwords: bool) -> list:
    return [c for c in COLUMNS if with_passwords or c.key != PASSWORD_KEY]


def member_rows(members, *, with_passwords: bool = False) -> Iterator[list[str]]:
    """One row per member (its primary account's status on it), then one per additional address."""
    campaign = Campaign.objects.filter(is_active=True).order_by("-started_on", "-id").first()
    keys = [c.key for c in export_columns(with_passwords=with_passwords)]
    last_id = 0
    base = members.select_related("office").order_by("id")
    while True:
        chunk = list(base.filter(id__gt=last_id)[:CHUNK])
        if not chunk:
            return
        last_id = chunk[-1].id
        ids = [m.id for m in chunk]
        addresses = defaultdict(list)
        for address in AdditionalMailAddress.objects.filter(member_id__in=ids).order_by("member_id", "slot"):
            addresses[address.member_id].append(address)
        statuses = {}
        if campaign is not None:
            for status in AccountStatus.objects.filter(campaign=campaign, member_id__in=ids):
                statuses[(status.member_id, status.address_id)] = status
        for member in sorted(chunk, key=lambda m: m.number):
            values = {
                "number": member.number,
                "name": member.name,
                "name_kana": member.name_kana,
                "postal_code": member.postal_code,
                "address": member.address,
                "phone": member.phone,
                "fax": member.fax,
                "office": member.office.name,
                "registered_on": member.registered_on.isoformat(),
                "biglobe_user_id": member.biglobe_user_id,
                "email": member.email,
                "note": member.note,
                **_status_values(statuses.get((member.id, None))),
            }
            if with_passwords:
                values[PASSWORD_KEY] = member.biglobe_password
            yield _row(values, keys)
            for address in addresses[member.id]:
                values = {
                    "number": member.number,
                    "extra_address": address.address,
                    "login_id": address.login_id,
                    "issued_on": address.issued_on.isoformat(),
                    **_status_values(statuses.get((member.id, address.id))),
                }
                if with_passwords:
                    values[PASSWORD_KEY] = address.password
                yield _row(values, keys)


def _row(values: dict, keys: list[str]) -> list[str]:
    return [guard(values.get(k, "")) for k in keys]


def _status_values(status) -> dict:
    if status is None:
        return {}
    return {
        "status": status.status,
        "status_on": status.status_on.isoformat() if status.status_on else "",
        "source": status.source,
        "status_note": status.note,
    }


def csv_stream(rows: Iterable[list[str]], *, headers: list[str], encoding: str) -> Iterator[bytes]:
    encoder = _Encoder(encoding)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % 500 == 0:
            yield encoder(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
    writer_tail = buffer.getvalue()
    if writer_tail:
        yield encoder(writer_tail)


def members_export(*, user, encoding: str = "cp932") -> Iterator[bytes]:
    """The members ``user`` may see, as CSV in the import's columns (no passwords)."""
    columns = export_columns(with_passwords=False)
    return csv_stream(member_rows(members_visible_to(user)), headers=[c.header for c in columns], encoding=encoding)


MEMBER_EXPORT_NAME = "efnet-members.csv"


def members_file(*, user, params: dict, fmt: str = "csv"):
    """The member export as an ``ExportFile`` (documents.exports): streamed by the request, or written by a
    worker beyond EXPORT_BACKGROUND_ROWS rows (members and their addresses), the same bytes either way."""
    from django.core.exceptions import PermissionDenied

    from documents.exports import ExportFile, counted
    from efnet.permissions import can_edit_members

    if not can_edit_members(user):
        raise PermissionDenied("会員データを出力する権限がありません。")
    encoding = params.get("encoding") if params.get("encoding") in ENCODINGS else "cp932"
    members = members_visible_to(user)
    rows = members.count() + AdditionalMailAddress.objects.filter(member__in=members).count()
    headers = [c.header for c in export_columns(with_passwords=False)]

    def produce(tick=None):
        return csv_stream(counted(member_rows(members), tick), headers=headers, encoding=encoding)

    content_type = f"text/csv; charset={'Shift_JIS' if encoding == 'cp932' else 'utf-8'}"
    return ExportFile(name=MEMBER_EXPORT_NAME, content_type=content_type, rows=rows, produce=produce)


def error_rows_csv(batch: ImportBatch) -> Iterator[bytes]:
    """The preview's error rows as CP932 CSV: the file's own columns (password cells left empty) after an
    error column, to fix in Excel and upload again."""
    headers = [ERROR_HEADER, *batch.headers]
    rows = batch.rows.filter(action=ImportRow.Action.ERROR).order_by("row_number", "id")

    def lines():
        for row in rows.iterator(2000):
            message = " / ".join(f"{row.row_number}行目 {column}: {text}" for column, text in row.errors)
            yield [guard(message), *[guard(c) for c in (row.raw or [])]]

    return csv_stream(lines(), headers=headers, encoding="cp932")
