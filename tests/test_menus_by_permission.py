"""Menus and buttons by permission: every link, form and htmx request on every page a persona can open points
at a URL that persona may use (tests/url_specs/ says who may use what). A menu entry or a button that would only
answer 403 is a fault of the page, not of the user.

Personas: those of the URL matrix plus ``viewer_a``, an office-A clerk without the reveal permission (the demo's
osaka_viewer)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.urls import Resolver404, resolve, reverse

from efnet.models import Role
from tests.conftest import login, make_staff
from tests.test_url_matrix import ALLOWED
from tests.url_specs import all_specs

SPECS = all_specs()
PERSONAS = ["clerk_a", "viewer_a", "reader_a", "head", "admin"]
# viewer_a is a 営業所 clerk: everything an editor may use, nothing that prints or shows a password.
ALLOWED_WITH_VIEWER = {
    access: set(who) | ({"viewer_a"} if "clerk_a" in who and access != "reveal" else set())
    for access, who in ALLOWED.items()
}
TARGET_ATTRIBUTES = {"href", "action", "hx-get", "hx-post", "formaction"}


class Targets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in TARGET_ATTRIBUTES and value:
                self.targets.append((f"<{tag} {name}>", value))


def _targets(html: str) -> list[tuple[str, str]]:
    parser = Targets()
    parser.feed(html)
    return parser.targets


def _url_name(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("/static/"):
        return None
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    return match.view_name


def _access(view_name: str) -> str:
    if view_name.startswith("admin:"):
        return "admin"
    return SPECS[view_name].access


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_link_and_button_on_every_page_is_usable_by_who_sees_it(client, world, persona):
    world.viewer_a = make_staff("viewer_a", office=world.office_a, roles=[Role.SALES_OFFICE])
    user = world.persona(persona)
    login(client, user)
    problems = []
    pages = 0
    for name, spec in sorted(SPECS.items()):
        if spec.method != "GET" or spec.access == "public":
            continue
        for own in (True, False):
            kwargs = spec.kwargs(world, own) if spec.kwargs else {}
            url = reverse(name, kwargs=kwargs)
            response = client.get(url)
            if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
                continue
            pages += 1
            for where, value in _targets(response.content.decode()):
                target = _url_name(value)
                if target is None or target not in SPECS and not target.startswith("admin:"):
                    continue
                if persona not in ALLOWED_WITH_VIEWER[_access(target)]:
                    problems.append(f"{url}: {where} → {value} ({target} needs {_access(target)})")
    assert pages >= 5, "the sweep opened too few pages to mean anything"
    assert not problems, f"{persona} is offered what it may not use:\n" + "\n".join(sorted(set(problems)))


@pytest.mark.parametrize(
    "persona, shown, hidden",
    [
        ("clerk_a", ["会員検索", "一括発行", "FAX返信の取り込み"], ["案内", "監査ログ", "管理"]),
        ("viewer_a", ["会員検索", "FAX返信の取り込み"], ["一括発行", "案内", "監査ログ", "管理"]),
        ("reader_a", ["会員検索", "ダッシュボード"], ["一括発行", "FAX返信の取り込み", "監査ログ", "管理"]),
        ("head", ["ダッシュボード", "監査ログ"], ["一括発行", "案内", "管理"]),
        ("admin", ["一括発行", "案内", "監査ログ", "管理"], []),
    ],
)
def test_the_menu_names_what_each_role_may_use(client, world, persona, shown, hidden):
    world.viewer_a = make_staff("viewer_a", office=world.office_a, roles=[Role.SALES_OFFICE])
    login(client, world.persona(persona))
    html = client.get(reverse("members:search")).content.decode()
    menu = html.split("<nav>", 1)[1].split("</nav>", 1)[0]
    entries = [e.split(">", 1)[1] for e in menu.split("</a>")[:-1]]
    for name in shown:
        assert name in entries, f"{persona} should see {name}: {entries}"
    for name in hidden:
        assert name not in entries, f"{persona} should not see {name}: {entries}"
