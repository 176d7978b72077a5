"""File contents for uploads and documents, and the text of a PDF."""

from __future__ import annotations

import io
import subprocess

#: The smallest file that starts like a PDF (stored as is, never parsed).
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
#: A PNG signature followed by junk (stored as is, never decoded).
PNG = bytes.fromhex("89504e470d0a1a0a") + b"not really an image but bytes"


def png_bytes(width: int = 800, height: int = 500, colour=(79, 143, 208)) -> bytes:
    """A real PNG image with a few diagonal lines."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(img)
    for i in range(0, width, 40):
        draw.line([(i, 0), (width - i, height)], fill=(255, 255, 255), width=3)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def png_with_gps(size=(60, 40)) -> bytes:
    """A PNG carrying a camera make and a GPS position in its EXIF data."""
    from PIL import ExifTags, Image

    img = Image.new("RGB", size, (200, 30, 30))
    exif = img.getexif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (50.0, 52.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (8.0, 1.0, 12.0)
    buf = io.BytesIO()
    img.save(buf, "PNG", exif=exif)
    return buf.getvalue()


def jpeg_bytes(width: int = 2400, height: int = 3300) -> bytes:
    """A real JPEG the size of a scanned A4 page."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    for y in range(100, height, 60):
        draw.line([(150, y), (width - 150, y)], fill=(40, 40, 40), width=4)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def blank_pdf(pages: int = 1) -> bytes:
    """A valid PDF of blank A4 pages."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def pdf_bytes(text: str = "Praktikumsbescheinigung") -> bytes:
    """A small one-page PDF with text (made with WeasyPrint itself)."""
    from weasyprint import HTML

    return HTML(string=f"<p>{text}</p>").write_pdf()


def pdf_text(data: bytes) -> str:
    """The text of a PDF as `pdftotext` (poppler-utils) reads it."""
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
