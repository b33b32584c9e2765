"""In a real browser, the security review's scenario: a clerk writes an htmx element into a member's name through
the edit form; a second admin merely opens the notice preview for that member. Nothing may be posted in the
admin's name: the notice stays a draft, and the name shows as the text the clerk typed."""

import datetime

import pytest

from notices.models import Notice
from tests.browser import browser_login
from tests.notices.conftest import enroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<b hx-post="../approve/" hx-trigger="load">確認中</b>'


def test_a_clerks_htmx_in_a_member_name_cannot_approve_a_notice_from_the_preview(world, campaign, browser_page):
    page = browser_page
    enroll(world.member_a, world.member_b)
    notice = Notice.objects.create(
        campaign=campaign,
        edition=3,
        title="パスワード変更のお願い",
        date=datetime.date(2026, 7, 1),
        body="{{ 会社名 }} 様\n\nご確認ください。",
        author=world.admin,
    )

    browser_login(page, world.clerk_a, next_url=f"/members/{world.member_a.pk}/edit/")
    page.get_by_label("登録者名").fill(PAYLOAD)
    page.get_by_role("button", name="保存する").click()
    page.wait_for_load_state()
    world.member_a.refresh_from_db()
    assert world.member_a.name == PAYLOAD  # stored as typed; the defence is in how it is shown
    page.get_by_role("button", name="ログアウト").click()

    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    browser_login(page, world.admin2, next_url=f"/notices/{notice.pk}/preview/?number={world.member_a.number}")
    preview = page.locator("[data-testid=preview-text]")
    preview.wait_for()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1_500)  # hx-trigger="load" would have fired by now

    assert [url for url in posts if "/login/" not in url] == []  # the login form's own POSTs aside
    notice.refresh_from_db()
    assert notice.state == Notice.State.DRAFT and notice.approved_by is None
    assert not notice.deliveries.exists()
    assert PAYLOAD in preview.inner_text()  # shown as the text the clerk typed, not turned into an element
