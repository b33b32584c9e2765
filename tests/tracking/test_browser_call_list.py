"""In a real browser at 1366 px: head office goes from the dashboard to an office's pending members in one
click, the call list keeps phone numbers and badges on one line, and a call's outcome is recorded from a row."""

import os

import pytest

from efnet.models import AuditEvent
from tests.browser import browser_login
from tests.factories import MemberFactory
from tracking.services import accounts_enroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("TRACKING_SCREENSHOTS")


def _one_line(locator) -> bool:
    """The element's text lays out on one line (one client rect per line of a text range)."""
    script = "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length }"
    return locator.evaluate(script) == 1


def test_dashboard_to_pending_list_to_call_record(world, campaign, browser_page):
    for i in range(3):
        m = MemberFactory(
            office=world.office_a, name=f"株式会社とても長い名前の取引先第{i}号商事", phone="06-6123-4567"
        )
        accounts_enroll(member=m)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    browser_login(page, world.admin, next_url="/tracking/")
    page.locator(f'a[data-pending="{world.office_a.code}"]').click()  # one click
    page.get_by_role("heading", name="会員一覧").wait_for()
    assert "status=%E6%9C%AA%E5%AE%8C%E4%BA%86" in page.url or "status=未完了" in page.url
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "call_list_1366.png"), full_page=True)
    rows = page.locator("tbody tr")
    assert rows.count() == 4  # office A's four pending members, none of office B
    for cell in page.locator("tbody td.nowrap").all()[:6]:
        assert _one_line(cell), cell.inner_text()
    for badge in page.locator("tbody .badge").all():
        assert _one_line(badge), badge.inner_text()

    row = page.locator(f"#m{world.member_a.pk}")
    row.locator("select[name=result]").select_option("不在")
    row.locator("input[name=note]").fill("午後に再度")
    row.get_by_role("button", name="記録").click()
    page.get_by_text("の架電結果「不在」を記録しました").wait_for()
    assert "status=" in page.url  # back on the same filtered list
    event = AuditEvent.objects.get(action="tracking.call.recorded")
    assert event.member_id == world.member_a.pk and event.details["note"] == "午後に再度"
