"""efnet.ids: the one parser of ids read from requests."""

import pytest

from efnet.ids import parse_id


@pytest.mark.parametrize("value, expected", [("1", 1), ("0042", 42), ("9" * 18, int("9" * 18))])
def test_it_accepts_ascii_digits(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "²", "١٢", "１２", "-1", "+1", " 1", "1 ", "1\n", "1e3", "0x1f", "1.0", "9" * 19, None, 12],
)
def test_it_refuses_everything_else(value):
    # Superscripts and Arabic-Indic digits pass str.isdigit(); full-width ones and " 1" pass int(); 19 digits
    # can overflow a 64-bit column; a non-string is not what a request holds.
    assert parse_id(value) is None
