"""Batch reissue: background rendering in chunks, one combined PDF (or a ZIP), encrypted at rest, downloadable
once and only by the requester, cancellable, expiring; scope re-checked in the task."""

import io
import os
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from documents import services, storage
from documents.models import BatchJob, StoredRecord
from efnet.models import AuditEvent, Role
from members.models import MemberCard
from tests.conftest import login, make_staff
from tests.factories import MemberFactory
from tests.stored import StoredArea

pytestmark = pytest.mark.django_db


@pytest.fixture
def office_a_members(world):
    return [world.member_a, MemberFactory(office=world.office_a), MemberFactory(office=world.office_a)]


def start_batch(client, world, django_capture_on_commit_callbacks, **extra):
    data = {"office": world.office_a.pk, "reason": "紛失再発行", **extra}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("documents:batch_list"), data)
    assert response.status_code == 302, response.content.decode()[:500]
    return BatchJob.objects.latest("id")


def download(client, job):
    return client.post(reverse("documents:batch_download", kwargs={"pk": job.pk}))


def test_batch_renders_one_pdf_encrypted_at_rest_and_downloads_once(
    client, world, office_a_members, django_capture_on_commit_callbacks
):
    login(client, world.clerk_a)
    job = start_batch(client, world, django_capture_on_commit_callbacks)
    assert job.status == BatchJob.Status.DONE and job.done_count == 3 and job.file_format == "pdf"
    at_rest = StoredArea("documents").raw(job.file_name)
    assert at_rest and b"%PDF" not in at_rest
    assert all(m.biglobe_password.encode() not in at_rest for m in office_a_members)

    progress = client.get(reverse("documents:batch_progress", kwargs={"pk": job.pk})).content.decode()
    assert "完了" in progress and "hx-trigger" not in progress  # polling stops when finished

    response = download(client, job)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    data = b"".join(response.streaming_content)
    pages = PdfReader(io.BytesIO(data)).pages
    ordered = sorted(office_a_members, key=lambda m: m.number)
    assert len(pages) == 3
    for page, member in zip(pages, ordered, strict=True):
        text = page.extract_text().replace(" ", "")
        assert member.number in text and member.biglobe_password in text
    assert MemberCard.objects.filter(member__in=office_a_members).count() == 3
    events = AuditEvent.objects.filter(action="member.card.issued", details__batch=job.pk)
    assert events.count() == 3

    job.refresh_from_db()
    assert job.status == BatchJob.Status.DOWNLOADED and not job.file_name
    assert not storage.exists(area="documents", name=f"{job.uuid}.bin")
    again = download(client, job)
    assert again.status_code == 302


@pytest.mark.parametrize("setting", [{"DOCUMENTS_BATCH_ZIP_THRESHOLD": 1, "DOCUMENTS_BATCH_CHUNK_SIZE": 2}])
def test_large_batches_become_a_zip_of_chunk_pdfs(
    client, world, office_a_members, django_capture_on_commit_callbacks, settings, setting
):
    for name, value in setting.items():
        setattr(settings, name, value)
    login(client, world.clerk_a)
    job = start_batch(client, world, django_capture_on_commit_callbacks)
    assert job.file_format == "zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download(client, job).streaming_content)))
    names = archive.namelist()
    assert names == ["membercards-00001-00002.pdf", "membercards-00003-00003.pdf"]
    assert [len(PdfReader(io.BytesIO(archive.read(n))).pages) for n in names] == [2, 1]


def test_only_members_without_a_card_since_the_date(
    client, world, office_a_members, django_capture_on_commit_callbacks
):
    login(client, world.clerk_a)
    client.post(reverse("documents:card_issue", kwargs={"pk": world.member_a.pk}), {"reason": "紛失再発行"})
    job = start_batch(client, world, django_capture_on_commit_callbacks, no_card_since=timezone.localdate().isoformat())
    assert world.member_a.pk not in job.member_ids and job.total == 2


def test_another_office_cannot_see_download_or_cancel_the_batch(
    client, world, office_a_members, django_capture_on_commit_callbacks
):
    login(client, world.clerk_a)
    job = start_batch(client, world, django_capture_on_commit_callbacks)
    login(client, world.clerk_b)
    for name in ("batch_detail", "batch_progress"):
        assert client.get(reverse(f"documents:{name}", kwargs={"pk": job.pk})).status_code == 404
    for name in ("batch_download", "batch_cancel"):
        assert client.post(reverse(f"documents:{name}", kwargs={"pk": job.pk})).status_code == 404
    assert AuditEvent.objects.filter(action="access.denied", actor=world.clerk_b).count() == 4
    assert str(job.pk) not in client.get(reverse("documents:batch_list")).content.decode().split("<h2>最近")[1]
    job.refresh_from_db()
    assert job.status == BatchJob.Status.DONE


def test_a_colleague_in_the_same_office_cannot_download_it(
    client, world, office_a_members, django_capture_on_commit_callbacks
):
    login(client, world.clerk_a)
    job = start_batch(client, world, django_capture_on_commit_callbacks)
    colleague = make_staff("clerk_a2", office=world.office_a, roles=[Role.SALES_OFFICE, Role.REVEALER])
    login(client, colleague)
    response = download(client, job)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == BatchJob.Status.DONE and storage.exists(area="documents", name=job.file_name)
    assert AuditEvent.objects.filter(action="access.denied", actor=colleague).exists()


def test_cancel_between_chunks_issues_nothing(world, office_a_members, settings, monkeypatch):
    settings.DOCUMENTS_BATCH_CHUNK_SIZE = 1
    job = BatchJob.objects.create(
        requested_by=world.clerk_a,
        office=world.office_a,
        reason="紛失再発行",
        member_ids=[m.pk for m in office_a_members],
        total=3,
    )
    real_html = services.cards_html

    def render_then_cancel(contexts):
        services.batch_cancel(job=job, actor=world.clerk_a)
        return real_html(contexts)

    monkeypatch.setattr(services, "cards_html", render_then_cancel)
    services.batch_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == BatchJob.Status.CANCELLED
    assert not MemberCard.objects.exists()
    assert not storage.exists(area="documents", name=f"{job.uuid}.bin")


def test_task_rechecks_scope_for_the_requester(world, office_a_members):
    job = BatchJob.objects.create(
        requested_by=world.clerk_a, office=world.office_a, reason="紛失再発行", member_ids=[world.member_a.pk], total=1
    )
    world.clerk_a.office = world.office_b  # moved to Tokyo before the worker picked the job up
    world.clerk_a.save()
    services.batch_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == BatchJob.Status.FAILED and not MemberCard.objects.exists()


def test_expired_files_are_purged(client, world, office_a_members, django_capture_on_commit_callbacks):
    login(client, world.clerk_a)
    job = start_batch(client, world, django_capture_on_commit_callbacks)
    name = job.file_name
    BatchJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert services.purge_expired_batches() == 1
    job.refresh_from_db()
    assert job.status == BatchJob.Status.EXPIRED and not storage.exists(area="documents", name=name)
    assert download(client, job).status_code == 302


def _stored_file(data: bytes, *, name="f", file_id="a") -> str:
    key = storage.new_key()
    writer = storage.EncryptedWriter(area="test", name=name, key=key, file_id=file_id)
    writer.write(data)
    writer.close()
    return key


def _read(name, key, file_id="a"):
    return b"".join(storage.read_decrypted(area="test", name=name, key=key, file_id=file_id))


def test_a_stored_file_is_records_in_the_database_and_reads_back():
    data = os.urandom(storage.RECORD_SIZE * 2 + 10)
    key = _stored_file(data)
    rows = list(StoredRecord.objects.filter(area="test", name="f").order_by("index"))
    assert [(r.index, r.last) for r in rows] == [(0, False), (1, False), (2, True)]
    assert data[:64] not in b"".join(bytes(r.data) for r in rows)
    assert _read("f", key) == data
    assert storage.delete(area="test", name="f") == 3
    with pytest.raises(storage.MissingFileError):
        _read("f", key)


def test_a_tampered_stored_file_fails_to_decrypt():
    data = b"x" * (storage.RECORD_SIZE + 10)
    key = _stored_file(data)
    with pytest.raises(storage.CorruptFileError):
        _read("f", key, file_id="b")  # another owner's file
    other_key = _stored_file(b"y" * (storage.RECORD_SIZE + 10), name="g")
    with pytest.raises(storage.CorruptFileError):
        _read("f", other_key)
    # Records swapped in from another file, or reordered, or the end cut off: refused, never garbage.
    first_of_g = StoredRecord.objects.get(area="test", name="g", index=0).data
    StoredRecord.objects.filter(area="test", name="f", index=0).update(data=first_of_g)
    with pytest.raises(storage.CorruptFileError):
        _read("f", key)
    key = _stored_file(data)
    StoredRecord.objects.filter(area="test", name="f", last=True).delete()
    with pytest.raises(storage.CorruptFileError, match="ends before"):
        _read("f", key)
    key = _stored_file(data)
    StoredRecord.objects.filter(area="test", name="f", index=0).update(last=True)  # claims to end early
    with pytest.raises(storage.CorruptFileError):
        _read("f", key)


def test_orphans_are_deleted_but_files_being_written_and_owned_files_stay():
    for name in ("owned", "orphan"):
        _stored_file(b"z", name=name)
    StoredRecord.objects.update(created_at=timezone.now() - timedelta(days=2))
    _stored_file(b"z", name="being-written")
    assert storage.delete_orphans(area="test", keep={"owned"}, before=timezone.now() - timedelta(days=1)) == 1
    assert set(StoredRecord.objects.values_list("name", flat=True)) == {"owned", "being-written"}


def test_download_asks_for_the_password_again_after_five_minutes(
    client, world, office_a_members, django_capture_on_commit_callbacks
):
    from efnet.auth_views import AUTH_AT
    from tests.conftest import STAFF_PASSWORD

    login(client, world.clerk_a)
    job = start_batch(client, world, django_capture_on_commit_callbacks)
    session = client.session
    session[AUTH_AT] = 0
    session.save()

    body = download(client, job).content.decode()
    assert "ログインパスワードを再入力" in body and f"{job.total}件" in body
    url = reverse("documents:batch_download", kwargs={"pk": job.pk})
    body = client.post(url, {"password": "wrong"}).content.decode()
    assert "パスワードが正しくありません" in body
    job.refresh_from_db()
    assert job.status == BatchJob.Status.DONE and job.file_name  # nothing handed out, still downloadable

    response = client.post(url, {"password": STAFF_PASSWORD})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(b"".join(response.streaming_content))).pages) == 3
    job.refresh_from_db()
    assert job.status == BatchJob.Status.DOWNLOADED
