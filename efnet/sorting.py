"""Sortable list columns: ``?sort=name`` or ``?sort=-name``, from a fixed set per list, keeping every other
filter in the links. An unknown key falls back to the list's own order, so a tampered link sorts nothing odd."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F
from django.http import QueryDict


@dataclass(frozen=True)
class Sort:
    key: str  # "" when the list's default order applies
    descending: bool
    params: QueryDict  # the request's query, without page and sort

    def url(self, key: str) -> str:
        """The query string that sorts by ``key``: ascending first, descending on a second click."""
        params = self.params.copy()
        params["sort"] = f"-{key}" if key == self.key and not self.descending else key
        return "?" + params.urlencode()


def sort_from(request, columns: dict[str, tuple[str, ...]]) -> tuple[Sort, list | None]:
    """The requested sort and the ``order_by`` fields for it (None: keep the default order).
    ``columns`` maps a sort key to the fields it orders by, ascending; a tie-breaker should end each."""
    raw = request.GET.get("sort", "")
    descending = raw.startswith("-")
    key = raw.lstrip("-")
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("sort", None)
    if key not in columns:
        return Sort("", False, params), None
    # Empty values (never notified, no date) last either way, on every database.
    fields = [F(f).desc(nulls_last=True) if descending else F(f).asc(nulls_last=True) for f in columns[key]]
    return Sort(key, descending, params), fields
