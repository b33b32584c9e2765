"""The BIGLOBE password rule, and passwords the office issues."""

import secrets
import string

from django.core.exceptions import ValidationError

MIN_LENGTH, MAX_LENGTH = 8, 16
SYMBOLS = "!#$%&()*+,-./:;<=>?@[]^_{|}~"
CLASSES = (string.digits, string.ascii_lowercase, string.ascii_uppercase, SYMBOLS)
# Printed passwords are read off paper and FAX: no 0/O/o, 1/l/I, nor look-alike symbols.
AMBIGUOUS = set("0Oo1lI|`'\"")


def validate_biglobe_password(value: str) -> None:
    """8–16 characters, at least two of: digits, lower case, upper case, symbols."""
    if not MIN_LENGTH <= len(value) <= MAX_LENGTH:
        raise ValidationError(
            "パスワードは%(min)d文字以上%(max)d文字以内にしてください。",
            code="length",
            params={"min": MIN_LENGTH, "max": MAX_LENGTH},
        )
    allowed = set("".join(CLASSES))
    bad = sorted({c for c in value if c not in allowed})
    if bad:
        raise ValidationError(
            "パスワードに使えない文字が含まれています: %(chars)s",
            code="charset",
            params={"chars": " ".join(bad)},
        )
    kinds = sum(1 for cls in CLASSES if any(c in cls for c in value))
    if kinds < 2:
        raise ValidationError("数字・英小文字・英大文字・記号のうち2種類以上を使ってください。", code="kinds")


def generate_password(length: int = 10, rng: secrets.SystemRandom | None = None) -> str:
    """A password that satisfies the rule and avoids ambiguous characters.

    Digits, lower and upper case are always present (three kinds), so it passes even if a symbol is
    refused by a mail client; no symbols, as members retype it from paper.
    """
    rng = rng or secrets.SystemRandom()
    pools = ["".join(c for c in cls if c not in AMBIGUOUS) for cls in CLASSES[:3]]
    chars = [rng.choice(pool) for pool in pools]
    everything = "".join(pools)
    chars += [rng.choice(everything) for _ in range(length - len(chars))]
    rng.shuffle(chars)
    password = "".join(chars)
    validate_biglobe_password(password)
    return password
