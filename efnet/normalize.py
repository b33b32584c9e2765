"""Input normalisation for what staff type from a Japanese IME."""

import re
import unicodedata


def nfkc(value: str | None) -> str:
    """Full-width digits and letters to half-width, ideographic spaces to plain ones, trimmed."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def member_number(value: str | None) -> str:
    """A member number as stored: NFKC, without spaces or hyphens (０１２-３４５ → 012345)."""
    return re.sub(r"[\s\-‐ー−]", "", nfkc(value))


def identifier(value: str | None) -> str:
    """BIGLOBE user IDs and mail addresses: NFKC, trimmed, lower case."""
    return nfkc(value).lower()


def kana(value: str | None) -> str:
    """Kana readings are kept in full-width katakana (NFKC turns half-width ｶﾅ into カナ)."""
    text = nfkc(value)
    # Hiragana to katakana, so ひらがな input finds カタカナ readings.
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def phone(value: str | None) -> str:
    return re.sub(r"[‐ー−―]", "-", nfkc(value))


def postal_code(value: str | None) -> str:
    digits = re.sub(r"\D", "", nfkc(value).replace("〒", ""))
    return f"{digits[:3]}-{digits[3:]}" if len(digits) == 7 else nfkc(value).replace("〒", "").strip()
