"""End to end in a real browser: an office clerk logs in with the second factor, searches with full-width
digits, opens the member, and reveals a password after re-entering the login password."""

import pytest

from efnet.models import AuditEvent
from members.models import Member
from tests.browser import browser_login
from tests.conftest import STAFF_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def to_fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def test_clerk_finds_member_by_fullwidth_number_and_reveals_password(world, browser_page):
    page = browser_page
    member = world.member_a
    browser_login(page, world.clerk_a)

    page.get_by_role("searchbox").fill(to_fullwidth(member.number))
    page.get_by_role("button", name="検索").click()
    # One hit: straight to the member page.
    page.get_by_role("heading", name=member.name).wait_for()

    # The last authentication is made to look old, so the reveal asks for the password again.
    session_store = _age_session(page)
    page.locator("#secret-primary").get_by_role("button", name="表示").click()
    page.locator("#secret-primary input[type=password]").fill(STAFF_PASSWORD)
    page.locator("#secret-primary").get_by_role("button", name="確認して表示").click()
    revealed = page.get_by_test_id("revealed")
    revealed.wait_for()
    shown = revealed.inner_text()
    assert shown == Member.objects.get(pk=member.pk).biglobe_password
    assert not shown.startswith("v1:")  # the plaintext, not the stored ciphertext
    assert session_store is not None
    event = AuditEvent.objects.get(action="member.password.revealed")
    assert event.actor == world.clerk_a
    assert event.member_id == member.pk
    assert member.biglobe_password not in str(event.details)


def _age_session(page):
    from django.contrib.sessions.backends.db import SessionStore

    from efnet.auth_views import AUTH_AT

    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    store = SessionStore(session_key=cookie["value"])
    store[AUTH_AT] = 0
    store.save()
    return store
