"""Checking uploaded files: what a file is, decided by its content, never by its name.

`check_upload(data, filename, max_bytes=...)` returns a `CheckedFile` ready to store,
or raises `UploadError` with a message for the person who uploaded it. Accepted are
PDF documents (parsed to prove they are PDFs) and photos (PNG, JPEG), which are
re-encoded: the orientation is applied and all metadata (EXIF, GPS position, camera,
comments) is dropped, so a photo of a certificate never carries where it was taken.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from werkzeug.utils import secure_filename

from portfolio.i18n import _l

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
#: Accepted types and the extension a stored file gets.
EXTENSIONS = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg"}
IMAGE_TYPES = frozenset({PNG, JPEG})
#: For the file chooser: a hint to the phone, not a check (the content decides).
ACCEPT = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Photos are scaled down to this longest edge: sharp enough to read a certificate.
MAX_IMAGE_EDGE = 3000
#: Refuse images whose pixel count would take too much memory to decode.
MAX_IMAGE_PIXELS = 60_000_000
MAX_NAME_LENGTH = 100
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)

MSG_NO_FILE = _l("Please choose a file.")
MSG_EMPTY = _l("The file is empty. Please choose another file.")
MSG_WRONG_TYPE = _l(
    "This kind of file cannot be uploaded. Please choose a PDF document or a photo (JPEG or PNG)."
)
MSG_HEIC = _l(
    "This photo is in the HEIC format, which cannot be read here. Please save it as JPEG "
    "(on an iPhone: Settings > Camera > Formats > Most Compatible) or take a screenshot."
)
MSG_BAD_PDF = _l("The file is not a readable PDF. It may be damaged or incomplete.")
MSG_ENCRYPTED_PDF = _l(
    "This PDF is protected with a password. Please save it without a password and try again."
)
MSG_BAD_IMAGE = _l("The picture cannot be read. It may be damaged or incomplete.")
MSG_IMAGE_TOO_BIG = _l("The picture has too many pixels. Please choose a smaller picture.")


class UploadError(ValueError):
    """A file that cannot be accepted; `message` says why, for the uploader."""

    def __init__(self, message) -> None:
        super().__init__(message)  # lazy: translated when shown, in the user's language
        self.message = message


def too_large_message(max_bytes: int):
    return _l(
        "The file is larger than %(mb)d MB. Please choose a smaller file.",
        mb=max_bytes // (1024 * 1024),
    )


@dataclass(frozen=True)
class CheckedFile:
    """An accepted file: the bytes to store and what we know about them."""

    data: bytes
    mime_type: str
    filename: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def is_image(self) -> bool:
        return self.mime_type in IMAGE_TYPES


def sniff(data: bytes) -> str | None:
    """The type the first bytes claim (PDF, PNG or JPEG), or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def _is_heic(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in {b"heic", b"heix", b"hevc", b"mif1", b"msf1"}


def check_pdf(data: bytes) -> None:
    """Raise UploadError unless `data` is a complete PDF with at least one page."""
    if b"%%EOF" not in data[-2048:]:
        raise UploadError(MSG_BAD_PDF)  # cut off during the upload or the download before
    from pypdf import PdfReader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                # Certificates often come with an owner password only: they open without one.
                try:
                    opened = reader.decrypt("")
                except Exception as error:  # e.g. AES without a crypto library
                    raise UploadError(MSG_ENCRYPTED_PDF) from error
                if not opened:
                    raise UploadError(MSG_ENCRYPTED_PDF)
            if len(reader.pages) < 1:
                raise UploadError(MSG_BAD_PDF)
            reader.pages[0].mediabox  # noqa: B018 - the first page must be readable
    except UploadError:
        raise
    except Exception as error:  # any parser failure on untrusted input means: not a PDF
        raise UploadError(MSG_BAD_PDF) from error


def _jpeg_is_complete(data: bytes) -> bool:
    """An end-of-image marker after the last scan. (Pillow cannot be relied on to notice a
    cut-off JPEG: WeasyPrint switches on ImageFile.LOAD_TRUNCATED_IMAGES for the process.)"""
    last_scan = data.rfind(b"\xff\xda")
    return last_scan > 0 and data.find(b"\xff\xd9", last_scan) > 0


def clean_image(data: bytes, mime_type: str) -> bytes:
    """The photo re-encoded in its own format: upright, at most MAX_IMAGE_EDGE, no metadata."""
    expected = "PNG" if mime_type == PNG else "JPEG"
    if mime_type == JPEG and not _jpeg_is_complete(data):
        raise UploadError(MSG_BAD_IMAGE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format != expected:
                    raise UploadError(MSG_WRONG_TYPE)
                if probe.width * probe.height > MAX_IMAGE_PIXELS:
                    raise UploadError(MSG_IMAGE_TOO_BIG)
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                upright = ImageOps.exif_transpose(img)
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UploadError(MSG_IMAGE_TOO_BIG) from error
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as error:
        raise UploadError(MSG_BAD_IMAGE) from error

    if mime_type == JPEG:
        mode = "L" if upright.mode in ("1", "L") else "RGB"
    elif upright.mode in ("RGB", "RGBA", "L", "LA"):
        mode = upright.mode
    else:
        has_alpha = upright.mode in ("P", "PA") and "transparency" in upright.info
        mode = "RGBA" if has_alpha or "A" in upright.mode else "RGB"
    converted = upright.convert(mode)
    # A fresh image carries no info dict at all: nothing of the original's metadata.
    clean = Image.new(mode, converted.size)
    clean.paste(converted)
    clean.thumbnail((MAX_IMAGE_EDGE, MAX_IMAGE_EDGE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if mime_type == JPEG:
        clean.save(out, "JPEG", quality=85, optimize=True)
    else:
        clean.save(out, "PNG")
    return out.getvalue()


def safe_filename(name: str | None, mime_type: str) -> str:
    """A file name safe to show and to send back: no path, no control characters, umlauts
    and other letters kept, at most MAX_NAME_LENGTH long, extension matching the content."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = os.path.splitext(name)[0]
    stem = re.sub(r"[^\w.\- ]+", "", stem)  # \w: letters and digits of every script
    stem = re.sub(r"\s+", "_", stem).strip("._- ")
    stem = re.sub(r"\.{2,}", ".", stem)
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    ext = EXTENSIONS[mime_type]
    stem = stem[: MAX_NAME_LENGTH - len(ext)].rstrip("._- ")
    return f"{stem or 'dokument'}{ext}"


def ascii_filename(name: str) -> str:
    """An ASCII fallback of a (sanitised) name for old clients, umlauts spelled out."""
    for umlaut, spelled in (
        ("ä", "ae"),
        ("ö", "oe"),
        ("ü", "ue"),
        ("Ä", "Ae"),
        ("Ö", "Oe"),
        ("Ü", "Ue"),
        ("ß", "ss"),
    ):
        name = name.replace(umlaut, spelled)
    stem, ext = os.path.splitext(name)
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ext = re.sub(r"[^A-Za-z0-9.]", "", ext)
    return f"{secure_filename(ascii_stem) or 'dokument'}{ext}"


def check_upload(
    data: bytes | None, filename: str | None, *, max_bytes: int = MAX_UPLOAD_BYTES
) -> CheckedFile:
    """Accept the file or raise UploadError: type by content, size, name, clean photo."""
    if data is None:
        raise UploadError(MSG_NO_FILE)
    if not data:
        raise UploadError(MSG_EMPTY)
    if len(data) > max_bytes:
        raise UploadError(too_large_message(max_bytes))
    mime_type = sniff(data)
    if mime_type is None:
        raise UploadError(MSG_HEIC if _is_heic(data) else MSG_WRONG_TYPE)
    if mime_type == PDF:
        check_pdf(data)
        stored = data
    else:
        stored = clean_image(data, mime_type)
    return CheckedFile(
        data=stored,
        mime_type=mime_type,
        filename=safe_filename(filename, mime_type),
        sha256=hashlib.sha256(stored).hexdigest(),
    )


def read_limited(stream, max_bytes: int) -> bytes:
    """Read at most max_bytes + 1 bytes: enough to tell that a file is too large."""
    return stream.read(max_bytes + 1)
