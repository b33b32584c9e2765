"""The QR round trip at fax resolution: the portal's own reply forms, rasterised as a fax machine would
(204×98 "normal" and 204×196 "fine", 1 bit per pixel), uploaded, and every page matched to its member."""

import time

import pytest
from django.urls import reverse

from faxreplies.models import FaxImport, FaxPage
from tests.conftest import login
from tests.factories import AddressFactory, MemberFactory
from tests.faxreplies.conftest import as_image_pdf, as_tiff, fax_images, reply_pages_pdf
from tests.notices.conftest import enroll


@pytest.fixture
def members(world):
    members = [MemberFactory(office=world.office_a, email="") for _ in range(12)]
    for index, member in enumerate(members[:6]):
        for slot in range(1, 2 + index % 3):
            AddressFactory(member=member, slot=slot)
    enroll(*members)
    return members


@pytest.mark.parametrize(("x_dpi", "y_dpi", "container"), [(204, 98, "tiff"), (204, 196, "tiff"), (204, 196, "pdf")])
def test_every_reply_page_at_fax_resolution_is_matched_to_its_member(
    client, world, campaign, members, fax_store, django_capture_on_commit_callbacks, x_dpi, y_dpi, container
):
    images = fax_images(reply_pages_pdf(world, campaign, members), x_dpi=x_dpi, y_dpi=y_dpi)
    assert len(images) == len(members)
    assert images[0].mode == "1" and images[0].size[1] < images[0].size[0] * 2  # non-square pixels at 98 dpi
    data = as_tiff(images, x_dpi=x_dpi, y_dpi=y_dpi) if container == "tiff" else as_image_pdf(images, dpi=x_dpi)
    login(client, world.clerk_a)

    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=True):
        upload = _upload(client, data, f"fax.{container}")
    elapsed = time.perf_counter() - started

    job = FaxImport.objects.get()
    assert upload.status_code == 302 and job.status == FaxImport.Status.DONE, job.error
    pages = list(job.pages.order_by("number"))
    matched = [p for p in pages if p.match == FaxPage.Match.QR]
    assert [p.member_id for p in pages] == [m.pk for m in members]  # 100 %: every page, the right member
    assert len(matched) == len(members) and all(p.campaign_id == campaign.pk for p in pages)
    per_page_ms = elapsed / len(pages) * 1000
    print(f"\n{container} {x_dpi}x{y_dpi}: {len(matched)}/{len(pages)} matched, {per_page_ms:.0f} ms/page")


def _upload(client, data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("faxreplies:import_list"), {"file": SimpleUploadedFile(name, data)})
