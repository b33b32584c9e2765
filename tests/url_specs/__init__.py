"""Access specs for every URL of the project, one module per app; test_url_matrix checks they cover all.

A spec says who may use a URL and how to build its arguments for an object of office A (``own=True``)
or office B (``own=False``). Access levels:

- ``public``: no login (login pages, the member self-report link)
- ``staff``:  any logged-in staff user (scoped: another office's object is a 404)
- ``editor``: staff who may change members (営業所 clerks, head office, admins)
- ``reveal``: holders of the reveal permission
- ``head``:   head office and admins
- ``admin``:  admins only
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class UrlSpec:
    name: str
    access: str
    kwargs: Callable | None = None  # (world, own) -> dict; None for URLs without arguments
    method: str = "GET"
    data: Callable | None = None  # (world, own) -> dict of POST data
    scoped: bool = True  # False: the arguments name no office's object
    # Query or body parameters the view reads as ids (beyond the generic names every URL is sent in
    # tests/test_bad_ids.py): each is sent alone with malformed values.
    id_params: tuple[str, ...] = ()
    # Server-error statuses that are the URL's meaning rather than a failure (/healthz's 503 when unhealthy).
    server_statuses: tuple[int, ...] = ()

    def server_error(self, status: int) -> bool:
        return status >= 500 and status not in self.server_statuses


def all_specs() -> dict[str, UrlSpec]:
    specs: dict[str, UrlSpec] = {}
    for module in pkgutil.iter_modules(__path__):
        for spec in importlib.import_module(f"{__name__}.{module.name}").SPECS:
            assert spec.name not in specs, f"{spec.name} has two specs"
            specs[spec.name] = spec
    return specs
