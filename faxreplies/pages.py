"""Pages of a received FAX (PDF or TIFF) as images, and the QR code on each.

The fax server delivers PDFs (each page an image, or a vector page when a reply form is printed straight to
PDF) and multi-page TIFFs at fax resolution (204×98 or 204×196 dpi: pixels twice as tall as wide in "normal"
mode). Pages are rasterised one at a time (pdftoppm for PDF, Pillow for TIFF), at square pixels, so memory
stays flat whatever the page count. QR codes are read with zxing-cpp.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.core.exceptions import ValidationError
from PIL import Image, ImageSequence, UnidentifiedImageError

# Pages are read at this resolution: a fax's finest horizontal resolution, enough for the reply form's QR.
RASTER_DPI = 200
PDF_MAGIC = b"%PDF-"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*")


def kind_of(head: bytes) -> str | None:
    """ "pdf", "tiff", or None, from the file's first bytes (not its name or the browser's content type)."""
    if head.startswith(PDF_MAGIC):
        return "pdf"
    if head[:4] in TIFF_MAGICS:
        return "tiff"
    return None


def count_pages(data: bytes, kind: str) -> int:
    """How many pages the file has; ValidationError (in Japanese) when it cannot be read as ``kind``."""
    if kind == "pdf":
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise ValidationError("パスワード付きのPDFは取り込めません。")
            return len(reader.pages)
        except (PyPdfError, ValueError, KeyError, TypeError) as exc:
            raise ValidationError("PDFとして読めません。FAXサーバーが保存したファイルか確認してください。") from exc
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "TIFF":
                raise ValidationError("TIFFとして読めません。")
            return sum(1 for _ in ImageSequence.Iterator(image))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValidationError("TIFFとして読めません。FAXサーバーが保存したファイルか確認してください。") from exc


def _square_pixels(image: Image.Image) -> Image.Image:
    """A fax page in "normal" mode has pixels twice as tall as wide (204×98 dpi): stretch it to square
    pixels so the page looks right and the QR code's modules are square again."""
    dpi = image.info.get("dpi")
    if not dpi or not dpi[0] or not dpi[1]:
        return image
    x_dpi, y_dpi = float(dpi[0]), float(dpi[1])
    if abs(x_dpi - y_dpi) / max(x_dpi, y_dpi) < 0.05:
        return image
    scale = x_dpi / y_dpi
    return image.resize((image.width, round(image.height * scale)), Image.Resampling.NEAREST)


def iter_page_images(path: Path, kind: str) -> Iterator[Image.Image]:
    """Each page as a greyscale image with square pixels, one at a time."""
    if kind == "tiff":
        with Image.open(path) as image:
            for frame in ImageSequence.Iterator(image):
                page = frame.copy()
                page.info = dict(frame.info)
                yield _square_pixels(page.convert("L"))
        return
    from pypdf import PdfReader

    pages = len(PdfReader(path).pages)
    with tempfile.TemporaryDirectory(prefix="efnet-fax-") as tmp:
        for number in range(1, pages + 1):
            out = Path(tmp) / "page"
            subprocess.run(
                [
                    "pdftoppm",
                    "-r",
                    str(RASTER_DPI),
                    "-gray",
                    "-png",
                    "-singlefile",
                    "-f",
                    str(number),
                    "-l",
                    str(number),
                    str(path),
                    str(out),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
            png = out.with_suffix(".png")
            with Image.open(png) as image:
                page = image.convert("L")
            png.unlink()
            yield page


def read_qr(image: Image.Image) -> str | None:
    """The text of the first QR code zxing-cpp finds on the page, or None."""
    import zxingcpp

    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    for barcode in found:
        if barcode.valid and barcode.text:
            return barcode.text
    return None


def as_png(image: Image.Image) -> bytes:
    """The page kept as evidence: 1-bit PNG (what a fax holds anyway), about 50–100 KB an A4 page."""
    out = io.BytesIO()
    image.convert("1").save(out, format="PNG", optimize=True)
    return out.getvalue()
