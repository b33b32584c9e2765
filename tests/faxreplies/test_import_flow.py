"""Upload → read → confirm, as a clerk does it through the pages; bad input changes nothing; scoping."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from pypdf import PdfWriter

from efnet.models import AuditEvent
from faxreplies import services
from faxreplies.models import FaxImport, FaxPage
from tests.conftest import login
from tests.factories import AddressFactory, MemberFactory
from tests.faxreplies.conftest import as_tiff, fax_images, reply_pages_pdf
from tests.notices.conftest import enroll
from tracking.models import AccountStatus, Source, Status, StatusChange


def _upload(client, data: bytes, name: str = "fax.tif"):
    return client.post(reverse("faxreplies:import_list"), {"file": SimpleUploadedFile(name, data)})


def _blank_page() -> Image.Image:
    return Image.new("1", (1700, 1100), 1)


@pytest.fixture
def fax_file(world, campaign):
    """Two reply forms (member with one additional address, member without), then a page without a code."""
    with_address = MemberFactory(office=world.office_a, email="")
    AddressFactory(member=with_address, slot=1, address="extra@efnet-demo.example")
    plain = MemberFactory(office=world.office_a, email="")
    enroll(with_address, plain)
    images = fax_images(reply_pages_pdf(world, campaign, [with_address, plain]), x_dpi=204, y_dpi=98)
    return as_tiff(images + [_blank_page()], x_dpi=204, y_dpi=98), with_address, plain


def _imported(client, data, capture):
    with capture(execute=True):
        response = _upload(client, data)
    assert response.status_code == 302
    job = FaxImport.objects.latest("pk")
    assert job.status == FaxImport.Status.DONE, job.error
    return job


def test_a_clerk_uploads_confirms_a_page_and_the_member_timeline_keeps_it(
    client, world, campaign, fax_file, fax_store, django_capture_on_commit_callbacks
):
    data, with_address, plain = fax_file
    login(client, world.clerk_a)
    job = _imported(client, data, django_capture_on_commit_callbacks)

    page = client.get(reverse("faxreplies:import_detail", args=[job.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert with_address.number in html and plain.number in html and "extra@efnet-demo.example" in html
    assert "QRコードなし" in html and 'data-testid="fax-page"' in html
    first = job.pages.get(number=1)
    assert first.member == with_address and first.match == FaxPage.Match.QR
    # The page image is served to the clerk, and is stored encrypted: no PNG on disk.
    image = client.get(reverse("faxreplies:page_image", args=[first.pk]))
    assert image.status_code == 200 and image["Content-Type"] == "image/png" and image.content[:4] == b"\x89PNG"
    assert "no-store" in image["Cache-Control"]
    stored = fax_store.raw(first.image_name)
    assert b"PNG" not in stored[:64] and b"IHDR" not in stored
    assert not [n for n in fax_store.names() if n.endswith(".upload")]  # the upload itself is gone once read

    rows = {r.address_id: r for r in AccountStatus.objects.filter(member=with_address, campaign=campaign)}
    extra = next(r for r in rows.values() if r.address_id)
    response = client.post(reverse("faxreplies:page_confirm", args=[first.pk]), {"account": [extra.pk]})
    assert response.status_code == 302

    extra.refresh_from_db()
    assert extra.status == Status.DONE and extra.source == Source.FAX and extra.recorded_by == world.clerk_a
    assert rows[None].status != Status.DONE  # the unticked main account stays open
    rows[None].refresh_from_db()
    assert rows[None].status in (Status.NOT_NOTIFIED, Status.NOTIFIED)
    assert StatusChange.objects.filter(account_status=extra, source=Source.FAX, applied=True).count() == 1
    first.refresh_from_db()
    assert first.state == FaxPage.State.CONFIRMED and first.accounts_recorded == 1
    assert first.expires_at > job.created_at.replace(year=job.created_at.year + 1)  # kept as evidence
    event = AuditEvent.objects.get(action="faxreplies.page.confirmed")
    assert event.member_id == with_address.pk and event.details["accounts"] == ["追加メールアドレス1"]

    # The member page's timeline shows it and links the page image.
    member_page = client.get(reverse("members:detail", args=[with_address.pk])).content.decode()
    assert "FAX返信を取り込み" in member_page
    assert reverse("faxreplies:page_image", args=[first.pk]) in member_page

    # A double submit changes nothing and says so.
    again = client.post(reverse("faxreplies:page_confirm", args=[first.pk]), {"account": [rows[None].pk]}, follow=True)
    assert "すでに処理されています" in again.content.decode()
    rows[None].refresh_from_db()
    assert rows[None].status != Status.DONE
    assert AuditEvent.objects.filter(action="faxreplies.page.confirmed").count() == 1


def test_a_page_without_a_code_is_matched_by_the_number_the_clerk_types(
    client, world, campaign, fax_file, fax_store, django_capture_on_commit_callbacks
):
    data, _with_address, plain = fax_file
    login(client, world.clerk_a)
    job = _imported(client, data, django_capture_on_commit_callbacks)
    blank = job.pages.get(number=3)
    assert blank.match == FaxPage.Match.NO_CODE and blank.member is None
    field = f"p{blank.pk}-number"

    # Another office's member is "not found", like a number that does not exist; nothing changes.
    other = client.post(reverse("faxreplies:page_match", args=[blank.pk]), {field: world.member_b.number}, follow=True)
    assert "見つかりません" in other.content.decode()
    blank.refresh_from_db()
    assert blank.member is None

    # As typed from an IME: full-width digits, a full-width hyphen, a long dash and an ideographic space.
    typed = plain.number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    typed = typed[:2] + "－" + typed[2:4] + "　―" + typed[4:]
    client.post(reverse("faxreplies:page_match", args=[blank.pk]), {field: typed})
    blank.refresh_from_db()
    assert blank.member == plain and blank.match == FaxPage.Match.MANUAL and blank.campaign == campaign

    main = AccountStatus.objects.get(member=plain, campaign=campaign, address=None)
    client.post(reverse("faxreplies:page_confirm", args=[blank.pk]), {"account": [main.pk]})
    main.refresh_from_db()
    assert main.status == Status.DONE and main.source == Source.FAX


def test_accounts_of_another_member_are_refused_and_nothing_is_recorded(
    client, world, campaign, fax_file, fax_store, django_capture_on_commit_callbacks
):
    data, with_address, plain = fax_file
    login(client, world.clerk_a)
    job = _imported(client, data, django_capture_on_commit_callbacks)
    first = job.pages.get(number=1)
    foreign_row = AccountStatus.objects.get(member=plain, campaign=campaign, address=None)
    own_row = AccountStatus.objects.get(member=with_address, campaign=campaign, address=None)

    response = client.post(
        reverse("faxreplies:page_confirm", args=[first.pk]), {"account": [own_row.pk, foreign_row.pk]}, follow=True
    )

    assert "状況が変わりました" in response.content.decode()
    own_row.refresh_from_db()
    foreign_row.refresh_from_db()
    assert own_row.status != Status.DONE and foreign_row.status != Status.DONE
    first.refresh_from_db()
    assert first.state == FaxPage.State.OPEN


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("fax.tif", b"this is not a tiff at all", "PDFかTIFFのファイルを選んでください"),
        ("fax.tif", b"II*\x00" + b"\x00" * 40, "TIFFとして読めません"),
        ("fax.pdf", b"%PDF-1.7\n garbage", "PDFとして読めません"),
        ("fax.pdf", None, "ページがありません"),
        ("fax.pdf", b"", "ファイル"),
    ],
)
def test_bad_files_get_a_japanese_message_and_change_nothing(client, world, fax_store, name, data, message):
    if data is None:
        out = io.BytesIO()
        PdfWriter().write(out)  # a well-formed PDF without a single page
        data = out.getvalue()
    login(client, world.clerk_a)

    response = _upload(client, data, name)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not FaxImport.objects.exists()
    assert not fax_store.names()


def test_a_qr_of_another_offices_member_is_refused_and_not_shown(
    client, world, campaign, fax_store, django_capture_on_commit_callbacks
):
    stranger = MemberFactory(office=world.office_b, email="")
    enroll(stranger)
    images = fax_images(reply_pages_pdf(world, campaign, [stranger]), x_dpi=204, y_dpi=196)
    login(client, world.clerk_a)

    job = _imported(client, as_tiff(images, x_dpi=204, y_dpi=196), django_capture_on_commit_callbacks)

    page = job.pages.get()
    assert page.match == FaxPage.Match.FOREIGN and page.member is None
    html = client.get(reverse("faxreplies:import_detail", args=[job.pk])).content.decode()
    assert "他の営業所の会員" in html and stranger.number not in html and stranger.name not in html
    assert AuditEvent.objects.filter(action="access.denied", actor=world.clerk_a).exists()
    response = client.post(reverse("faxreplies:page_confirm", args=[page.pk]), {"account": ["1"]}, follow=True)
    assert "会員が決まっていない" in response.content.decode()


def test_a_clerk_sees_only_their_offices_imports_and_pages(
    client, world, campaign, fax_file, fax_store, django_capture_on_commit_callbacks
):
    data, with_address, _plain = fax_file
    login(client, world.clerk_a)
    job = _imported(client, data, django_capture_on_commit_callbacks)
    first = job.pages.get(number=1)

    login(client, world.clerk_b)
    assert client.get(reverse("faxreplies:import_detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("faxreplies:page_image", args=[first.pk])).status_code == 404
    own_row = AccountStatus.objects.get(member=with_address, campaign=campaign, address=None)
    assert (
        client.post(reverse("faxreplies:page_confirm", args=[first.pk]), {"account": [own_row.pk]}).status_code == 404
    )
    listing = client.get(reverse("faxreplies:import_list")).content.decode()
    assert reverse("faxreplies:import_detail", args=[job.pk]) not in listing
    own_row.refresh_from_db()
    assert own_row.status != Status.DONE
    assert AuditEvent.objects.filter(action="access.denied", actor=world.clerk_b).count() == 3


def test_page_images_are_deleted_after_the_retention(
    client, world, campaign, fax_file, fax_store, settings, django_capture_on_commit_callbacks
):
    data, _with_address, _plain = fax_file
    login(client, world.clerk_a)
    job = _imported(client, data, django_capture_on_commit_callbacks)
    assert len(fax_store.names()) == 3
    from django.utils import timezone

    FaxPage.objects.filter(fax_import=job, number__in=[1, 2]).update(expires_at=timezone.now())

    assert services.purge_expired_pages() == 2

    assert len(fax_store.names()) == 1
    gone = job.pages.get(number=1)
    assert gone.image_name == "" and gone.image_key == ""
    assert client.get(reverse("faxreplies:page_image", args=[gone.pk])).status_code == 410
