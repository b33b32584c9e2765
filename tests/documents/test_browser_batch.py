"""End to end in a real browser: an Osaka clerk watches a batch reissue progress in place (htmx, no reload)
while the worker renders it, then downloads the combined PDF."""

import io

import pytest
from pypdf import PdfReader

from documents import services
from documents.models import BatchJob
from efnet.pdf import render_pdf
from tests.browser import browser_login
from tests.factories import MemberFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clerk_watches_a_batch_finish_in_place_and_downloads_it(world, browser_page):
    page = browser_page
    members = sorted([world.member_a, MemberFactory(office=world.office_a)], key=lambda m: m.number)
    render_pdf("<p>準備</p>")  # the live server shares this process: load the fonts before the clock runs
    page.set_default_timeout(120_000)  # a busy 2-core CI machine; deadlines, not timings
    # Queued, as the form leaves it when the worker has not picked it up yet.
    job = BatchJob.objects.create(
        requested_by=world.clerk_a,
        office=world.office_a,
        reason="紛失再発行",
        member_ids=[m.pk for m in members],
        total=len(members),
    )
    browser_login(page, world.clerk_a, next_url=f"/documents/batches/{job.pk}/")
    status = page.get_by_test_id("batch-status")
    status.filter(has_text="待機中").wait_for()
    page.evaluate("window.notReloaded = true")

    services.batch_run(job_id=job.pk)  # the worker's part

    status.filter(has_text="完了").wait_for()  # the progress region polled and swapped itself
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("progress").get_attribute("value") == str(len(members))

    with page.expect_download() as download_info:
        page.get_by_role("button", name="ダウンロード").click()
    download = download_info.value
    with open(download.path(), "rb") as stream:
        pages = PdfReader(io.BytesIO(stream.read())).pages
    assert len(pages) == len(members)
    for pdf_page, member in zip(pages, members, strict=True):
        assert member.number in pdf_page.extract_text()
    job.refresh_from_db()
    assert job.status == BatchJob.Status.DOWNLOADED
