"""Batch address lists (追加メールアドレスリストの一括発行): every member's list in one PDF, each the same document a
single issue prints (template, 「会員番号 … n/m」 footers), each starting on a new page, each recorded and audited
as a single issue is; unprintable members left out and listed; scoped, permission-checked, one job per office."""

import datetime
import io
import logging
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from documents import services, storage
from documents.models import BatchJob
from efnet.models import AuditEvent, Role
from mailaddresses.models import AddressListIssue
from tests.conftest import login, make_staff
from tests.documents.test_layout import pages_text
from tests.factories import AddressFactory, MemberFactory
from tracking.models import AccountStatus, Campaign, Status
from tracking.services import accounts_enroll

pytestmark = pytest.mark.django_db

SERIAL = re.compile(r"L-\d{8}-[0-9A-Z]{6}")


@pytest.fixture
def listed(world):
    """Office A: member_a (one address, from the world), one member with six addresses (a two-page list), one
    with two, and one without any (not in a list batch)."""
    long = MemberFactory(office=world.office_a)
    for slot in range(1, 7):
        AddressFactory(member=long, slot=slot)
    two = MemberFactory(office=world.office_a)
    AddressFactory(member=two, slot=1, issued_on=datetime.date(2026, 6, 26))
    AddressFactory(member=two, slot=2, issued_on=datetime.date(2026, 6, 26))
    none = MemberFactory(office=world.office_a)
    return {"one": world.member_a, "long": long, "two": two, "none": none}


def start(client, django_capture_on_commit_callbacks, office, **extra):
    data = {"lists-office": office.pk, "lists-reason": "紛失再発行", **{f"lists-{k}": v for k, v in extra.items()}}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("documents:address_batch_create"), data)
    return response


def download(client, job) -> bytes:
    response = client.post(reverse("documents:batch_download", kwargs={"pk": job.pk}))
    assert response.status_code == 200, response
    assert response["Content-Type"] == "application/pdf" and "no-store" in response["Cache-Control"]
    return b"".join(response.streaming_content)


def test_one_pdf_with_each_members_list_on_its_own_pages_recorded_like_single_issues(
    client, world, listed, django_capture_on_commit_callbacks
):
    earlier, _ = services.address_list_issue(member=world.member_a, actor=world.clerk_a)
    login(client, world.clerk_a)
    response = start(client, django_capture_on_commit_callbacks, world.office_a)
    job = BatchJob.objects.get(kind=BatchJob.Kind.ADDRESS_LISTS)
    assert response.status_code == 302 and response["Location"].endswith(f"/batches/{job.pk}/")
    assert job.status == BatchJob.Status.DONE, job.error
    members = sorted([listed["one"], listed["long"], listed["two"]], key=lambda m: m.number)
    assert job.member_ids == [m.pk for m in members] and job.done_count == 3 and job.file_format == "pdf"
    at_rest = b"".join(bytes(r.data) for r in storage.StoredRecord.objects.filter(name=job.file_name))
    assert b"%PDF" not in at_rest

    data = download(client, job)
    pages = [p.replace(" ", "") for p in pages_text(data)]
    expected_pages = {listed["one"].pk: 1, listed["long"].pk: 2, listed["two"].pk: 1}
    assert len(pages) == sum(expected_pages.values()) == len(PdfReader(io.BytesIO(data)).pages)
    at = 0
    for member in members:
        count = expected_pages[member.pk]
        issue = AddressListIssue.objects.get(member=member, serial__in=SERIAL.findall("".join(pages)))
        for n in range(1, count + 1):
            page = pages[at]
            # Every page: whose list and which page of it, counted per member (a page break before each list).
            assert f"会員番号{member.number}" in page and f"{n}/{count}" in page, page
            assert ("EFネット追加メールアドレスリスト" in page) == (n == 1)
            at += 1
        last = pages[at - 1]
        assert issue.serial in last and "追加メールアドレス単位での実施" in last
        for address in member.additional_addresses.all():
            assert address.password in "".join(pages[at - count : at])
        # Recorded as a single issue records it: the register row, superseding the last list, and its event.
        assert issue.reason == "紛失再発行" and issue.issued_by == world.clerk_a and issue.office == world.office_a
        event = AuditEvent.objects.get(action="member.address_list.issued", target_id=str(issue.pk))
        assert event.details["batch"] == job.pk and event.details["reveal"] is True
        assert event.details["serial"] == issue.serial
    assert AddressListIssue.objects.get(member=world.member_a, superseded_by__isnull=True).supersedes == earlier
    assert not AddressListIssue.objects.filter(member=listed["none"]).exists()
    assert AuditEvent.objects.filter(action="documents.batch.completed", details__lists=3).exists()


def test_a_member_in_the_batch_prints_exactly_what_a_single_issue_prints(
    client, world, listed, django_capture_on_commit_callbacks
):
    member = listed["long"]
    _, single = services.address_list_issue(member=member, actor=world.clerk_a, reason="紛失再発行")
    login(client, world.clerk_a)
    start(client, django_capture_on_commit_callbacks, world.office_a)
    job = BatchJob.objects.get(kind=BatchJob.Kind.ADDRESS_LISTS)
    batch_pages = pages_text(download(client, job), layout=True)
    mine = [p for p in batch_pages if f"会員番号 {member.number}" in p]

    def same(pages):
        # The serials differ, nothing else. Their random letters differ in width, and pdftotext -layout turns
        # positions into runs of spaces, so a run's length can change with them: runs compare as one space.
        return [re.sub(r" +", " ", SERIAL.sub("L-…", p)) for p in pages]

    assert same(mine) == same(pages_text(single, layout=True))


def test_only_members_with_an_address_issued_since_the_date(client, world, listed, django_capture_on_commit_callbacks):
    login(client, world.clerk_a)
    start(client, django_capture_on_commit_callbacks, world.office_a, issued_since="2026-06-01", reason="新規追加")
    job = BatchJob.objects.get()
    assert job.member_ids == [listed["two"].pk] and job.issued_since == datetime.date(2026, 6, 1)
    issue = AddressListIssue.objects.get()
    assert issue.reason == "新規追加" and issue.highlight_date == datetime.date(2026, 6, 26)


def test_only_members_with_an_address_still_to_change(client, world, listed, django_capture_on_commit_callbacks):
    login(client, world.clerk_a)
    response = start(client, django_capture_on_commit_callbacks, world.office_a, only_open="on")
    assert "進行中のキャンペーンがない" in response.content.decode() and not BatchJob.objects.exists()

    campaign = Campaign.objects.create(name="2026年6月 BIGLOBEパスワード変更", started_on=datetime.date(2026, 6, 1))
    for member in listed.values():
        accounts_enroll(member=member)
    # member_a changed its one address; "long" changed five of six; "two" changed only its main account.
    AccountStatus.objects.filter(campaign=campaign, member=listed["one"], address__isnull=False).update(
        status=Status.DONE
    )
    AccountStatus.objects.filter(campaign=campaign, member=listed["long"], address__slot__lte=5).update(
        status=Status.DONE
    )
    AccountStatus.objects.filter(campaign=campaign, member=listed["two"], address__isnull=True).update(
        status=Status.DONE
    )
    start(client, django_capture_on_commit_callbacks, world.office_a, only_open="on")
    job = BatchJob.objects.get()
    assert set(job.member_ids) == {listed["long"].pk, listed["two"].pk} and job.only_open


def test_an_unprintable_member_is_left_out_and_listed_and_the_rest_are_issued(
    client, world, listed, django_capture_on_commit_callbacks
):
    bad = listed["two"]
    type(bad).objects.filter(pk=bad.pk).update(name="テスト\U0001fae8商店")
    login(client, world.clerk_a)
    start(client, django_capture_on_commit_callbacks, world.office_a)
    job = BatchJob.objects.get()
    assert job.status == BatchJob.Status.DONE and job.done_count == 2 and job.skipped_count == 1
    assert bad.number in job.error and "U+1FAE8" in job.error
    assert not AddressListIssue.objects.filter(member=bad).exists()
    assert AddressListIssue.objects.count() == 2
    page = client.get(reverse("documents:batch_detail", kwargs={"pk": job.pk})).content.decode()
    assert "対象外 1 件" in page and bad.number in page
    assert all(f"会員番号{bad.number}" not in p.replace(" ", "") for p in pages_text(download(client, job)))


def test_the_clerk_gets_their_own_office_and_head_office_chooses(
    client, world, listed, django_capture_on_commit_callbacks
):
    login(client, world.clerk_b)
    response = start(client, django_capture_on_commit_callbacks, world.office_a)
    assert response.status_code == 200 and not BatchJob.objects.exists()  # office A is not a choice for Tokyo
    page = client.get(reverse("documents:batch_list")).content.decode()
    assert 'name="lists-office"' in page and world.office_a.name not in page.split('name="lists-office"')[1][:400]

    head = make_staff("head_r", roles=[Role.HEAD_OFFICE, Role.REVEALER])
    login(client, head)
    start(client, django_capture_on_commit_callbacks, world.office_b)
    job = BatchJob.objects.get()
    assert job.office == world.office_b and job.member_ids == [world.member_b.pk]
    assert job.status == BatchJob.Status.DONE

    login(client, world.clerk_a)  # another office's job: a 404, audited
    assert client.get(reverse("documents:batch_detail", kwargs={"pk": job.pk})).status_code == 404
    assert AuditEvent.objects.filter(action="access.denied", actor=world.clerk_a).exists()


def test_without_the_reveal_permission_there_is_no_form_and_no_batch(
    client, world, listed, django_capture_on_commit_callbacks
):
    viewer = make_staff("viewer_a", office=world.office_a, roles=[Role.SALES_OFFICE])
    login(client, viewer)
    assert start(client, django_capture_on_commit_callbacks, world.office_a).status_code == 403
    assert client.get(reverse("documents:batch_list")).status_code == 403
    assert "一括発行" not in client.get(reverse("members:search")).content.decode()
    with pytest.raises(services.PermissionDenied):
        services.address_batch_create(actor=viewer, office=world.office_a, reason="紛失再発行")
    assert not BatchJob.objects.exists()


def test_a_double_click_starts_one_job(client, world, listed):
    login(client, world.clerk_a)
    data = {"lists-office": world.office_a.pk, "lists-reason": "紛失再発行"}
    first = client.post(reverse("documents:address_batch_create"), data)  # queued: the worker has not run yet
    second = client.post(reverse("documents:address_batch_create"), data)
    assert first.status_code == 302 and second.status_code == 200
    page = second.content.decode()
    assert "が終わっていません" in page
    # Re-shown at the list form's URL: the card form still posts to its own.
    assert f'action="{reverse("documents:batch_list")}"' in page
    assert BatchJob.objects.count() == 1


def test_cancel_between_chunks_issues_nothing(world, listed, settings, monkeypatch):
    settings.DOCUMENTS_BATCH_CHUNK_SIZE = 1
    job = services.address_batch_create(actor=world.clerk_a, office=world.office_a, reason="紛失再発行")
    real_html = services.address_lists_html

    def render_then_cancel(docs):
        services.batch_cancel(job=job, actor=world.clerk_a)
        return real_html(docs)

    monkeypatch.setattr(services, "address_lists_html", render_then_cancel)
    services.batch_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == BatchJob.Status.CANCELLED and not AddressListIssue.objects.exists()
    assert not storage.exists(area="documents", name=f"{job.uuid}.bin")


def test_a_worker_that_died_mid_batch_fails_it_cleanly(client, world, listed, settings):
    """The pattern of test_batch_heartbeat: the worker wrote part of the file, then stopped beating."""
    from datetime import timedelta

    from django.utils import timezone

    settings.DOCUMENTS_BATCH_HEARTBEAT_SECONDS = 120
    job = services.address_batch_create(actor=world.clerk_a, office=world.office_a, reason="紛失再発行")
    then = timezone.now() - timedelta(seconds=300)
    job.status, job.started_at, job.heartbeat_at = BatchJob.Status.RUNNING, then, then
    job.file_name, job.file_key = "p.bin", storage.new_key()
    job.save()
    writer = storage.EncryptedWriter(area="documents", name="p.bin", key=job.file_key, file_id=str(job.uuid))
    writer.write(b"partial")
    writer.close()

    assert services.reap_dead_batches() == 1
    job.refresh_from_db()
    assert job.status == BatchJob.Status.FAILED and "追加メールアドレスリストは発行されていません" in job.error
    assert not storage.exists(area="documents", name="p.bin") and not AddressListIssue.objects.exists()
    # A slow worker that comes back stops at its next beat; the office may ask again.
    assert services.batch_heartbeat(job.pk) is False
    assert services.address_batch_create(actor=world.clerk_a, office=world.office_a, reason="紛失再発行")


def test_no_password_in_the_task_message_or_the_log(world, listed, caplog, monkeypatch):
    from documents import tasks

    sent = []
    monkeypatch.setattr(tasks.render_batch, "delay", lambda *a, **k: sent.append((a, k)))
    caplog.set_level(logging.DEBUG)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        job = services.address_batch_create(actor=world.clerk_a, office=world.office_a, reason="紛失再発行")
    assert sent == [((job.pk,), {})]  # the Celery message carries the job's id only
    services.batch_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == BatchJob.Status.DONE
    passwords = [a.password for m in listed.values() for a in m.additional_addresses.all()]
    assert passwords and not any(p in caplog.text for p in passwords)
    for event in AuditEvent.objects.all():
        assert not any(p in str(event.details) for p in passwords)
