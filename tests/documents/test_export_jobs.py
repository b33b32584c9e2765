"""Exports beyond EXPORT_BACKGROUND_ROWS become background jobs (issue 13 item 5): the same bytes as the
streamed export, written by the worker into an encrypted file, with progress, cancel, one download by the
requester, expiry and the dead-worker reaper; audited as the streamed export is."""

import datetime
import io
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from documents import exports, storage
from documents.models import ExportJob, StoredRecord
from efnet.models import AuditEvent, Role
from tests.conftest import login, make_staff
from tests.factories import AddressFactory, MemberFactory
from tracking.models import Campaign
from tracking.services import accounts_enroll

pytestmark = pytest.mark.django_db

CALL_LIST = "/tracking/members/export/{fmt}/"


@pytest.fixture
def enrolled(world):
    Campaign.objects.create(name="2026年6月 BIGLOBEパスワード変更", started_on=datetime.date(2026, 6, 1))
    members = [world.member_a, world.member_b]
    members += [MemberFactory(office=world.office_a) for _ in range(6)]
    members.append(MemberFactory(office=world.office_a, name="𠮷野家商店🍣", phone="+81-6-6942-4028"))
    members.append(MemberFactory(office=world.office_a, name='=HYPERLINK("http://evil.example/","x")'))
    for m in members[2:5]:
        AddressFactory(member=m, slot=1)
    for m in members:
        accounts_enroll(member=m)
    return members


def streamed(client, url, params=None) -> bytes:
    response = client.get(url, params or {})
    assert response.status_code == 200 and response.streaming
    return b"".join(response.streaming_content)


def in_background(client, url, params, settings, django_capture_on_commit_callbacks) -> tuple[ExportJob, bytes]:
    settings.EXPORT_BACKGROUND_ROWS = 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url, params)
    job = ExportJob.objects.latest("id")
    assert response.status_code == 302 and response["Location"] == f"/documents/exports/{job.pk}/"
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE, job.error
    download = client.post(reverse("documents:export_download", kwargs={"pk": job.pk}))
    assert download.status_code == 200 and "no-store" in download["Cache-Control"]
    assert download["Content-Disposition"] == f'attachment; filename="{job.download_name}"'
    return job, b"".join(download.streaming_content)


def xlsx_parts(data: bytes) -> dict[str, bytes]:
    """An .xlsx's parts; docProps/core.xml carries the time it was written, which is all that may differ."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {n: archive.read(n) for n in archive.namelist() if n != "docProps/core.xml"}


@pytest.mark.parametrize("fmt", ["csv", "csv-utf8"])
def test_a_background_call_list_is_byte_for_byte_the_streamed_one(
    client, world, enrolled, settings, django_capture_on_commit_callbacks, fmt
):
    login(client, world.clerk_a)
    url = CALL_LIST.format(fmt=fmt)
    params = {"status": "未完了"}
    expected = streamed(client, url, params)
    job, data = in_background(client, url, params, settings, django_capture_on_commit_callbacks)
    # The header, office A's nine members, and in CP932 the note that 𠮷 and 🍣 became 〓.
    assert data == expected and len(expected.splitlines()) == 1 + 9 + (fmt == "csv")
    assert job.total == job.done_count == 9 and job.office == world.office_a
    assert world.member_b.number.encode() not in data  # scoped to the clerk's office, as streamed


def test_a_background_xlsx_call_list_has_the_streamed_ones_sheet(
    client, world, enrolled, settings, django_capture_on_commit_callbacks
):
    login(client, world.head)
    url = CALL_LIST.format(fmt="xlsx")
    expected = streamed(client, url)
    job, data = in_background(client, url, {}, settings, django_capture_on_commit_callbacks)
    assert xlsx_parts(data) == xlsx_parts(expected)
    assert job.done_count == 10 and job.office is None and job.download_name.endswith(".xlsx")
    sheet = xlsx_parts(data)["xl/worksheets/sheet1.xml"].decode()
    assert world.member_b.number in sheet and "𠮷野家商店🍣" in sheet


@pytest.mark.parametrize("encoding", ["cp932", "utf-8-sig"])
def test_a_background_member_export_is_byte_for_byte_the_streamed_one(
    client, world, enrolled, settings, django_capture_on_commit_callbacks, encoding
):
    login(client, world.clerk_a)
    url = reverse("imports:export_members")
    expected = streamed(client, url, {"encoding": encoding})
    job, data = in_background(client, url, {"encoding": encoding}, settings, django_capture_on_commit_callbacks)
    assert data == expected
    assert job.total == job.done_count == 9 + 1 + 3  # office A's members, member_a's address, three more


def test_the_request_is_audited_as_the_streamed_export_is_and_the_file_is_encrypted_at_rest(
    client, world, enrolled, settings, django_capture_on_commit_callbacks
):
    login(client, world.clerk_a)
    settings.EXPORT_BACKGROUND_ROWS = 1
    with django_capture_on_commit_callbacks(execute=False):  # the worker has not run yet
        client.get(CALL_LIST.format(fmt="csv"), {"status": "未完了"})
    job = ExportJob.objects.get()
    event = AuditEvent.objects.get(action="tracking.calllist.exported")
    assert event.details["rows"] == 9 and event.details["background_job"] == job.pk
    assert event.details["filters"]["status"] == "未完了" and event.actor == world.clerk_a
    page = client.get(reverse("documents:export_detail", kwargs={"pk": job.pk})).content.decode()
    assert "待機中" in page and 'hx-trigger="every 1s"' in page and "取消" in page

    exports.export_run(job_id=job.pk)
    job.refresh_from_db()
    at_rest = b"".join(bytes(r.data) for r in StoredRecord.objects.filter(area="exports", name=job.file_name))
    assert at_rest and world.member_a.number.encode() not in at_rest
    progress = client.get(reverse("documents:export_progress", kwargs={"pk": job.pk})).content.decode()
    assert "完了" in progress and "hx-trigger" not in progress and "ダウンロード" in progress
    assert AuditEvent.objects.filter(action="documents.export.completed", details__rows=9).exists()


def test_one_download_by_the_requester_only(client, world, enrolled, settings, django_capture_on_commit_callbacks):
    login(client, world.clerk_a)
    settings.EXPORT_BACKGROUND_ROWS = 1
    with django_capture_on_commit_callbacks(execute=True):
        client.get(CALL_LIST.format(fmt="csv"))
    job = ExportJob.objects.get()
    url = reverse("documents:export_download", kwargs={"pk": job.pk})

    colleague = make_staff("clerk_a2", office=world.office_a, roles=[Role.SALES_OFFICE])
    login(client, colleague)
    assert client.post(url).status_code == 302
    assert AuditEvent.objects.filter(action="access.denied", actor=colleague, details__why="not_owner").exists()
    login(client, world.clerk_b)  # another office: not even the page
    assert client.get(reverse("documents:export_detail", kwargs={"pk": job.pk})).status_code == 404
    assert client.post(url).status_code == 404

    login(client, world.clerk_a)
    response = client.post(url)
    assert response.status_code == 200 and b"".join(response.streaming_content)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DOWNLOADED and not job.file_name
    assert not StoredRecord.objects.filter(area="exports").exists()
    assert client.post(url).status_code == 302  # gone
    assert AuditEvent.objects.filter(action="documents.export.downloaded", actor=world.clerk_a).count() == 1


def test_a_double_click_queues_one_job(client, world, enrolled, settings):
    login(client, world.clerk_a)
    settings.EXPORT_BACKGROUND_ROWS = 1
    first = client.get(CALL_LIST.format(fmt="csv"))
    second = client.get(CALL_LIST.format(fmt="csv"))
    assert first["Location"] == second["Location"] and ExportJob.objects.count() == 1
    client.get(CALL_LIST.format(fmt="xlsx"))  # another file: another job
    assert ExportJob.objects.count() == 2


def test_at_the_threshold_the_export_streams(client, world, enrolled, settings):
    login(client, world.clerk_a)
    settings.EXPORT_BACKGROUND_ROWS = 9
    streamed(client, CALL_LIST.format(fmt="csv"))
    assert not ExportJob.objects.exists()


def test_progress_is_written_as_rows_go_and_cancel_stops_the_file(world, enrolled, settings, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    export = exports.export_file("calllist", user=world.head, params=_params(), fmt="csv")
    job = exports.export_job_create(
        actor=world.head, source="calllist", fmt="csv", params=_params(), export=export,
        audit_action="tracking.calllist.exported", audit_event={},
    )  # fmt: skip
    seen = []
    real = exports.export_heartbeat

    def beat_then_cancel(job_id, done=None):
        seen.append(done)
        if done == 4:
            exports.export_cancel(job=job, actor=world.head)
        return real(job_id, done)

    monkeypatch.setattr(exports, "export_heartbeat", beat_then_cancel)
    exports.export_run(job_id=job.pk)
    job.refresh_from_db()
    assert seen == [2, 4] and job.status == ExportJob.Status.CANCELLED and job.done_count == 2
    assert not StoredRecord.objects.filter(area="exports").exists()


def _params():
    return {"campaign": Campaign.objects.get().pk, "office": None, "status": "", "q": ""}


def test_the_worker_checks_the_requesters_scope_again(world, enrolled):
    params = {**_params(), "office": world.office_b.pk}
    export = exports.export_file("calllist", user=world.head, params=params, fmt="csv")
    job = exports.export_job_create(
        actor=world.clerk_a, source="calllist", fmt="csv", params=params, export=export,
        audit_action="tracking.calllist.exported", audit_event={},
    )  # fmt: skip
    exports.export_run(job_id=job.pk)  # clerk_a may not see Tokyo
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED and "権限" in job.error
    with pytest.raises(exports.PermissionDenied):  # the member export needs the editor's right
        exports.export_file("members", user=world.reader_a, params={"encoding": "cp932"}, fmt="csv")


def test_a_dead_worker_is_reaped_and_expired_files_are_purged(world, enrolled, settings):
    settings.DOCUMENTS_BATCH_HEARTBEAT_SECONDS = 120
    export = exports.export_file("calllist", user=world.head, params=_params(), fmt="csv")
    job = exports.export_job_create(
        actor=world.head, source="calllist", fmt="csv", params=_params(), export=export,
        audit_action="tracking.calllist.exported", audit_event={},
    )  # fmt: skip
    then = timezone.now() - timedelta(seconds=300)
    job.status, job.started_at, job.heartbeat_at = ExportJob.Status.RUNNING, then, then
    job.file_name, job.file_key = "partial.bin", storage.new_key()
    job.save()
    writer = storage.EncryptedWriter(area="exports", name="partial.bin", key=job.file_key, file_id=str(job.uuid))
    writer.write(b"partial")
    writer.close()
    from documents.tasks import reap_dead_batches

    assert reap_dead_batches() == 1  # the periodic task covers exports too
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED and "応答しなくなった" in job.error
    assert not storage.exists(area="exports", name="partial.bin")
    assert exports.export_heartbeat(job.pk, 10) is False  # a slow worker stops at its next beat

    again = exports.export_job_create(
        actor=world.head, source="calllist", fmt="csv", params=_params(), export=export,
        audit_action="tracking.calllist.exported", audit_event={},
    )  # fmt: skip
    exports.export_run(job_id=again.pk)
    again.refresh_from_db()
    name = again.file_name
    assert again.status == ExportJob.Status.DONE and storage.exists(area="exports", name=name)
    ExportJob.objects.filter(pk=again.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert exports.purge_expired_exports() == 1
    again.refresh_from_db()
    assert again.status == ExportJob.Status.EXPIRED and not storage.exists(area="exports", name=name)
