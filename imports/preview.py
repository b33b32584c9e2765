"""Building a batch's preview: read the stored file, normalise every row, compare it with the database, and
write what applying would do as ImportRow records (new / update field by field / error; unchanged rows are
only counted). Nothing outside the batch's own rows is written here.

The file is read twice, streamed: first the member rows (rows without 追加メールアドレス), then the address rows,
so an address row already knows whether its member is in the database, new in this file, or in error.
Database lookups go per chunk of rows (a few queries per chunk, never one per row).
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import threading
import uuid
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connections
from django.utils import timezone

from efnet import crypto, normalize
from efnet.bulk import BATCH, any_of, copy_rows
from efnet.fields import Sealed
from efnet.pdf import UnprintableCharacterError, check_printable
from imports import parsing, storage
from imports.columns import ADDRESS_KEYS, BY_KEY, MEMBER_KEYS, PASSWORD_KEY, STATUS_KEYS, header_key
from imports.models import ImportBatch, ImportRow
from mailaddresses.models import AdditionalMailAddress
from members.models import Member, SalesOffice
from tracking.models import AccountStatus, Source, Status

MEMBER_SNAPSHOT = ("id", "uuid", "number", *[k for k in MEMBER_KEYS if k != "office"], "office_id")
MEMBER_SNAPSHOT += ("biglobe_password", "updated_at")
ADDRESS_SNAPSHOT = ("id", "uuid", "address", "member_id", "member__number", "login_id", "issued_on", "password")
ADDRESS_SNAPSHOT += ("updated_at",)
STATUS_SNAPSHOT = ("id", "member_id", "address_id", "status", "status_on", "source", "note", "recorded_by_id")
STATUS_SNAPSHOT += ("version", "updated_at")
REQUIRED_FOR_NEW_MEMBER = ("name", "name_kana", "office", "registered_on", "biglobe_user_id", PASSWORD_KEY)
REQUIRED_FOR_NEW_ADDRESS = ("login_id", "issued_on", PASSWORD_KEY)
MAX_LENGTHS = {"name": 100, "name_kana": 200, "postal_code": 8, "address": 200, "phone": 20, "fax": 20}
MAX_LENGTHS |= {"biglobe_user_id": 64, "email": 254, "extra_address": 254, "login_id": 64, "status_note": 500}
PRINTED = {"name": "登録者名", "address": "住所", "name_kana": "フリガナ"}
SOURCE_BY_LABEL = {parsing.text(label): value for value, label in Source.choices} | {
    parsing.text(value): value for value in Source.values
}
_email = EmailValidator()
_EMAIL_USER = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
_EMAIL_DOMAIN = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)
STATUS_VALUES = frozenset(Status.values)
SECRET_HEADER = re.compile(r"pass|secret|pw|key|token|パスワード|暗証")


class Cancelled(Exception):
    pass


class Row(NamedTuple):
    """One ImportRow as the database gets it, in the order of the COPY below (the table's ``id`` is left to
    its identity default). JSON columns are already JSON text (or None), the password already sealed: a
    hundred thousand model instances (``__init__``, every field's ``pre_save`` and preparation) were
    about two fifths of the preview's time."""

    uuid: str
    batch_id: int
    row_number: int
    kind: str
    action: str
    state: str
    member_number: str
    address: str
    target_id: int | None
    values: str
    before: str | None
    after: str | None
    changes: str
    errors: str
    raw: str | None
    password: str
    refusal: str


# What _status_row answers for a status the file gives as the account already has it (counted, not written).
UNCHANGED_STATUS = Row._make([None] * len(Row._fields))._replace(action=ImportRow.Action.UNCHANGED)
JSON_COLUMNS = frozenset(f.column for f in ImportRow._meta.concrete_fields if f.get_internal_type() == "JSONField")
# The associated data ImportRow.password is sealed with (efnet.fields): table, column, row UUID.
PASSWORD_AAD = f"{ImportRow._meta.db_table}.{ImportRow._meta.get_field('password').column}."


# json.dumps(value, ensure_ascii=False), without making a new encoder for every value as json.dumps does.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def dump(value) -> str | None:
    return None if value is None else _to_json(value)


def write_rows(rows: Sequence[Row]) -> None:
    """Insert the rows: one COPY on PostgreSQL; elsewhere (SQLite in development and tests) through the ORM,
    their JSON decoded again and their sealed password kept as it is."""
    if not rows:
        return
    connection = connections[ImportRow.objects.db]
    if connection.vendor != "postgresql":
        ImportRow.objects.bulk_create(
            [
                ImportRow(
                    **{
                        name: json.loads(value) if name in JSON_COLUMNS and value is not None else value
                        for name, value in row._asdict().items()
                    }
                    | {"password": Sealed(row.password) if row.password else ""}
                )
                for row in rows
            ],
            batch_size=BATCH,
        )
        return
    with connection.cursor() as cursor:
        copy_rows(cursor, ImportRow._meta.db_table, Row._fields, rows)


class RowWriter:
    """Writes the preview's rows. On PostgreSQL (with ``IMPORTS_THREADS`` above 1) in a thread with its own
    connection, one chunk behind the reading: a chunk's COPY runs in the database while the next chunk is read
    and checked here (they took turns, one core idle). Elsewhere at once. ``close`` waits for the last chunk
    and raises what writing raised."""

    def __init__(self):
        vendor = connections[ImportRow.objects.db].vendor
        self.threaded = vendor == "postgresql" and getattr(settings, "IMPORTS_THREADS", 1) > 1
        self.failure: BaseException | None = None
        if self.threaded:
            self.queue: queue.Queue = queue.Queue(maxsize=1)
            self.thread = threading.Thread(target=self._run, name="import-preview-writer")
            self.thread.start()

    def write(self, rows: Sequence[Row]) -> None:
        if not self.threaded:
            write_rows(rows)
            return
        if self.failure is not None:
            raise self.failure
        self.queue.put(rows)

    def close(self) -> None:
        if self.threaded:
            self.queue.put(None)
            self.thread.join()
            if self.failure is not None:
                raise self.failure

    def _run(self) -> None:
        try:
            while (rows := self.queue.get()) is not None:
                if self.failure is None:  # after a failure, only drain: the reader must never block on put
                    try:
                        write_rows(rows)
                    except BaseException as exc:  # noqa: BLE001 - raised in the reading thread by write/close
                        self.failure = exc
        finally:
            connections[ImportRow.objects.db].close()  # this thread's own connection


def chunk_size() -> int:
    return getattr(settings, "IMPORTS_CHUNK_SIZE", 5000)


def jsonable(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, (int, float, bool)):
        return value
    return str(value)


def snapshot(row: dict) -> dict:
    return {k: jsonable(v) for k, v in row.items()}


def stored_password(model, field: str, row_uuid, raw) -> str:
    if not raw:
        return ""
    column = model._meta.get_field(field).column
    return crypto.decrypt(str(raw), aad=f"{model._meta.db_table}.{column}.{row_uuid}")


def iter_file_rows(batch: ImportBatch) -> Iterator[tuple[int, list]]:
    """(row number as Excel shows it, cells) for every non-empty data row."""
    if batch.file_format == "xlsx":
        rows = parsing.iter_xlsx(storage.read_all(batch))
    else:
        rows = parsing.iter_csv(storage.read(batch), encoding=batch.encoding)
    for number, row in enumerate(rows, start=1):
        if number == 1:
            continue
        if all(parsing.raw_text(cell).strip() == "" for cell in row):
            continue
        yield number, row


def read_headers(batch: ImportBatch) -> list[str]:
    if batch.file_format == "xlsx":
        rows = parsing.iter_xlsx(storage.read_all(batch))
    else:
        rows = parsing.iter_csv(storage.read(batch), encoding=batch.encoding)
    first = next(iter(rows), None)
    if not first:
        raise parsing.FileError("ファイルが空です。1行目に見出しを入れてください。")
    headers = [parsing.text(cell) for cell in first]
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        raise parsing.FileError("1行目に見出しがありません。")
    return headers


# --- reading a cell: reader(cell, label) -> value, or CellError -------------------------------------------


def read_text(value, label: str) -> str:
    return parsing.text(value)


def read_member_number(value, label: str) -> str:
    if not parsing.text(value):
        return ""  # 「会員番号が空です。」, said by the row's checks
    return parsing.member_number(value)


def read_date(value, label: str) -> str:
    day = parsing.parse_date(value, label=label)
    return day.isoformat() if day else ""


def read_password(value, label: str) -> str:
    password = parsing.raw_text(value).strip()
    if password and (len(password) > 64 or not all("!" <= c <= "~" for c in password)):
        raise parsing.CellError(f"{label}に使えない文字があります（半角英数字・記号のみ、64文字以内）。")
    return password


def read_identifier(value, label: str) -> str:
    return normalize.identifier(parsing.text(value))


def read_mail_address(value, label: str) -> str:
    address = normalize.identifier(parsing.text(value))
    if address and not is_mail_address(address):
        raise parsing.CellError(f"{label}「{address}」はメールアドレスの形ではありません。")
    return address


def read_kana(value, label: str) -> str:
    return normalize.kana(parsing.text(value))


def read_postal_code(value, label: str) -> str:
    return normalize.postal_code(parsing.text(value))


def read_phone(value, label: str) -> str:
    return normalize.phone(parsing.text(value))


def read_status(value, label: str) -> str:
    status = parsing.text(value)
    if status and status not in STATUS_VALUES:
        raise parsing.CellError(f"状態「{status}」は 未案内・案内済・完了・対象外 のいずれかにしてください。")
    return status


def read_source(value, label: str) -> str:
    shown = parsing.text(value)
    if shown and shown not in SOURCE_BY_LABEL:
        raise parsing.CellError(f"確認方法「{shown}」はありません（電話・FAX・本人報告・営業所確認・取込）。")
    return SOURCE_BY_LABEL.get(shown, "")


def is_mail_address(address: str) -> bool:
    """What Django's EmailValidator accepts. The usual address passes its own two regexes here, compiled once
    (the validator goes through lazy objects on every call); anything else is left to the validator itself."""
    if len(address) <= 320:
        user, at, domain = address.rpartition("@")
        if at and _EMAIL_USER.match(user) and _EMAIL_DOMAIN.match(domain):
            return True
    try:
        _email(address)
    except ValidationError:
        return False
    return True


class PreviewBuilder:
    def __init__(self, batch: ImportBatch):
        self.batch = batch
        self.offices = parsing.Offices(SalesOffice.objects.all())
        self.office_names = dict(SalesOffice.objects.values_list("id", "name"))
        self.columns = [(i, key) for i, h in enumerate(batch.headers) if (key := batch.mapping.get(h))]
        self.labels = {key: batch.headers[i] for i, key in self.columns}
        self.address_column = next((i for i, key in self.columns if key == "extra_address"), None)
        self.label_of = {key: self.labels.get(key, column.header) for key, column in BY_KEY.items()}
        self.readers = self._readers()
        self.printable: set[str] = set()
        # Which cells a row's pass reads, in order (a key mapped from two columns reads the last of them).
        column_of = {key: i for i, key in self.columns}
        self.member_plan = [(key, i) for key, i in column_of.items() if key != "extra_address"]
        address_keys = ("number", "extra_address", *ADDRESS_KEYS, PASSWORD_KEY, *STATUS_KEYS)
        self.address_plan = [(key, column_of[key]) for key in address_keys if key in column_of]
        self.present = set(self.labels)
        # Cells never kept for the error file: the password column, and any column whose header looks like one
        # (an unmapped "PW" column still holds passwords).
        self.password_cells = {i for i, key in self.columns if key == PASSWORD_KEY} | {
            i for i, header in enumerate(batch.headers) if SECRET_HEADER.search(header_key(header))
        }
        self.seen_numbers: dict[str, int] = {}
        self.seen_user_ids: dict[str, int] = {}
        self.seen_addresses: dict[str, int] = {}
        self.new_numbers: set[str] = set()
        self.failed_numbers: set[str] = set()
        self.counts = {kind: dict.fromkeys(ImportRow.Action.values, 0) for kind in ImportRow.Kind.values}
        self.error_rows = 0
        self.rows_read = 0

    # --- running ------------------------------------------------------------------------------------
    def run(self) -> None:
        self.writer = RowWriter()
        try:
            self._run()
        except BaseException:
            with contextlib.suppress(BaseException):  # the reading's own error is the one to report
                self.writer.close()
            raise
        self.writer.close()

    def _run(self) -> None:
        self.address_rows_seen = 0
        for member_pass in (True, False):
            rows = self._rows(member_pass)
            while chunk := list(islice(rows, chunk_size())):
                self._check_cancel()
                (self._members if member_pass else self._addresses)(chunk)
                self.batch.progress_done += len(chunk)
                if member_pass:
                    self.rows_read += len(chunk)
                ImportBatch.objects.filter(pk=self.batch.pk).update(
                    progress_done=self.batch.progress_done, heartbeat_at=timezone.now()
                )
            if member_pass:
                self._count_address_rows()
        self.counts["error"] = self.error_rows
        self.counts["rows"] = self.progress_total_rows

    def _rows(self, member_pass: bool) -> Iterator[tuple[int, list]]:
        """The member rows (first pass, counting the address rows it passes over) or the address rows."""
        for n, cells in iter_file_rows(self.batch):
            if self._is_address_row(cells) != member_pass:
                yield n, cells
            elif member_pass:
                self.address_rows_seen += 1

    def _count_address_rows(self) -> None:
        if "extra_address" not in self.present:
            self.progress_total_rows = self.rows_read
            return
        # Counted by the member pass (the file is not read a third time for it).
        self.progress_total_rows = self.rows_read + self.address_rows_seen
        self.batch.progress_total = self.progress_total_rows
        ImportBatch.objects.filter(pk=self.batch.pk).update(progress_total=self.batch.progress_total)

    def _check_cancel(self) -> None:
        if ImportBatch.objects.filter(pk=self.batch.pk, cancel_requested=True).exists():
            raise Cancelled

    # --- cells ---------------------------------------------------------------------------------------
    def _readers(self) -> dict:
        """How each column's cell is read: ``reader(cell, label)`` returns the value or raises CellError (or
        ValidationError)."""
        return dict.fromkeys(BY_KEY, read_text) | {
            "number": read_member_number,
            "registered_on": read_date,
            "issued_on": read_date,
            "status_on": read_date,
            "office": self._read_office,
            PASSWORD_KEY: read_password,
            "biglobe_user_id": read_identifier,
            "login_id": read_identifier,
            "email": read_mail_address,
            "extra_address": read_mail_address,
            "name_kana": read_kana,
            "postal_code": read_postal_code,
            "phone": read_phone,
            "fax": read_phone,
            "status": read_status,
            "source": read_source,
            "name": self._read_printed,
            "address": self._read_printed,
        }

    def _read_cells(self, plan: list[tuple[str, int]], cells: list, errors: list) -> dict:
        """The cells of the plan's columns, read in its order (errors come in that order)."""
        width = len(cells)
        return {key: self._read(key, cells[i] if i < width else None, errors) for key, i in plan}

    def _is_address_row(self, cells: list) -> bool:
        i = self.address_column
        if i is None or i >= len(cells) or cells[i] is None or cells[i] == "":
            return False
        # Not parsing.text: a cell it cannot read (a 〓) must become that row's error, not stop the file.
        return bool(parsing.raw_text(cells[i]).strip())

    def _raw(self, cells: list) -> list[str]:
        width = len(self.batch.headers)
        padded = list(cells[:width]) + [None] * (width - len(cells))
        return ["" if i in self.password_cells else parsing.raw_text(c) for i, c in enumerate(padded)]

    def _read(self, key: str, value, errors: list) -> object:
        """One cell, normalised; a bad value adds an error and returns None."""
        if value is None or value == "":
            return ""  # what every reader makes of an empty cell
        label = self.label_of[key]
        try:
            result = self.readers[key](value, label)
        except parsing.CellError as exc:
            errors.append([label, str(exc)])
            return None
        except ValidationError as exc:
            errors.append([label, " ".join(exc.messages)])
            return None
        limit = MAX_LENGTHS.get(key)
        if limit and isinstance(result, str) and len(result) > limit:
            errors.append([label, f"{label}は{limit}文字以内にしてください（{len(result)}文字）。"])
            return None
        return result

    def _read_office(self, value, label: str):
        return self.offices.find(value).pk if parsing.text(value) else ""

    def _read_printed(self, value, label: str) -> str:
        """Text that goes on the printed notice: every character must be in an installed font. Characters
        already found printable are not looked up again."""
        result = parsing.text(value)
        if result and not self.printable.issuperset(result):
            try:
                check_printable({label: result})
            except UnprintableCharacterError as exc:
                raise parsing.CellError(" ".join(exc.messages)) from None
            self.printable.update(result)
        return result

    def _display(self, key: str, value) -> str:
        if key == "office":
            return self.office_names.get(value, "") if value else ""
        if key in ("registered_on", "issued_on", "status_on") and value:
            return str(value).replace("-", "/")
        return "" if value is None else str(value)

    def _row(
        self,
        n: int,
        kind: str,
        action: str,
        *,
        member_number: str = "",
        address: str = "",
        target_id: int | None = None,
        values: dict | None = None,
        before: dict | None = None,
        changes: list | None = None,
        errors: list | None = None,
        raw: list | None = None,
        password: str = "",
    ) -> Row:
        """A row for the batch, with its own UUID and its password sealed as ImportRow.password stores it."""
        row_uuid = str(uuid.uuid4())
        return Row(
            uuid=row_uuid,
            batch_id=self.batch.pk,
            row_number=n,
            kind=kind,
            action=action,
            state=ImportRow.State.PENDING,
            member_number=member_number,
            address=address,
            target_id=target_id,
            values="{}" if values is None else dump(values),
            before=dump(before),
            after=None,
            changes="[]" if changes is None else dump(changes),
            errors="[]" if errors is None else dump(errors),
            raw=dump(raw),
            password=crypto.encrypt(password, aad=PASSWORD_AAD + row_uuid) if password else "",
            refusal="",
        )

    def _error(self, *, n: int, cells: list, kind: str, errors: list, number: str = "", address: str = "") -> Row:
        self.error_rows += 1
        self.counts[kind][ImportRow.Action.ERROR] += 1
        return self._row(
            n,
            kind,
            ImportRow.Action.ERROR,
            member_number=number or "",
            address=address or "",
            errors=errors,
            raw=self._raw(cells),
        )

    # --- member rows ----------------------------------------------------------------------------------
    def _members(self, chunk: list[tuple[int, list]]) -> None:
        parsed = []
        for n, cells in chunk:
            errors = []
            read = self._read_cells(self.member_plan, cells, errors)
            parsed.append((n, cells, read, errors))
        numbers = {r["number"] for _, _, r, _ in parsed if r.get("number")}
        existing = {m["number"]: m for m in any_of(Member.objects, "number", numbers).values(*MEMBER_SNAPSHOT)}
        user_ids = {r["biglobe_user_id"] for _, _, r, _ in parsed if r.get("biglobe_user_id")}
        self._holders = dict(
            any_of(Member.objects, "biglobe_user_id", user_ids).values_list("biglobe_user_id", "number")
        )
        statuses = self._statuses(member_ids=[m["id"] for m in existing.values()], primary=True)
        rows = []
        for n, cells, read, errors in parsed:
            number = read.get("number")
            if "number" not in self.present:
                errors.append(["会員番号", "会員番号の列がありません。"])
            elif not number and not any(e[0] == self.labels["number"] for e in errors):
                errors.append([self.labels["number"], "会員番号が空です。"])
            current = existing.get(number) if number else None
            if number and number in self.seen_numbers:
                errors.append(
                    [self.labels["number"], f"会員番号 {number} は {self.seen_numbers[number]} 行目と重複しています。"]
                )
            member_row = self._member_row(n, read, current, errors) if number else None
            status_row = self._status_row(n, read, number, "", current and statuses.get((current["id"], None)), errors)
            if number and number not in self.seen_numbers:
                self.seen_numbers[number] = n
                if errors and current is None:
                    self.failed_numbers.add(number)
            if errors:
                rows.append(self._error(n=n, cells=cells, kind="member", errors=errors, number=number))
                continue
            if member_row is None:
                self.counts["member"][ImportRow.Action.UNCHANGED] += 1
            else:
                rows.append(member_row)
                self.counts["member"][member_row.action] += 1
                if member_row.action == ImportRow.Action.NEW:
                    self.new_numbers.add(number)
            self._count_status(rows, status_row)
        self.writer.write(rows)

    def _member_row(self, n: int, read: dict, current: dict | None, errors: list) -> Row | None:
        number = read["number"]
        user_id = read.get("biglobe_user_id")
        if user_id:
            holder = self.seen_user_ids.get(user_id)
            if holder is not None and holder != n:
                errors.append(
                    [self.labels["biglobe_user_id"], f"ユーザーID {user_id} は {holder} 行目と重複しています。"]
                )
            else:
                self.seen_user_ids[user_id] = n
        fields = {k: read[k] for k in MEMBER_KEYS if k in read}
        password = read.get(PASSWORD_KEY) or ""
        if current is None:
            if not any(k in read for k in MEMBER_KEYS):
                errors.append([self.labels["number"], f"会員番号 {number} の会員は登録されていません。"])
                return None
            for key in REQUIRED_FOR_NEW_MEMBER:
                if key in read and read[key] is None:
                    continue  # already an error
                if not (password if key == PASSWORD_KEY else fields.get(key)):
                    label = self.labels.get(key, BY_KEY[key].header)
                    errors.append([label, f"新しい会員には{label}が必要です。"])
        else:
            for key in REQUIRED_FOR_NEW_MEMBER:
                if key != PASSWORD_KEY and key in fields and fields[key] == "":
                    errors.append([self.labels[key], f"{self.labels[key]}が空です。"])
        holder_number = self._holders.get(user_id) if user_id else None
        if user_id and holder_number not in (None, number):
            errors.append(
                [self.labels["biglobe_user_id"], f"ユーザーID {user_id} は会員 {holder_number} が使っています。"]
            )
        if errors:
            return None
        if current is None:
            return self._row(n, "member", ImportRow.Action.NEW, member_number=number, values=fields, password=password)
        return self._update_row(
            n, "member", fields, password, current, Member, "biglobe_password", member_number=number
        )

    # --- statuses -------------------------------------------------------------------------------------
    def _statuses(self, *, member_ids=(), address_ids=(), primary: bool) -> dict:
        if not self.batch.campaign_id or STATUS_KEYS[0] not in self.present:
            return {}
        qs = AccountStatus.objects.filter(campaign_id=self.batch.campaign_id)
        if primary:
            qs = any_of(qs.filter(address__isnull=True), "member_id", member_ids)
        else:
            qs = any_of(qs, "address_id", address_ids)
        return {(s["member_id"], s["address_id"]): s for s in qs.values(*STATUS_SNAPSHOT)}

    def _status_row(self, n, read, number, address, current, errors) -> Row | None:
        given = {k: read[k] for k in STATUS_KEYS if k in read and read[k] not in (None, "")}
        if not given:
            return None
        if not read.get("status"):
            if "status" in read and read["status"] is None:
                return None  # already an error
            errors.append([self.labels.get("status", "状態"), "状態が空です（確認日などだけでは記録できません）。"])
            return None
        if not self.batch.campaign_id:
            errors.append([self.labels["status"], "実施中のキャンペーンがないため、状態は取り込めません。"])
            return None
        values = {"status": read["status"]}
        if "status_on" in read:
            values["status_on"] = read["status_on"] or None
        if read.get("source"):
            values["source"] = read["source"]  # empty: keep what the account has (an export writes it so)
        if "status_note" in read:
            values["note"] = read["status_note"] or ""
        base = current or {"status": Status.NOT_NOTIFIED, "status_on": None, "source": "", "note": ""}
        note = values.get("note", base["note"])
        if values["status"] == Status.EXCLUDED and not note:
            errors.append([self.labels["status"], "対象外にする理由を状態メモに入れてください。"])
            return None
        changes = []
        for key, label in (("status", "状態"), ("status_on", "確認日"), ("source", "確認方法"), ("note", "状態メモ")):
            if key in values and (values[key] or "") != (jsonable(base[key]) or ""):
                shown_key = "status_on" if key == "status_on" else key
                changes.append(
                    [label, self._display(shown_key, jsonable(base[key])), self._display(shown_key, values[key])]
                )
        if not changes:
            return UNCHANGED_STATUS
        return self._row(
            n,
            "status",
            ImportRow.Action.UPDATE,
            member_number=number,
            address=address,
            target_id=current["id"] if current else None,
            values=values,
            before=snapshot(current) if current else None,
            changes=changes,
        )

    def _count_status(self, rows: list, status_row: Row | None) -> None:
        if status_row is None:
            return
        self.counts["status"][status_row.action] += 1
        if status_row.action != ImportRow.Action.UNCHANGED:
            rows.append(status_row)

    # --- address rows ---------------------------------------------------------------------------------
    def _addresses(self, chunk: list[tuple[int, list]]) -> None:
        parsed = []
        for n, cells in chunk:
            errors = []
            read = self._read_cells(self.address_plan, cells, errors)
            parsed.append((n, cells, read, errors))
        numbers = {r["number"] for _, _, r, _ in parsed if r.get("number")}
        members = dict(any_of(Member.objects, "number", numbers).values_list("number", "id"))
        addresses = {r["extra_address"] for _, _, r, _ in parsed if r.get("extra_address")}
        existing = {
            a["address"]: a
            for a in any_of(AdditionalMailAddress.objects, "address", addresses).values(*ADDRESS_SNAPSHOT)
        }
        statuses = self._statuses(address_ids=[a["id"] for a in existing.values()], primary=False)
        rows = []
        for n, cells, read, errors in parsed:
            number, address = read.get("number"), read.get("extra_address")
            if "number" not in self.present:
                errors.append(["会員番号", "会員番号の列がありません。"])
            elif not number and "number" in read and read["number"] is not None:
                errors.append([self.labels["number"], "会員番号が空です。"])
            if number and number in self.failed_numbers:
                errors.append(
                    [self.labels["number"], f"会員番号 {number} の会員の行にエラーがあるため取り込めません。"]
                )
            elif number and number not in members and number not in self.new_numbers:
                errors.append([self.labels["number"], f"会員番号 {number} の会員は登録されていません。"])
            current = existing.get(address) if address else None
            if address and address in self.seen_addresses:
                errors.append(
                    [
                        self.labels["extra_address"],
                        f"追加メールアドレス {address} は {self.seen_addresses[address]} 行目と重複しています。",
                    ]
                )
            elif address:
                self.seen_addresses[address] = n
            if current and number and current["member__number"] != number:
                errors.append(
                    [
                        self.labels["extra_address"],
                        f"追加メールアドレス {address} は会員 {current['member__number']} が使っています。",
                    ]
                )
            address_row = self._address_row(n, read, current, errors) if number and address else None
            status_current = statuses.get((current["member_id"], current["id"])) if current else None
            status_row = self._status_row(n, read, number, address, status_current, errors)
            if errors:
                rows.append(
                    self._error(n=n, cells=cells, kind="address", errors=errors, number=number, address=address)
                )
                continue
            if address_row is None:
                self.counts["address"][ImportRow.Action.UNCHANGED] += 1
            else:
                rows.append(address_row)
                self.counts["address"][address_row.action] += 1
            self._count_status(rows, status_row)
        self.writer.write(rows)

    def _address_row(self, n: int, read: dict, current: dict | None, errors: list) -> ImportRow | None:
        fields = {k: read[k] for k in ADDRESS_KEYS if k in read}
        password = read.get(PASSWORD_KEY) or ""
        if current is None:
            for key in REQUIRED_FOR_NEW_ADDRESS:
                if key in read and read[key] is None:
                    continue
                if not (password if key == PASSWORD_KEY else fields.get(key)):
                    label = self.labels.get(key, BY_KEY[key].header)
                    errors.append([label, f"新しい追加メールアドレスには{label}が必要です。"])
        else:
            for key in ADDRESS_KEYS:
                if key in fields and fields[key] == "":
                    errors.append([self.labels[key], f"{self.labels[key]}が空です。"])
        if errors:
            return None
        if current is None:
            return self._row(
                n,
                "address",
                ImportRow.Action.NEW,
                member_number=read["number"],
                address=read["extra_address"],
                values=fields,
                password=password,
            )
        return self._update_row(
            n,
            "address",
            fields,
            password,
            current,
            AdditionalMailAddress,
            "password",
            member_number=read["number"],
            address=read["extra_address"],
        )

    def _update_row(
        self, n: int, kind: str, fields: dict, password: str, current: dict, model, secret: str, **where
    ) -> Row | None:
        """The UPDATE row of an existing member or address: the fields that differ (old → new, for the
        preview) and the password only as 「変更あり」; None when nothing differs."""
        changes, changed = [], {}
        for key, value in fields.items():
            old = jsonable(current["office_id"] if key == "office" else current[key])
            if value != (old or ""):
                changed[key] = value
                changes.append([self.labels[key], self._display(key, old), self._display(key, value)])
        changed_password = ""
        if password and password != stored_password(model, secret, current["uuid"], current[secret]):
            changed_password = password
            changes.append([self.labels[PASSWORD_KEY], "", "変更あり"])
        if not changes:
            return None
        return self._row(
            n,
            kind,
            ImportRow.Action.UPDATE,
            target_id=current["id"],
            values=changed,
            before=snapshot(current),
            changes=changes,
            password=changed_password,
            **where,
        )


def build_preview(batch: ImportBatch) -> dict:
    """Replace the batch's rows with a fresh preview; returns the counts."""
    batch.rows.all().delete()
    builder = PreviewBuilder(batch)
    builder.progress_total_rows = 0
    builder.run()
    batch.previewed_at = timezone.now()
    return builder.counts
