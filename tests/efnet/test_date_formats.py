"""One date format per purpose (efnet/formats/__init__.py): screens use the named formats, files ISO dates
that the imports read back."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from efnet import formats

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# The named formats, plus "c" (ISO 8601) for machine-readable attributes such as <time datetime="…">.
ALLOWED = formats.TEMPLATE_FORMATS | {"MONTH_DAY_FORMAT", "YEAR_MONTH_FORMAT", "c"}
DATE_FILTER = re.compile(r"\|(?:date|time):\s*(['\"])(?P<format>.*?)\1")
# The value of an <input type="date"> is ISO whatever the language (the browser shows it in its own way).
INPUT_VALUE = re.compile(r"""\b(?:value|min|max)="\{\{[^}]*$""")


def test_no_template_spells_a_date_format_of_its_own():
    ad_hoc = []
    for path in TEMPLATES.rglob("*.html"):
        for match in DATE_FILTER.finditer(path.read_text(encoding="utf-8")):
            if match["format"] == "Y-m-d" and INPUT_VALUE.search(match.string[: match.start()][-120:]):
                continue
            if match["format"] not in ALLOWED:
                ad_hoc.append(f"{path.relative_to(TEMPLATES)}: {match['format']}")
    assert not ad_hoc, f"use a named format (efnet/formats/ja/formats.py) instead of: {ad_hoc}"


def _render(fmt: str, value) -> str:
    with translation.override("ja"):
        return Template(f'{{{{ value|date:"{fmt}" }}}}').render(Context({"value": value}))


def test_screens_show_one_format_per_purpose():
    day = datetime.date(2026, 6, 1)
    moment = timezone.make_aware(datetime.datetime(2026, 6, 1, 14, 5, 9))
    assert _render("DATE_FORMAT", day) == "2026年6月1日"
    assert _render("SHORT_DATE_FORMAT", day) == "2026/6/1"
    assert _render("SHORT_DATETIME_FORMAT", moment) == "2026/6/1 14:05"
    assert _render("DATETIME_FORMAT", moment) == "2026/6/1 14:05"
    with translation.override("ja"):
        assert Template("{{ value|date }}").render(Context({"value": day})) == "2026年6月1日"


def test_files_use_iso_dates_that_the_imports_read_back():
    from imports.parsing import parse_date

    day = datetime.date(2026, 6, 1)
    moment = timezone.make_aware(datetime.datetime(2026, 6, 1, 14, 5, 9))
    assert formats.csv_date(day) == "2026-06-01"
    assert formats.csv_datetime(moment) == "2026-06-01 14:05:09"
    assert parse_date(formats.csv_date(day), label="日付") == day
    assert parse_date(formats.csv_datetime(moment)[:10], label="日付") == day
    assert formats.csv_date(None) == formats.csv_datetime(None) == ""


def test_forms_read_what_people_type_and_what_date_inputs_send():
    from django import forms

    field = forms.DateField()
    with translation.override("ja"):
        for typed in ("2026-06-01", "2026/6/1", "2026年6月1日"):
            assert field.clean(typed) == datetime.date(2026, 6, 1), typed


@pytest.mark.django_db
def test_a_browser_asking_for_english_still_gets_japanese_dates_and_words(client, world):
    from django.urls import reverse

    from efnet import audit
    from tests.conftest import login

    audit.record("auth.login", actor=world.head)
    login(client, world.head)
    page = client.get(reverse("audit_log"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    at = timezone.localtime(timezone.now())
    assert f"{at.year}/{at.month}/{at.day} " in page
    assert "a.m." not in page and "p.m." not in page
    assert 'lang="ja"' in page
