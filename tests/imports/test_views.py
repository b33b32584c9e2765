"""The import pages: upload → column mapping → preview → error file → apply → undo, and the exports."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from efnet.models import AuditEvent
from imports.models import ColumnMemory, ImportBatch
from members.models import Member
from tests.conftest import login
from tests.imports.helpers import MEMBER_HEADERS, csv_bytes, member


@pytest.fixture
def admin_client(client, world):
    return login(client, world.admin)


def _upload(client, data, name="members.csv", **extra):
    return client.post(reverse("imports:batch_list"), {"file": SimpleUploadedFile(name, data), **extra})


def test_it_walks_upload_mapping_preview_errors_apply_and_undo(admin_client, world, django_capture_on_commit_callbacks):
    data = csv_bytes(
        [
            [*MEMBER_HEADERS, "紹介者"],
            member("0020001", name="<b hx-get='/x'>株式会社タグ</b>") + ["山田"],
            member("0020002", 営業所="大坂") + [""],
        ]
    )
    response = _upload(admin_client, data)
    batch = ImportBatch.objects.latest("id")
    assert response.status_code == 302 and response["Location"] == reverse("imports:batch_map", args=[batch.pk])

    page = admin_client.get(response["Location"])
    assert "紹介者" in page.content.decode() and "Shift_JIS (CP932)" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("imports:batch_map", args=[batch.pk]), {"col_0": "note"})
    assert response.status_code == 302
    assert ColumnMemory.objects.get(user=world.admin).field == "note"

    page = admin_client.get(reverse("imports:batch_detail", args=[batch.pk])).content.decode()
    assert "営業所「大坂」はありません。" in page
    new_rows = admin_client.get(reverse("imports:batch_detail", args=[batch.pk]) + "?show=new").content.decode()
    assert "&lt;b hx-get=&#x27;/x&#x27;&gt;株式会社タグ&lt;/b&gt;" in new_rows and "<b hx-get" not in new_rows
    # The new member's office by name, not by its id.
    assert f'<span class="small">{world.office_a.name}</span>' in new_rows
    assert f'<span class="small">{world.office_a.pk}</span>' not in new_rows

    errors = admin_client.get(reverse("imports:batch_errors", args=[batch.pk]))
    assert errors["Content-Type"] == "text/csv; charset=Shift_JIS"
    assert "営業所「大坂」はありません" in b"".join(errors.streaming_content).decode("cp932")

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("imports:batch_confirm", args=[batch.pk]))
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.PREVIEWED  # errors not chosen
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("imports:batch_confirm", args=[batch.pk]), {"skip_errors": "on"})
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.APPLIED
    assert Member.objects.get(number="0020001").note == "山田"

    admin_client.post(reverse("imports:batch_undo", args=[batch.pk]))
    assert not Member.objects.filter(number="0020001").exists()
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.UNDONE


def test_a_bad_upload_says_why_and_keeps_nothing(admin_client):
    response = _upload(admin_client, b"\xd0\xcf\x11\xe0" + b"\0" * 64, name="old.xls")
    assert response.status_code == 200
    assert "古いExcel形式" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_progress_asks_the_page_to_reload_when_the_step_ends(admin_client, world):
    batch = ImportBatch.objects.create(created_by=world.admin, file_name="a.csv", file_format="csv", status="parsing")
    url = reverse("imports:batch_progress", args=[batch.pk]) + "?polling=1"
    running = admin_client.get(url, HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in running and 'hx-trigger="every 1s"' in running.content.decode()
    ImportBatch.objects.filter(pk=batch.pk).update(status="previewed")
    assert admin_client.get(url, HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"


def test_the_member_export_streams_cp932_in_the_import_columns(client, world):
    login(client, world.clerk_a)
    response = client.get(reverse("imports:export_members"))
    text = b"".join(response.streaming_content).decode("cp932")
    assert text.splitlines()[0].startswith("会員番号,登録者名,フリガナ")
    assert world.member_a.number in text and world.member_b.number not in text


def test_the_credential_export_asks_for_the_login_password_then_gives_an_encrypted_xlsx(client, world):
    import msoffcrypto
    from openpyxl import load_workbook

    from tests.conftest import STAFF_PASSWORD

    login(client, world.admin, fresh_auth=False)
    url = reverse("imports:export_credentials")
    asked = client.post(url, {"reason": "移行", "file_password": "x" * 12, "file_password_again": "x" * 12})
    assert "ログインパスワード" in asked.content.decode() and "x" * 12 not in asked.content.decode()
    form = client.post(url, {"password": STAFF_PASSWORD})
    assert "出力する理由" in form.content.decode()
    response = client.post(
        url,
        {
            "reason": "新システムへの移行",
            "file_password": "Open-Sesame-2026",
            "file_password_again": "Open-Sesame-2026",
        },
    )
    assert "no-store" in response["Cache-Control"]
    assert world.member_a.biglobe_password.encode() not in response.content
    office = msoffcrypto.OfficeFile(io.BytesIO(response.content))
    plain = io.BytesIO()
    office.load_key(password="Open-Sesame-2026")
    office.decrypt(plain)
    rows = list(load_workbook(plain, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0][10] == "パスワード"
    assert (world.member_a.number, world.member_a.biglobe_password) in {(r[0], r[10]) for r in rows}
    event = AuditEvent.objects.get(action="member.credentials.exported")
    assert event.details["reason"] == "新システムへの移行" and event.details["rows"] == 4
    assert "Open-Sesame-2026" not in repr(event.details)
