"""In a real browser: an office clerk marks two accounts complete in bulk and sees the dashboard move."""

import os

import pytest

from tests.browser import browser_login
from tracking.models import AccountStatus, Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("TRACKING_SCREENSHOTS")  # a folder: save screenshots there for a human look


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def _cell(page, office_code, key):
    return page.locator(f'tr[data-office="{office_code}"] a[data-count="{key}"]')


def test_clerk_bulk_completes_two_accounts_and_dashboard_moves(world, campaign, browser_page):
    page = browser_page
    browser_login(page, world.clerk_a, next_url="/tracking/")
    page.get_by_role("heading", name=campaign.name).wait_for()
    _shot(page, "dashboard_before")
    office = world.office_a.code
    assert _cell(page, office, "accounts-完了").inner_text() == "0"
    assert _cell(page, office, "accounts-未案内").inner_text() == "2"
    assert page.locator(f'tr[data-office="{world.office_b.code}"]').count() == 0  # office A only

    # The number is a link to exactly those accounts.
    _cell(page, office, "accounts-未案内").click()
    page.get_by_role("heading", name="アカウント一覧").wait_for()
    page.get_by_label("このページをすべて選択").check()
    assert page.locator("[data-tracking-count]").inner_text() == "2"
    page.locator("#bulk_status").select_option("完了")  # nothing is chosen for the clerk
    page.get_by_label("確認方法").select_option("電話")
    page.get_by_label("メモ").fill("本人から電話")
    _shot(page, "account_list")
    page.get_by_role("button", name="確認へ進む").click()
    page.get_by_text("2件").first.wait_for()
    _shot(page, "bulk_confirm")
    page.get_by_role("button", name="2件を記録する").click()
    page.get_by_text("2件のアカウントを「完了」にしました").wait_for()

    page.get_by_role("link", name="ダッシュボードへ").click()
    page.get_by_role("heading", name=campaign.name).wait_for()
    _shot(page, "dashboard_after")
    assert _cell(page, office, "accounts-完了").inner_text() == "2"
    assert _cell(page, office, "accounts-未案内").inner_text() == "0"
    assert _cell(page, office, "members-完了").inner_text() == "1"
    assert AccountStatus.objects.filter(member=world.member_a, status=Status.DONE).count() == 2
    assert AccountStatus.objects.get(member=world.member_b, address=None).status == Status.NOT_NOTIFIED

    # The member page shows both accounts done, and the timeline has the changes.
    page.goto(f"/members/{world.member_a.pk}/")
    page.get_by_text("この会員は完了").wait_for()
    _shot(page, "member_page")
