from datetime import date

import pytest

from efnet.wareki import seireki, slash_date, wareki


@pytest.mark.parametrize(
    ("day", "kichijitsu", "expected"),
    [
        (date(2026, 6, 1), True, "令和8年6月吉日"),
        (date(2026, 7, 15), False, "令和8年7月15日"),
        (date(2019, 5, 1), False, "令和元年5月1日"),
        (date(2019, 4, 30), False, "平成31年4月30日"),
        (date(1989, 1, 8), False, "平成元年1月8日"),
    ],
)
def test_it_formats_the_era(day, kichijitsu, expected):
    assert wareki(day, kichijitsu=kichijitsu) == expected


def test_it_formats_card_and_list_dates_as_the_seed_prints_them():
    assert seireki(date(2025, 10, 1)) == "2025年10月1日"
    assert slash_date(date(2026, 6, 26)) == "2026/6/26"
