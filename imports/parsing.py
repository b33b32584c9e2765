"""Reading an uploaded file row by row, and reading each cell as the office writes it.

Every reader here either returns the value the cell means or raises ``CellError`` with a Japanese message:
a value that cannot be read is a row error, never a guess.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from efnet import normalize

ENCODINGS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM付き)", "cp932": "Shift_JIS (CP932)"}
SAMPLE_BYTES = 256 * 1024


class CellError(ValueError):
    """A cell that cannot be read; the message is for the user."""


class FileError(ValueError):
    """The file as a whole cannot be read (encoding, format); the message is for the user."""


# --- the file -------------------------------------------------------------------------------------------


class ChunkReader(io.RawIOBase):
    """A readable binary stream over an iterator of byte chunks (the decrypted records of a stored file)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def detect_encoding(sample: bytes) -> str:
    """UTF-8 with a BOM, else UTF-8 when the sample decodes as such, else CP932 (what Excel in Japan saves)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("cp932")().decode(sample, final=False)
        return "cp932"
    except UnicodeDecodeError:
        raise FileError("文字コードを判別できません。UTF-8 か Shift_JIS (CP932) のCSVを指定してください。") from None


def file_format_of(name: str, head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        if not name.lower().endswith(".xlsx"):
            raise FileError("Excelファイルは .xlsx 形式で保存してください。")
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileError("古いExcel形式（.xls）やパスワード付きのファイルは読めません。.xlsx かCSVで保存してください。")
    return "csv"


def iter_csv(chunks: Iterable[bytes], *, encoding: str) -> Iterator[list]:
    text = io.TextIOWrapper(io.BufferedReader(ChunkReader(chunks), 1024 * 1024), encoding=encoding, newline="")
    reader = csv.reader(text)
    row_number = 0
    try:
        for row_number, row in enumerate(reader, start=1):  # noqa: B007 (reported when decoding fails)
            yield row
    except UnicodeDecodeError:
        label = ENCODINGS.get(encoding, encoding)
        raise FileError(
            f"{row_number + 1}行目付近が {label} として読めません。文字コードを指定し直してください。"
        ) from None
    except csv.Error as exc:
        raise FileError(f"{row_number + 1}行目付近のCSVの形式が正しくありません（{exc}）。") from None


def iter_xlsx(data: bytes) -> Iterator[list]:
    """The first sheet, streamed (openpyxl read-only mode); cells keep their types (dates, numbers)."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise FileError("Excelファイル（.xlsx）として読めません。") from None
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


# --- cells ----------------------------------------------------------------------------------------------

_FORMULA_GUARD = re.compile(r"^'(?=[=+\-@\t\r])")


def text(value) -> str:
    """Any cell as text: NFKC (half-width kana to full-width, full-width digits to half-width), trimmed. The
    leading ``'`` our exports put before ``=``, ``+``, ``-``, ``@`` (so Excel shows text) is taken off again."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    result = unicodedata.normalize("NFKC", str(value)).strip()
    if result.startswith("'"):
        result = _FORMULA_GUARD.sub("", result)
    if "〓" in result:
        # What a CP932 export writes for a character CP932 cannot hold: the real value is lost, so never store it.
        raise CellError(
            f"「{result}」に〓（Shift_JISで表せず置き換えられた文字）があります。元の文字に直してください。"
        )
    return result


def raw_text(value) -> str:
    """A cell for the error file: as it was, only made a string."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat() if isinstance(value, date) else str(value)


_MEMBER_NUMBER = re.compile(r"\d{4,10}")


def member_number(value) -> str:
    number = normalize.member_number(text(value))
    if not _MEMBER_NUMBER.fullmatch(number):
        raise CellError(f"会員番号「{text(value)}」は数字4〜10桁ではありません。")
    return number


_ERAS = {"令和": (2018, date(2019, 5, 1)), "平成": (1988, date(1989, 1, 8)), "昭和": (1925, date(1926, 12, 25))}
_ERA_LETTERS = {"R": "令和", "H": "平成", "S": "昭和"}
_WAREKI = re.compile(r"^(令和|平成|昭和|[RHSrhs])\s*(元|\d{1,2})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?$")
_SEIREKI = re.compile(r"^(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?$")
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value, *, label: str) -> date | None:
    """西暦 (2026/6/1, 2026-06-01, 2026年6月1日, 20260601), 和暦 (令和8年6月1日, R8.6.1, 令和元年…), Excel serial
    numbers and the dates openpyxl reads. Empty → None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _serial(value, label=label, shown=raw_text(value))
    shown = text(value)
    if not shown:
        return None
    try:
        if m := _SEIREKI.match(shown):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _WAREKI.match(shown):
            era = _ERA_LETTERS.get(m[1].upper(), m[1])
            offset, first_day = _ERAS[era]
            year = 1 if m[2] == "元" else int(m[2])
            day = date(offset + year, int(m[3]), int(m[4]))
            if day < first_day or year < 1:
                raise ValueError
            return day
        if re.fullmatch(r"\d{8}", shown):
            return date(int(shown[:4]), int(shown[4:6]), int(shown[6:]))
        if re.fullmatch(r"\d{5}(\.0+)?", shown):
            return _serial(float(shown), label=label, shown=shown)
    except ValueError:
        pass
    raise CellError(f"{label}「{shown}」は日付として読めません。")


def _serial(number: float, *, label: str, shown: str) -> date:
    # Excel counts days from 1899-12-30 (its 1900 leap-year bug folded in); only plausible years are taken.
    if not float(number).is_integer() or not 7000 <= number <= 80000:
        raise CellError(f"{label}「{shown}」は日付として読めません。")
    return _EXCEL_EPOCH + timedelta(days=int(number))


class Offices:
    """Offices by code, full name or name without 営業所/出張所 (大阪, 大阪営業所, osaka)."""

    def __init__(self, offices: Iterable):
        self.by_key: dict[str, object] = {}
        for office in offices:
            name = text(office.name)
            for key in (text(office.code).lower(), name, re.sub(r"(営業所|出張所|支店)$", "", name)):
                if key:
                    self.by_key.setdefault(key, office)

    def find(self, value):
        shown = text(value)
        office = self.by_key.get(shown.lower()) or self.by_key.get(re.sub(r"(営業所|出張所|支店)$", "", shown))
        if office is None:
            raise CellError(f"営業所「{shown}」はありません。")
        return office
