"""Uploaded PDF certificates on paper: every page rendered to an image for the PDFs.

An attached PDF is invisible in many phone and browser viewers, and the Potenzialanalyse
certificate is the document families most need printed. So each page of an uploaded PDF
is rendered with PDFium (pypdfium2) at print resolution and placed in the portfolio and
the application bundle as a page of its own; the original stays attached.

One page is rendered, encoded and released at a time, and the longest edge is capped,
so that a certificate with an odd page size cannot blow up the memory of a render.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: Print resolution for scanned and generated certificates (text stays crisp on paper).
DPI = 200
#: Longest edge of a page image in pixels (A4 at 200 dpi is 1654 x 2339).
MAX_EDGE = 2400
JPEG_QUALITY = 85


@dataclass(frozen=True)
class PageImage:
    """One rendered page of an uploaded PDF: a data: URL of a JPEG and its number."""

    src: str
    number: int
    landscape: bool = False


def page_images(data: bytes, max_pages: int = 50) -> list[PageImage]:
    """The pages of a PDF as images (none when PDFium cannot read the file)."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        log.warning("an uploaded PDF could not be opened for printing")
        return []
    images = []
    try:
        for index in range(min(len(document), max_pages)):
            page = document[index]
            try:
                images.append(_render(page, index + 1))
            except pdfium.PdfiumError:
                log.warning("page %d of an uploaded PDF could not be rendered", index + 1)
                return []
            finally:
                page.close()
    finally:
        document.close()
    return images


def _render(page, number: int) -> PageImage:
    width, height = page.get_size()  # PDF points (1/72 inch), rotation applied
    scale = min(DPI / 72, MAX_EDGE / max(width, height, 1))
    bitmap = page.render(scale=scale, may_draw_forms=True)
    try:
        image = bitmap.to_pil()
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    finally:
        bitmap.close()
    encoded = base64.b64encode(out.getvalue()).decode()
    return PageImage(f"data:image/jpeg;base64,{encoded}", number, width > height)
