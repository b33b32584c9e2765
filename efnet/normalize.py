"""Input normalisation for what staff type from a Japanese IME."""

import re
import unicodedata


def nfkc(value: str | None) -> str:
    """Full-width digits and letters to half-width, ideographic spaces to plain ones, trimmed."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


# What people put between digit groups of a member number, after NFKC (which already turns － into -, ｰ into ー
# and the ideographic space into a plain one): hyphens, dashes, the long-vowel mark an IME gives for ー, spaces.
MEMBER_NUMBER_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\ufe63]")
# How long a typed member number may be before it is normalised: 10 digits with a separator between each, and
# some slack for spaces around them. Form fields and ``maxlength`` use it, so the browser never cuts a number.
MEMBER_NUMBER_TYPED_MAX_LENGTH = 40


def member_number(value: str | None) -> str:
    """A member number as stored: NFKC, without spaces, hyphens or dashes (０１２３－４５６－７８９ → 0123456789)."""
    return MEMBER_NUMBER_SEPARATORS.sub("", nfkc(value))


def identifier(value: str | None) -> str:
    """BIGLOBE user IDs and mail addresses: NFKC, trimmed, lower case."""
    return nfkc(value).lower()


HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(ord("ぁ"), ord("ゖ") + 1)}


def kana(value: str | None) -> str:
    """Kana readings are kept in full-width katakana (NFKC turns half-width ｶﾅ into カナ)."""
    # Hiragana to katakana, so ひらがな input finds カタカナ readings.
    return nfkc(value).translate(HIRAGANA_TO_KATAKANA)


def phone(value: str | None) -> str:
    return re.sub(r"[‐ー−―]", "-", nfkc(value))


def postal_code(value: str | None) -> str:
    digits = re.sub(r"\D", "", nfkc(value).replace("〒", ""))
    return f"{digits[:3]}-{digits[3:]}" if len(digits) == 7 else nfkc(value).replace("〒", "").strip()


# 異体字 a clerk cannot type (or types in the common form): each is searched as its common form. Several are
# CJK compatibility ideographs that NFKC keeps (﨑 U+FA11, 𠮷 U+20BB7 is outside the BMP, 髙 is unified).
VARIANT_CHARS = str.maketrans(
    {
        "髙": "高",
        "﨑": "崎",
        "嵜": "崎",
        "𠮷": "吉",
        "濵": "浜",
        "濱": "浜",
        "邉": "辺",
        "邊": "辺",
        "齋": "斎",
        "齊": "斉",
        "德": "徳",
        "槗": "橋",
        "桒": "桑",
        "冨": "富",
        "曻": "昇",
        "黑": "黒",
        "澤": "沢",
        "廣": "広",
        "國": "国",
        "櫻": "桜",
        "眞": "真",
        "峯": "峰",
        "嶋": "島",
        "嶌": "島",
        "栁": "柳",
    }
)
# Small kana and their large forms, so キャノン finds キヤノン (company names often use large kana).
SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
SEARCH_SEPARATOR = "|"
# Left out of what search compares: white space (what ``str.isspace`` and a regex ``\s`` call so; all below
# U+3001), 中黒 and the separator. One ``translate`` (a regex substitution per value was a visible part of an
# import's time).
SEARCH_DROPPED = dict.fromkeys(
    [i for i in range(0x3001) if chr(i).isspace()] + [ord(c) for c in "・･" + SEARCH_SEPARATOR]
)


def search_text(value: str | None) -> str:
    """The one normalised form that member search compares: NFKC (full/half width), lower case, hiragana
    as katakana, small kana as large, common forms of 異体字 (髙→高, 﨑→崎, 𠮷→吉), no spaces or 中黒.
    Stored values (``Member.search_key``) and what the clerk types both go through it, on every database."""
    return kana(value).lower().translate(VARIANT_CHARS).translate(SMALL_KANA).translate(SEARCH_DROPPED)


def search_key(*parts: str | None) -> str:
    """Several values searched as one column: each normalised, kept apart by a separator a query never holds,
    so a match cannot straddle two values."""
    return SEARCH_SEPARATOR + SEARCH_SEPARATOR.join(filter(None, (search_text(p) for p in parts))) + SEARCH_SEPARATOR
