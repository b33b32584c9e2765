"""The FAX bundle as a background job on the documents batch machinery: progress, left-out members listed,
encrypted file, one-time download by the admin who asked."""

import io

from django.urls import reverse
from pypdf import PdfReader

from documents.models import BatchJob
from efnet.models import AuditEvent
from tests.conftest import login
from tests.factories import MemberFactory
from tests.notices.conftest import approved_notice, enroll
from tests.stored import StoredArea


def test_an_admin_builds_the_bundle_in_the_background_and_downloads_it_once(
    client, world, campaign, settings, django_capture_on_commit_callbacks
):
    settings.DOCUMENTS_BATCH_CHUNK_SIZE = 2  # several chunks, merged into one PDF
    good = [MemberFactory(office=office, email="") for office in (world.office_a, world.office_b, world.office_a)]
    bad = MemberFactory(office=world.office_a, email="", name="テスト\U0001fae8商店")
    enroll(*good, bad)
    notice = approved_notice(world, campaign)
    login(client, world.admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("notices:bundle_job", args=[notice.pk]))

    job = BatchJob.objects.get(kind=BatchJob.Kind.NOTICE_BUNDLE)
    assert response.status_code == 302 and response["Location"] == reverse("documents:batch_detail", args=[job.pk])
    assert job.status == BatchJob.Status.DONE, job.error
    assert job.office is None and job.notice == notice and job.total == 4
    assert job.done_count == 3 and job.skipped_count == 1
    assert bad.number in job.error and "U+1FAE8" in job.error and "登録者名" in job.error
    stored = StoredArea("documents").raw(job.file_name)
    assert b"%PDF" not in stored  # encrypted at rest
    page = client.get(reverse("documents:batch_detail", args=[job.pk])).content.decode()
    assert "案内のFAX・印刷PDF" in page and bad.number in page and "3 / 4" in page
    assert AuditEvent.objects.filter(action="notice.bundle.printed", details__job=job.pk).exists()

    # A clerk cannot see the admin's bundle job at all.
    login(client, world.clerk_a)
    assert client.get(reverse("documents:batch_detail", args=[job.pk])).status_code == 404

    login(client, world.admin)
    download = client.post(reverse("documents:batch_download", args=[job.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    pdf = b"".join(download.streaming_content)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(" ", "")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 6
    assert all(m.number in text for m in good) and bad.number not in text
    job.refresh_from_db()
    assert job.status == BatchJob.Status.DOWNLOADED and f"{job.uuid}.bin" not in StoredArea("documents").names()
    again = client.post(reverse("documents:batch_download", args=[job.pk]), follow=True)
    assert "ダウンロードできません" in again.content.decode() or "すでに" in again.content.decode()


def test_a_second_bundle_job_for_the_same_notice_waits_for_the_first(client, world, campaign):
    member = MemberFactory(office=world.office_a, email="")
    enroll(member)
    notice = approved_notice(world, campaign, audience_channel="fax")
    login(client, world.admin)
    client.post(reverse("notices:bundle_job", args=[notice.pk]))  # on_commit not run: stays queued

    response = client.post(reverse("notices:bundle_job", args=[notice.pk]), follow=True)

    assert "作成中です" in response.content.decode()
    assert BatchJob.objects.filter(notice=notice).count() == 1
