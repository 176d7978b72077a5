"""Upload checks: the content decides the type; photos lose their metadata."""

import hashlib
import io

import pikepdf
import pytest
from PIL import ExifTags, Image, ImageFile

from portfolio.documents import uploads
from portfolio.documents.uploads import UploadError, check_upload
from tests.support.files import blank_pdf, pdf_bytes, pdf_text, png_bytes, png_with_gps

GPS = ExifTags.IFD.GPSInfo


def jpeg(size=(40, 20), orientation=None, gps=False) -> bytes:
    img = Image.new("RGB", size, (10, 120, 200))
    exif = img.getexif()
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif.get_ifd(GPS)[ExifTags.GPS.GPSLatitude] = (51.0, 0.0, 0.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_png_is_accepted_and_loses_gps_and_camera():
    data = png_with_gps()
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(GPS)  # the test file really carries a position
    checked = check_upload(data, "foto.png")
    assert checked.mime_type == "image/png" and checked.is_image
    with Image.open(io.BytesIO(checked.data)) as cleaned:
        assert cleaned.format == "PNG"
        assert cleaned.size == (60, 40)
        exif = cleaned.getexif()
        assert not exif.get_ifd(GPS)
        assert ExifTags.Base.Make not in exif
        assert "exif" not in cleaned.info
    assert checked.sha256 == hashlib.sha256(checked.data).hexdigest()
    assert checked.size == len(checked.data)


def test_jpeg_orientation_is_applied_and_metadata_dropped():
    checked = check_upload(jpeg(orientation=6, gps=True), "IMG_0001.JPG")
    assert checked.mime_type == "image/jpeg"
    assert checked.filename == "IMG_0001.jpg"
    with Image.open(io.BytesIO(checked.data)) as cleaned:
        assert cleaned.format == "JPEG"
        assert cleaned.size == (20, 40)  # turned upright
        assert not cleaned.getexif()


def test_large_photo_is_scaled_down():
    checked = check_upload(jpeg(size=(uploads.MAX_IMAGE_EDGE + 600, 300)), "scan.jpg")
    with Image.open(io.BytesIO(checked.data)) as cleaned:
        assert max(cleaned.size) == uploads.MAX_IMAGE_EDGE


def test_pdf_is_stored_as_written_anew_with_its_pages_and_text():
    data = pdf_bytes("Praktikumsbescheinigung Bäckerei Schmidt")
    checked = check_upload(data, "Zeugnis.pdf")
    assert checked.mime_type == "application/pdf" and not checked.is_image
    assert checked.removed == ()
    assert "Praktikumsbescheinigung Bäckerei Schmidt" in pdf_text(checked.data)
    assert checked.sha256 == hashlib.sha256(checked.data).hexdigest()
    assert checked.original_sha256 == hashlib.sha256(data).hexdigest()
    # Deterministic: the same file sent twice is stored with the same hash, and a file
    # cleaned once comes out of the check unchanged (an imported take-away package).
    assert check_upload(data, "Zeugnis.pdf").sha256 == checked.sha256
    assert check_upload(checked.data, "Zeugnis.pdf").data == checked.data
    two_pages = check_upload(blank_pdf(2), "leer.pdf")
    with pikepdf.open(io.BytesIO(two_pages.data)) as pdf:
        assert len(pdf.pages) == 2


def test_pdf_from_weasyprint_is_accepted(app):
    from weasyprint import HTML

    data = HTML(string="<h1>Teilnahmebescheinigung</h1><p>Potenzialanalyse</p>").write_pdf()
    assert check_upload(data, "bescheinigung.pdf").mime_type == "application/pdf"


def test_pdf_type_comes_from_content_not_name():
    assert check_upload(blank_pdf(), "looks-like-a-photo.png").filename == "looks-like-a-photo.pdf"


@pytest.mark.parametrize(
    "data, name, message",
    [
        (
            b"MZ\x90\x00\x03\x00\x00\x00"
            + b"\x00" * 200
            + b"This program cannot be run in DOS mode",
            "Zeugnis.pdf",
            uploads.MSG_WRONG_TYPE,
        ),
        (b"Hallo, ich bin nur Text.\n", "bild.png", uploads.MSG_WRONG_TYPE),
        (b"<html><script>alert(1)</script></html>", "x.jpg", uploads.MSG_WRONG_TYPE),
        (b"%PDF-1.7\nnot really a pdf\n%%EOF\n", "fake.pdf", uploads.MSG_BAD_PDF),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "broken.png", uploads.MSG_BAD_IMAGE),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "IMG_1234.HEIC", uploads.MSG_HEIC),
    ],
)
def test_files_that_are_not_what_they_claim_are_refused(data, name, message):
    with pytest.raises(UploadError) as refused:
        check_upload(data, name)
    assert refused.value.message is message


def test_truncated_pdf_is_refused():
    data = blank_pdf(3)
    with pytest.raises(UploadError) as refused:
        check_upload(data[: len(data) // 2], "halb.pdf")
    assert refused.value.message is uploads.MSG_BAD_PDF


def test_truncated_jpeg_is_refused():
    data = jpeg(size=(400, 300))
    with pytest.raises(UploadError) as refused:
        check_upload(data[: len(data) // 2], "halb.jpg")
    assert refused.value.message is uploads.MSG_BAD_IMAGE


def test_png_with_jpeg_content_is_judged_by_content():
    assert check_upload(jpeg(), "bild.png").mime_type == "image/jpeg"


def test_image_with_too_many_pixels_is_refused_before_decoding(app, monkeypatch):
    buf = io.BytesIO()
    Image.new("1", (10_000, 6_500)).save(buf, "PNG")  # 65 Mpx, a few kB on disk
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    with pytest.raises(UploadError) as refused:
        check_upload(buf.getvalue(), "riesig.png")
    assert not decoded
    with app.test_request_context():
        assert "at most 40 megapixels" in str(refused.value.message)


def test_pixel_limit_is_a_setting(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_IMAGE_PIXELS", 2_000_000)
    with pytest.raises(UploadError) as refused:
        check_upload(png_bytes(2000, 1200), "foto.png")
    with app.test_request_context():
        assert "at most 2 megapixels" in str(refused.value.message)
    assert check_upload(png_bytes(1600, 1200), "foto.png").is_image


def test_large_png_is_reduced_strip_by_strip_keeping_its_transparency():
    img = Image.new("P", (7000, 2100), 0)
    img.putpalette([0, 0, 0, 30, 90, 200] + [0] * 762)
    for x in range(3500, 7000):
        img.putpixel((x, 1000), 1)
    buf = io.BytesIO()
    img.save(buf, "PNG", transparency=0)
    checked = check_upload(buf.getvalue(), "scan.png")
    with Image.open(io.BytesIO(checked.data)) as cleaned:
        assert cleaned.mode == "RGBA"
        assert cleaned.size == (3000, 900)
        assert cleaned.getpixel((10, 10))[3] == 0  # still transparent
        assert cleaned.getpixel((2500, 428))[3] > 0  # the line survived the reduction


def test_large_jpeg_is_decoded_at_reduced_scale_and_turned_upright(monkeypatch):
    decoded = []
    load = ImageFile.ImageFile.load

    def spy(self):
        decoded.append(self.size)
        return load(self)

    data = jpeg(size=(6000, 3000), orientation=6)
    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    checked = check_upload(data, "IMG_0002.JPG")
    assert decoded[0] == (3000, 1500)  # libjpeg decoded it at half its size
    with Image.open(io.BytesIO(checked.data)) as cleaned:
        assert cleaned.size == (1500, 3000)  # upright
        assert not cleaned.getexif()


def test_progressive_jpeg_is_limited_by_the_memory_its_decoding_needs(app, monkeypatch):
    buf = io.BytesIO()
    Image.new("RGB", (1000, 1000), (90, 90, 90)).save(
        buf, "JPEG", progressive=True, subsampling=0
    )  # 4:4:4: 6 bytes of coefficients a pixel, 6 MB
    monkeypatch.setattr(uploads, "MAX_JPEG_COEFFICIENT_BYTES", 3 * 1024 * 1024)
    with pytest.raises(UploadError) as refused:
        check_upload(buf.getvalue(), "progressiv.jpg")
    with app.test_request_context():
        assert "megapixels" in str(refused.value.message)
    monkeypatch.setattr(uploads, "MAX_JPEG_COEFFICIENT_BYTES", 8 * 1024 * 1024)
    assert check_upload(buf.getvalue(), "progressiv.jpg").is_image


def test_phone_photo_with_a_second_picture_mpo_is_a_jpeg():
    buf = io.BytesIO()
    first, depth = Image.new("RGB", (300, 200), (200, 10, 10)), Image.new("RGB", (300, 200))
    first.save(buf, "MPO", save_all=True, append_images=[depth])
    checked = check_upload(buf.getvalue(), "portrait.jpg")
    assert checked.mime_type == "image/jpeg"
    with Image.open(io.BytesIO(checked.data)) as cleaned:
        assert cleaned.format == "JPEG" and getattr(cleaned, "n_frames", 1) == 1
        assert cleaned.getpixel((150, 100))[0] > 150


def test_sixteen_bit_grey_png_is_scaled_not_cut_off():
    buf = io.BytesIO()
    Image.new("I;16", (400, 300), 40_000).save(buf, "PNG")
    with Image.open(io.BytesIO(check_upload(buf.getvalue(), "scan.png").data)) as cleaned:
        assert cleaned.mode == "L" and cleaned.getpixel((0, 0)) == 40_000 // 256


def test_empty_missing_and_too_large_files(app):
    with pytest.raises(UploadError) as none:
        check_upload(None, None)
    assert none.value.message is uploads.MSG_NO_FILE
    with pytest.raises(UploadError) as empty:
        check_upload(b"", "leer.pdf")
    assert empty.value.message is uploads.MSG_EMPTY
    with pytest.raises(UploadError) as large:
        check_upload(blank_pdf(), "gross.pdf", max_bytes=100)
    with app.test_request_context():
        assert "larger than 0 MB" in str(large.value.message)


def test_read_limited_reads_one_byte_past_the_limit():
    assert len(uploads.read_limited(io.BytesIO(b"x" * 50), 10)) == 11


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Praktikumszeugnis Müller.pdf", "Praktikumszeugnis_Müller.pdf"),
        ("../../etc/passwd", "passwd.pdf"),
        ("C:\\Users\\Elif\\Zeugnis Größe.exe", "Zeugnis_Größe.pdf"),
        ("CON.pdf", "_CON.pdf"),
        ("", "dokument.pdf"),
        ("...", "dokument.pdf"),
        ("شهادة التدريب.pdf", "شهادة_التدريب.pdf"),
        ("a\x00b\nc<script>.pdf", "abcscript.pdf"),
    ],
)
def test_safe_filename(raw, expected):
    assert uploads.safe_filename(raw, "application/pdf") == expected


def test_safe_filename_is_length_limited_and_keeps_the_extension():
    name = uploads.safe_filename("ä" * 500 + ".png", "image/png")
    assert len(name) <= uploads.MAX_NAME_LENGTH and name.endswith(".png")


def test_ascii_filename_spells_out_umlauts():
    assert uploads.ascii_filename("Zeugnis_Müller_Größe.pdf") == "Zeugnis_Mueller_Groesse.pdf"
    assert uploads.ascii_filename("شهادة.pdf") == "dokument.pdf"
