"""Reply forms as the fax server gives them back: the portal's own FAX bundle, its reply pages rasterised at
fax resolution (1-bit), as a multi-page TIFF or a PDF of page images."""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from notices.printing import bundle_pdf
from tests.notices.conftest import approved_notice, campaign  # noqa: F401 (fixture)
from tests.stored import StoredArea


def reply_pages_pdf(world, campaign, members) -> bytes:  # noqa: F811
    """The reply forms (every second page) of the FAX bundle printed for ``members``, in their order."""
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    bundle = bundle_pdf(notice=notice, members=members)
    assert not bundle.left_out
    writer = PdfWriter()
    for index, page in enumerate(PdfReader(io.BytesIO(bundle.pdf)).pages):
        if index % 2 == 1:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def fax_images(pdf: bytes, *, x_dpi: int, y_dpi: int) -> list[Image.Image]:
    """Each page as a fax machine sends it: ``x_dpi``×``y_dpi``, 1 bit per pixel (pdftoppm -mono)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-rx", str(x_dpi), "-ry", str(y_dpi), "-mono", str(source), str(Path(tmp) / "p")],
            check=True,
            capture_output=True,
        )
        images = []
        for path in sorted(Path(tmp).glob("p*.pbm")):
            with Image.open(path) as image:
                images.append(image.convert("1"))
        return images


def as_tiff(images: list[Image.Image], *, x_dpi: int, y_dpi: int) -> bytes:
    out = io.BytesIO()
    images[0].save(
        out, format="TIFF", save_all=True, append_images=images[1:], compression="group4", dpi=(x_dpi, y_dpi)
    )
    return out.getvalue()


def as_image_pdf(images: list[Image.Image], *, dpi: int) -> bytes:
    """A PDF of page images, as fax servers save received faxes."""
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return out.getvalue()


@pytest.fixture
def fax_store(db):
    """The FAX uploads and page images documents.storage holds."""
    return StoredArea("faxreplies")
