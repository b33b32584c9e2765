"""In a real browser: printing a card after re-entering the password, with a wrong password first. The cursor
starts in the password field; the right password downloads the PDF and the page goes back to the member, with
the success message and the new card in the history, and nothing of the earlier error left on screen. A GET
on the print URL (what reloading that screen used to be) lands on the member page, not on a blank 405."""

import pytest

from efnet.pdf import render_pdf
from members.models import MemberCard
from tests.browser import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_wrong_then_right_password_downloads_and_returns_to_the_member(world, browser_page, settings):
    settings.REAUTH_MAX_AGE_SECONDS = -1  # every print asks for the password again
    page = browser_page
    member = world.member_a
    render_pdf("<p>準備</p>")  # the live server shares this process: load the fonts before the clock runs
    page.set_default_timeout(120_000)
    browser_login(page, world.clerk_a, next_url=f"/members/{member.pk}/")
    page.get_by_label("会員証の発行理由").select_option("紛失再発行")
    page.get_by_role("button", name="会員証を再発行").click()

    password = page.get_by_label("ログインパスワード")
    password.wait_for()
    assert page.evaluate("document.activeElement.name") == "password"
    password.fill("not-the-password")
    password.press("Enter")
    page.get_by_text("パスワードが正しくありません。").wait_for()
    assert page.evaluate("document.activeElement.name") == "password"

    from tests.conftest import STAFF_PASSWORD

    page.get_by_label("ログインパスワード").fill(STAFF_PASSWORD)
    with page.expect_download(timeout=120_000) as download_info:
        page.get_by_role("button", name="確認して発行").click()
    assert download_info.value.suggested_filename.startswith(f"membercard-{member.number}-")
    card = MemberCard.objects.get(member=member)

    page.wait_for_url(f"**/members/{member.pk}/")
    page.get_by_text(f"会員証を発行しました（発行番号 {card.serial}）").wait_for()
    page.get_by_role("cell", name=card.serial).wait_for()
    assert page.get_by_text("パスワードが正しくありません。").count() == 0

    page.goto(f"/documents/members/{member.pk}/card/")
    assert page.url.endswith(f"/members/{member.pk}/")
    page.get_by_role("heading", name=member.name).wait_for()
    assert MemberCard.objects.filter(member=member).count() == 1
