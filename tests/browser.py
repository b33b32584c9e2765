"""Browser-test harness: Playwright driving Debian's Chromium (headless) against pytest-django's live server.

The fixtures are registered in tests/conftest.py: ``browser_page`` (a fresh page whose relative URLs go to the
live server); ``browser_login(page, user)`` logs in through the real two-step form, second factor included.
Mark such tests ``@pytest.mark.browser`` and ``@pytest.mark.django_db(transaction=True)`` (the live server
runs in another thread and must see committed rows).
"""

from __future__ import annotations

import os
import re
import shutil

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def _chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it are
    # ordinary blocking calls, which Django would otherwise refuse.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(_chromium, live_server, request):
    context = _chromium.new_context(base_url=live_server.url, locale="ja-JP", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        # What the browser was showing when the test failed: shown in the report's captured output, and kept as
        # a screenshot under test-artifacts/ (gitignored; CI keeps the folder as the run's artifact).
        print(f"\n--- browser at failure: {page.url}\n{page.locator('body').inner_text(timeout=2_000)[:3000]}")
        print(f"--- screenshot: {_failure_screenshot(page, request.node.nodeid)}")
    context.close()


ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test-artifacts")


def _failure_screenshot(page, nodeid: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:150]
    path = os.path.join(ARTIFACTS, f"{name}.png")
    try:
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=path, full_page=True, timeout=10_000)
    except Exception as exc:  # the page may be gone; the text above still says what it showed
        return f"(none: {exc})"
    return path


def current_totp(user) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


def browser_login(page, user, *, password: str | None = None, next_url: str = "/"):
    """Log in through the real forms: username and password, then the TOTP code."""
    from tests.conftest import STAFF_PASSWORD

    password = password or STAFF_PASSWORD
    page.goto(f"/login/?next={next_url}")
    page.get_by_label("ユーザー名").fill(user.username)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="次へ").click()
    page.get_by_label("確認コード（6桁）").fill(current_totp(user))
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_load_state()
    return page
