from datetime import date

import pytest

from imports import parsing
from imports.columns import recognise
from members.models import SalesOffice


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026/6/1", date(2026, 6, 1)),
        ("2026-06-01", date(2026, 6, 1)),
        ("２０２６年６月１日", date(2026, 6, 1)),
        ("20260601", date(2026, 6, 1)),
        ("令和8年6月1日", date(2026, 6, 1)),
        ("令和８年６月１日", date(2026, 6, 1)),
        ("R8.6.1", date(2026, 6, 1)),
        ("r8/6/1", date(2026, 6, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("H31.4.30", date(2019, 4, 30)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        (46174, date(2026, 6, 1)),  # an Excel serial date as openpyxl hands it over
        ("46174", date(2026, 6, 1)),
        (date(2026, 6, 1), date(2026, 6, 1)),
    ],
)
def test_it_reads_the_dates_the_office_writes(value, expected):
    assert parsing.parse_date(value, label="日付") == expected


@pytest.mark.parametrize("value", ["令和8年13月1日", "2026/2/30", "令和元年4月30日", "来月", "R8.6", "123"])
def test_it_refuses_what_is_not_a_date(value):
    with pytest.raises(parsing.CellError, match="日付として読めません"):
        parsing.parse_date(value, label="会員登録日")


def test_it_normalises_member_numbers_typed_full_width_with_hyphens():
    assert parsing.member_number("０１２３－４５") == "012345"
    assert parsing.member_number(" 0123-45 ") == "012345"
    with pytest.raises(parsing.CellError):
        parsing.member_number("12a")


def test_it_turns_half_width_kana_full_width_and_strips_the_export_guard():
    assert parsing.text(" ｶﾌﾞｼｷｶﾞｲｼｬ ") == "カブシキガイシャ"
    assert parsing.text("'=SUM(A1)") == "=SUM(A1)"
    assert parsing.text("'普通") == "'普通"


def test_it_refuses_the_geta_a_cp932_export_left_for_a_lost_character():
    with pytest.raises(parsing.CellError, match="〓"):
        parsing.text("〓田商店")


@pytest.mark.django_db
def test_it_finds_offices_by_name_short_name_or_code():
    offices = parsing.Offices(SalesOffice.objects.all())
    osaka = SalesOffice.objects.get(code="osaka")
    assert offices.find("大阪") == osaka
    assert offices.find(osaka.name) == osaka
    assert offices.find("OSAKA") == osaka
    with pytest.raises(parsing.CellError, match="営業所「大坂」はありません"):
        offices.find("大坂")


def test_it_detects_the_encoding():
    text = "会員番号,登録者名\r\n"
    assert parsing.detect_encoding(b"\xef\xbb\xbf" + text.encode()) == "utf-8-sig"
    assert parsing.detect_encoding(text.encode("utf-8")) == "utf-8"
    assert parsing.detect_encoding(text.encode("cp932")) == "cp932"


def test_it_recognises_headers_as_the_office_writes_them():
    assert recognise("ＦＡＸ番号") == "fax"
    assert recognise(" 会員番号 ") == "number"
    assert recognise("ユーザーＩＤ") == "biglobe_user_id"
    assert recognise("紹介者") is None
