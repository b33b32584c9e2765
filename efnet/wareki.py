"""Japanese date formats: 和暦 (令和8年6月吉日) for notices, 西暦 (2025年10月1日) as the card prints it."""

from __future__ import annotations

from datetime import date

# (first day, era name). Only eras a living member's registration or a notice can fall in.
ERAS = [(date(2019, 5, 1), "令和"), (date(1989, 1, 8), "平成"), (date(1926, 12, 25), "昭和")]


def era_year(day: date) -> tuple[str, int]:
    for start, name in ERAS:
        if day >= start:
            return name, day.year - start.year + 1
    raise ValueError(f"{day} is before the eras this office uses")


def wareki(day: date, *, kichijitsu: bool = False) -> str:
    """令和8年6月25日, or with ``kichijitsu`` 令和8年6月吉日 (the customary date line of a notice)."""
    name, year = era_year(day)
    year_text = "元" if year == 1 else str(year)
    if kichijitsu:
        return f"{name}{year_text}年{day.month}月吉日"
    return f"{name}{year_text}年{day.month}月{day.day}日"


def seireki(day: date) -> str:
    """2025年10月1日, as the member card prints dates."""
    return f"{day.year}年{day.month}月{day.day}日"


def slash_date(day: date) -> str:
    """2026/6/26, as the additional-address list prints issue dates."""
    return f"{day.year}/{day.month}/{day.day}"
