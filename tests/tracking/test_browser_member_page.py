"""In a real browser, on the member page: from the keyboard, 「完了（本日・電話）」 comes before the red
パスワード再設定; ticking two accounts marks both 完了 with one click; the third stays pending."""

import datetime
import os

import pytest

from tests.browser import browser_login
from tests.factories import AddressFactory
from tracking.models import AccountStatus, Campaign, Status
from tracking.services import accounts_enroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _focused_names(page, until: str, limit: int = 80) -> list[str]:
    page.locator("body").focus()
    names = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        name = page.evaluate("(document.activeElement.innerText || document.activeElement.value || '').trim()")
        names.append(name)
        if name == until:
            break
    return names


def test_keyboard_order_and_two_accounts_done_at_once(world, browser_page):
    Campaign.objects.create(name="2026年6月 BIGLOBEパスワード変更", started_on=datetime.date(2026, 6, 1))
    third = AddressFactory(member=world.member_a, slot=2)
    accounts_enroll(member=world.member_a)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    browser_login(page, world.clerk_a, next_url=f"/members/{world.member_a.pk}/")
    page.get_by_role("heading", name=world.member_a.name).wait_for()
    if os.environ.get("EFNET_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["EFNET_SCREENSHOTS"], "member-page.png"), full_page=True)

    names = _focused_names(page, until="パスワード再設定")
    assert "パスワード再設定" in names, names
    assert names.index("完了（本日・電話）") < names.index("パスワード再設定"), names

    page.get_by_label("メインアカウントを選ぶ").check()
    page.get_by_label("追加メールアドレス1を選ぶ").check()
    page.get_by_role("button", name="選んだアカウントを完了（本日・電話）").click()
    page.get_by_text("メインアカウント、追加メールアドレス1を「完了」にしました（電話）。").wait_for()
    statuses = dict(AccountStatus.objects.filter(member=world.member_a).values_list("address__slot", "status"))
    assert statuses == {None: Status.DONE, 1: Status.DONE, 2: Status.NOT_NOTIFIED}
    assert third.is_active
    page.get_by_text("未完了 1件").wait_for()
