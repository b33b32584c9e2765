"""The member's self-report page on a phone (320-414 px): nothing wider than the screen, badges on one line,
and checkboxes and the button large enough to touch. Ticking by tapping the account's block records it."""

import datetime
import os

import pytest

from tests.factories import AddressFactory
from tracking import selfreport
from tracking.models import AccountStatus, Campaign, Status
from tracking.services import accounts_enroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [320, 390, 414])
def test_the_self_report_page_fits_a_phone(world, browser_page, width):
    campaign = Campaign.objects.create(
        name="2026年6月 BIGLOBEパスワード変更",
        started_on=datetime.date(2026, 6, 1),
        deadline=datetime.date(2026, 7, 31),
    )
    member = world.member_a
    member.email = "a-rather-long-mailbox-name.for-the-company@example-members.biglobe.ne.jp"
    member.save()
    AddressFactory(member=member, slot=2, address="sales-department-second-address@example-members.biglobe.ne.jp")
    accounts_enroll(member=member)
    page = browser_page
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(selfreport.self_report_path(member=member, campaign=campaign))
    page.get_by_role("heading", name="パスワード変更のご報告").wait_for()
    if os.environ.get("EFNET_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["EFNET_SCREENSHOTS"], f"selfreport-{width}.png"), full_page=True)

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for badge in page.locator(".badge").all():
        box = badge.bounding_box()
        assert box["height"] < 40, "a badge wraps"  # one line of text, not a character per line
    for box in [
        page.locator("input[type=checkbox]").first.bounding_box(),
        page.get_by_role("button", name="報告する").bounding_box(),
    ]:
        assert box["height"] >= 24 and box["width"] >= 24
    assert page.get_by_role("button", name="報告する").bounding_box()["height"] >= 44

    page.get_by_text("追加メールアドレス2").click()  # the whole block is the label
    page.get_by_role("button", name="報告する").click()
    page.wait_for_load_state()
    statuses = dict(AccountStatus.objects.filter(member=member).values_list("address__slot", "status"))
    assert statuses[2] == Status.DONE and statuses[None] == Status.NOT_NOTIFIED
