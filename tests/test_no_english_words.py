"""No English words on any page a clerk, head office or an admin sees, except proper names.

Every GET URL of the access matrix (tests/url_specs/) is fetched as every persona, for office A's and office B's
objects (the ones the persona may see), the public pages (login, the member's self-report page) logged out,
plus the Django admin's pages for an admin (index, each model's list,
add and change form). From each HTML answer the visible text is taken (scripts, styles and elements marked
``data-user-text`` left out: those show what members and staff wrote) with the words people read in
attributes (title, placeholder, aria-label, alt, a button's value). Every ASCII word of two letters or more
must be in ALLOWED, or be part of the test data (a member's mail address, a server name).

To extend: a proper name or a product name goes into ALLOWED with a comment if it is not obvious; a page that
shows members' or staff's own text marks that element ``data-user-text``; new URLs are crawled through their
spec. A failure lists each word with the pages it was found on.
"""

from __future__ import annotations

import re
from collections import defaultdict
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.urls import NoReverseMatch, reverse

from tests.conftest import login
from tests.url_specs import all_specs

pytestmark = pytest.mark.django_db

# Proper names, abbreviations people use as words, and units. Compared case-sensitively.
ALLOWED = {
    # Names of companies, products and protocols
    "BIGLOBE",
    "EF",
    "POP",
    "POP3",
    "SMTP",
    "IMAP",
    "Excel",
    "Shift_JIS",
    "Shift",
    "JIS",
    "CP",
    "UTF",
    "BOM",
    "Google",
    "Microsoft",
    "Authenticator",
    "TOTP",
    "User-Agent",
    "User",
    "Agent",
    "HTTP",
    "HTTPS",
    "Accept",
    "GET",
    "POST",
    "SHA",
    # Abbreviations read as such in Japanese offices
    "ID",
    "IDs",
    "PDF",
    "CSV",
    "FAX",
    "QR",
    "URL",
    "IP",
    "OK",
    "TEL",
    "No",
    "xlsx",
    "csv",
    "pdf",
    "A4",
    "MB",
    "KB",
    "PNG",
    "TIFF",
    "JPEG",
    "JPG",
    "SSL",
    "TLS",
    "STARTTLS",
    "DNS",
    "CP932",
    "ZIP",
    "LDAP",
    # Keys and a computer, in Django's own Japanese help for multiple selection (Control / Command on a Mac)
    "Control",
    "Command",
    "Mac",
}
# What the demo and test data put in members' and offices' fields: domains, server names.
DATA_WORDS = {"example", "jp", "ne", "biglobe", "mail", "efnet", "demo", "com", "smtp", "pop"}

# <bdi> holds a value Django's admin shows as it is stored (a password hash's parts).
SKIP_TAGS = {"script", "style", "template", "noscript", "bdi"}
ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*[A-Za-z0-9]|[A-Za-z]{2,}")
PERSONAS = ("admin", "head", "clerk_a", "reader_a", "anonymous")
SPECS = all_specs()


class VisibleText(HTMLParser):
    """The text a person reads: element text and the readable attributes, without scripts, styles and
    elements marked ``data-user-text`` (and everything inside them)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden)

    @property
    def hidden(self) -> bool:
        return any(h for _, h in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        hide = tag in SKIP_TAGS or "data-user-text" in attrs
        if not self.hidden and not hide:
            for name in ATTRIBUTES:
                if attrs.get(name):
                    self.parts.append(attrs[name])
            if tag == "input" and attrs.get("type") in ("submit", "button", "reset") and attrs.get("value"):
                self.parts.append(attrs["value"])
        if tag not in self.VOID:
            self.stack.append((tag, hide))

    def handle_startendtag(self, tag, attrs):
        if tag not in self.VOID:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)
        else:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_words(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    text = " ".join(parser.parts)
    # Addresses and host names are data (the office's, a member's, ours), never words of the UI.
    text = re.sub(r"[\w.+-]+@[\w.-]+|https?://\S+|\b[\w-]+(\.[\w-]+)*\.(jp|com|net|org|example|test)\b", " ", text)
    return set(WORD.findall(text))


def _data_words() -> set[str]:
    """Every ASCII word in the string columns of the rows the test world holds (members, addresses, offices,
    staff, notices…): what a page shows of them is data, not UI. The audit log is not data here: its
    descriptions are the UI's own words."""
    from efnet.models import AuditEvent

    words = set(DATA_WORDS)
    for model in apps.get_models():
        if model is AuditEvent or model._meta.app_label in ("contenttypes", "auth", "sessions", "admin"):
            continue
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, (models.CharField, models.TextField)) and not f.choices
        ]
        if not fields:
            continue
        for row in model.objects.values_list(*fields):
            for value in row:
                if isinstance(value, str):
                    words.update(WORD.findall(value))
    return words


def _html(response) -> str | None:
    if not response.get("Content-Type", "").startswith("text/html"):
        return None
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


def _pages(client, world, persona):
    for name, spec in sorted(SPECS.items()):
        if spec.method != "GET" or (persona == "anonymous" and spec.access != "public"):
            continue
        for own in (True, False) if persona in ("head", "admin") else (True,):
            url = reverse(name, kwargs=spec.kwargs(world, own) if spec.kwargs else {})
            yield url, client.get(url)
    if persona == "admin":
        yield from _admin_pages(client)


def _admin_pages(client):
    yield reverse("admin:index"), client.get(reverse("admin:index"))
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        yield f"admin:{info[0]}", client.get(reverse("admin:app_list", args=[info[0]]))
        for view in ("changelist", "add"):
            try:
                url = reverse(f"admin:{info[0]}_{info[1]}_{view}")
            except NoReverseMatch:
                continue
            yield url, client.get(url)
        first = model.objects.order_by("pk").first()
        if first is not None:
            url = reverse(f"admin:{info[0]}_{info[1]}_change", args=[first.pk])
            yield url, client.get(url)


@pytest.fixture
def busy_world(world):
    """The matrix's world with a little of everything pages show: an audit event of each kind, a status
    record, so the audit log and the timelines have rows."""
    from efnet import audit

    changed = {"changed": {"phone": ["1", "2"]}}
    audit.record("member.updated", actor=world.clerk_a, target=world.member_a, details=changed)
    audit.record("tracking.calllist.exported", actor=world.clerk_a, office=world.office_a, details={"format": "csv"})
    audit.record("access.denied", actor=world.clerk_a, details={"path": "/audit/", "why": "head_office_required"})
    return world


def test_no_page_shows_an_english_word(client, busy_world):
    world = busy_world
    # As an English-language browser asks (Chromium's default locale is en-US): the pages stay Japanese.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
    found: dict[str, set[str]] = defaultdict(set)
    pages = 0
    for persona in PERSONAS:
        if persona == "anonymous":
            client.logout()  # the login pages and the member's self-report page as their readers see them
        else:
            login(client, world.persona(persona))
        for url, response in _pages(client, world, persona):
            html = _html(response)
            if html is None:
                continue
            pages += 1
            for word in visible_words(html) - ALLOWED:
                found[word].add(f"{url} ({persona})")
    allowed_data = _data_words()
    english = {w: sorted(where)[:4] for w, where in found.items() if w not in allowed_data}
    assert pages > 60  # the crawl reached the pages
    assert not english, "English words on pages:\n" + "\n".join(
        f"  {w}: {', '.join(where)}" for w, where in sorted(english.items())
    )


def test_the_crawler_sees_text_and_attributes_but_not_user_text_or_scripts():
    html = (
        '<p>会員 Search</p><input type="submit" value="Save"><input placeholder="Type here">'
        '<script>var x = "hidden";</script><td data-user-text><b>Acme Corp</b></td><a title="Open">開く</a>'
        "<p>efnet@example.jp mail.biglobe.ne.jp</p><p>tracking.calllist.exported</p>"
    )
    assert visible_words(html) == {"Search", "Save", "Type", "here", "Open", "tracking", "calllist", "exported"}
