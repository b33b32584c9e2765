"""End to end in a real browser: an Osaka clerk reissues a lost member card from the member page and gets
the PDF as a download; the card is in the issue history afterwards."""

import pytest

from efnet.pdf import render_pdf
from members.models import MemberCard
from tests.browser import browser_login
from tests.documents.test_card_issue import assert_in_order, pdf_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clerk_reissues_a_lost_card_and_downloads_it(world, browser_page):
    page = browser_page
    member = world.member_a
    render_pdf("<p>準備</p>")  # the live server shares this process: load the fonts before the clock runs
    page.set_default_timeout(120_000)  # rendering on a busy 2-core CI machine can take a while; no timing here
    browser_login(page, world.clerk_a, next_url=f"/members/{member.pk}/")
    page.get_by_role("heading", name=member.name).wait_for()

    page.get_by_label("会員証の発行理由").select_option("紛失再発行")
    with page.expect_download(timeout=120_000) as download_info:
        page.get_by_role("button", name="会員証を再発行").click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"membercard-{member.number}-")
    with open(download.path(), "rb") as stream:
        data = stream.read()
    card = MemberCard.objects.get(member=member)
    assert card.reason == "紛失再発行" and card.issued_by == world.clerk_a
    assert_in_order(pdf_text(data), [member.number, member.name, member.biglobe_password, card.serial])

    # The page reloads itself and shows the new card in the history.
    page.get_by_role("cell", name=card.serial).wait_for()
