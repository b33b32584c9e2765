"""In a real browser: an admin writes a notice from the built-in 第2報, a second admin approves and sends it,
and the progress reaches 100%."""

import pytest
from django.core import mail

from notices.models import Delivery, Notice
from tests.browser import browser_login
from tests.notices.conftest import enroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_writes_from_the_template_second_admin_approves_and_it_is_sent(world, campaign, browser_page):
    page = browser_page
    enroll(world.member_a, world.member_b)

    browser_login(page, world.admin, next_url="/notices/")
    page.get_by_role("button", name="ひな形をコピー").click()
    page.get_by_label("件名").fill("【重要】BIGLOBE パスワード変更のお願い（再）")
    page.locator("[data-testid=audience-total]").wait_for()
    assert page.locator("[data-testid=audience-total]").inner_text() == "2"
    page.get_by_role("button", name="保存する").click()
    page.get_by_text("作成者以外の管理者の承認が必要です。").wait_for()
    notice = Notice.objects.get()
    assert notice.author == world.admin and notice.state == Notice.State.DRAFT

    page.get_by_role("button", name="ログアウト").click()
    browser_login(page, world.admin2, next_url=f"/notices/{notice.pk}/")
    page.get_by_role("button", name="承認する").click()
    page.get_by_role("button", name="承認する").click()  # on the confirmation page, which shows the counts
    page.get_by_role("button", name="送信を開始").click()
    page.get_by_role("button", name="送信を開始").click()
    page.locator("[data-testid=progress-percent]", has_text="100%").wait_for()

    notice.refresh_from_db()
    assert notice.state == Notice.State.SENT and notice.approved_by == world.admin2
    assert set(notice.deliveries.values_list("status", flat=True)) == {Delivery.Status.SENT}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([world.member_a.email, world.member_b.email])
    assert "【2：BIGLOBE パスワード変更】" in mail.outbox[0].body
