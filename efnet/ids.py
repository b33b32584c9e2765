"""Ids read from a query string or a form body: parsed here, and nowhere else.

``str.isdigit()`` is true for ``²`` and ``١٢`` (which ``int()`` then refuses), ``int()`` accepts ``１２`` and
``" 1"``, and a forty-digit number overflows the database's integer. An id the app put in a link or a form is
ASCII digits, so that is all this accepts: anything else is a malformed id, never a server error. (What a
person types, a member number say, is normalised by ``efnet.normalize`` instead.)"""

from __future__ import annotations

import re

from django.core.exceptions import BadRequest

# 18 digits stay below the largest 64-bit integer (9223372036854775807), the widest id column we have.
_ID = re.compile(r"[0-9]{1,18}")


def parse_id(value) -> int | None:
    """The id in ``value``, or None when it is missing or malformed."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return None
    return int(value)


def parse_optional_id(value, *, what: str) -> int | None:
    """None when the parameter is absent or empty; the id when well-formed; else a 400 naming ``what``."""
    if value in (None, ""):
        return None
    parsed = parse_id(value)
    if parsed is None:
        raise BadRequest(f"{what}の指定が正しくありません。")
    return parsed


def page_number(request) -> int:
    """The ``page`` query parameter for ``Paginator.get_page``: a malformed one is the first page."""
    return parse_id(request.GET.get("page")) or 1
