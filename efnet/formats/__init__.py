"""One date format per purpose, on every screen, in the audit log and in every file we write.

| purpose | format | example |
| --- | --- | --- |
| a date in a sentence or a heading (``|date``) | ``DATE_FORMAT`` ``Y年n月j日`` | 2026年6月1日 |
| a date in a table cell (``|date:"SHORT_DATE_FORMAT"``) | ``Y/n/j`` | 2026/6/1 |
| a date and time (``|date:"DATETIME_FORMAT"`` or ``SHORT_DATETIME_FORMAT``) | ``Y/n/j G:i`` | 2026/6/1 14:05 |
| CSV and other files (``csv_date``/``csv_datetime``) | ``%Y-%m-%d`` / ``%Y-%m-%d %H:%M:%S`` | 2026-06-01 14:05:00 |

Screens use the named formats of ``efnet/formats/ja/formats.py`` (``FORMAT_MODULE_PATH``), so a template
never spells a format of its own (tests/efnet/test_date_formats.py). Files are machine-readable: ISO dates,
which the imports read back (imports.parsing).
"""

from __future__ import annotations

import datetime

from django.utils import timezone

CSV_DATE = "%Y-%m-%d"
CSV_DATETIME = "%Y-%m-%d %H:%M:%S"
# The format names templates may pass to |date and |time (Django's own, set in ja/formats.py), plus the
# time of day alone.
TEMPLATE_FORMATS = {"DATE_FORMAT", "SHORT_DATE_FORMAT", "DATETIME_FORMAT", "SHORT_DATETIME_FORMAT", "TIME_FORMAT"}


def csv_date(value: datetime.date | datetime.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return value.strftime(CSV_DATE)


def csv_datetime(value: datetime.datetime | None) -> str:
    if value is None:
        return ""
    return (timezone.localtime(value) if timezone.is_aware(value) else value).strftime(CSV_DATETIME)
