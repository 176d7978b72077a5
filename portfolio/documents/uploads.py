"""The one content check for files that come from outside: what a file is, decided by
its content, never by its name.

`check_upload(data, filename)` is called wherever a file enters the portfolio (the
upload form, the import of a take-away package, the demo data). It returns a
`CheckedFile` whose bytes are the ones to store, or raises `UploadError` with a message
for the person who sent the file. Accepted are:

* Photos (PNG, JPEG). The size in the header is checked against MAX_IMAGE_PIXELS before
  a single pixel is decoded; JPEGs are decoded at reduced scale by libjpeg (`draft`) and
  every image is reduced strip by strip, so that one upload stays well under 300 MB
  however large the picture. The stored photo is re-encoded: upright, at most
  MAX_IMAGE_EDGE on its longest side, without metadata (EXIF, GPS position, camera,
  comments), so a photo of a certificate never carries where it was taken.
* PDF documents, opened with pikepdf (qpdf) and stored as written anew without
  JavaScript, open actions, additional actions (/AA), embedded files, XFA forms, media
  annotations, and actions that start programs, submit or import data or open other
  files; links stay only to web and mail addresses. PDFs that need a password to open
  and PDFs that cannot be read are refused.

Limits come from the app's configuration when there is one (MAX_UPLOAD_BYTES,
MAX_IMAGE_PIXELS, MAX_PDF_PAGES), else from the defaults below.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import unicodedata
import warnings
from dataclasses import dataclass

from flask import current_app, has_app_context
from PIL import Image, UnidentifiedImageError
from werkzeug.utils import secure_filename

from portfolio.i18n import _l

log = logging.getLogger(__name__)

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
#: Pixels an image may have (header) to be decoded at all. 40 million is more than a
#: phone's camera (12-24 Mpx in its usual setting) or an A4 page scanned at 600 dpi
#: (35 Mpx) gives; decoded, it is at most 160 MB (4 bytes a pixel).
MAX_IMAGE_PIXELS = 40_000_000
#: A progressive JPEG keeps all its coefficients in memory while it is decoded (2 bytes
#: each, 64 a block), whatever the scale: at most this much.
MAX_JPEG_COEFFICIENT_BYTES = 160 * 1024 * 1024
#: Certificates, report cards and application papers have a few pages.
MAX_PDF_PAGES = 50
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
MSG_COMPLEX_PDF = _l(
    "This PDF is too complex to be checked. Please save it again as a PDF (for example with "
    "Print > Save as PDF) and upload the new file."
)
MSG_BAD_IMAGE = _l("The picture cannot be read. It may be damaged or incomplete.")


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


def too_many_pixels_message(max_pixels: int):
    return _l(
        "The picture has too many pixels: at most %(mpx)d megapixels are possible. Please "
        "choose a smaller picture, or photograph or scan it at a lower resolution "
        "(300 dpi is enough for a certificate).",
        mpx=max_pixels // 1_000_000,
    )


def too_many_pages_message(max_pages: int):
    return _l(
        "The PDF has more than %(pages)d pages. Please upload each certificate or document "
        "on its own.",
        pages=max_pages,
    )


@dataclass(frozen=True)
class CheckedFile:
    """An accepted file: the bytes to store and what we know about them.

    `sha256` is the hash of the stored bytes (what a download or a take-away package
    holds); `original_sha256` the hash of the bytes as they came in. The cleaning is
    deterministic, so the same file sent twice is stored with the same hash.
    `removed` names what was taken out of a PDF (empty for a harmless file).
    """

    data: bytes
    mime_type: str
    filename: str
    sha256: str
    original_sha256: str
    removed: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def is_image(self) -> bool:
        return self.mime_type in IMAGE_TYPES


def _setting(name: str) -> int:
    default = globals()[name]
    if has_app_context():
        return int(current_app.config.get(name) or default)
    return default


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


# --- PDF --------------------------------------------------------------------------------

#: Keys removed wherever they occur, and what they are (for `CheckedFile.removed`).
_PDF_DROP_KEYS = {
    "/JS": "javascript",
    "/JavaScript": "javascript",  # the catalog's name tree of document scripts
    "/OpenAction": "open_action",
    "/AA": "additional_actions",
    "/EmbeddedFiles": "embedded_files",
    "/EF": "embedded_files",  # the payload of a file specification
    "/Collection": "embedded_files",  # a "PDF portfolio" of embedded files
    "/XFA": "xfa",
    "/NeedsRendering": "xfa",
}
#: Actions that run something, reach outside the file or play media.
_PDF_UNSAFE_ACTIONS = {
    "/JavaScript": "javascript",
    "/Launch": "external_actions",
    "/GoToR": "external_actions",
    "/GoToE": "external_actions",
    "/SubmitForm": "external_actions",
    "/ImportData": "external_actions",
    "/Rendition": "media",
    "/Movie": "media",
    "/Sound": "media",
    "/RichMediaExecute": "media",
    "/GoTo3DView": "media",
}
#: Annotations that carry files, scripts or media players.
_PDF_UNSAFE_ANNOTATIONS = {
    "/FileAttachment": "embedded_files",
    "/Screen": "media",
    "/Movie": "media",
    "/Sound": "media",
    "/RichMedia": "media",
    "/3D": "media",
}
_SAFE_URI = re.compile(r"(?:https?|mailto):", re.IGNORECASE)
#: In the file as qpdf writes it (no object streams, names and strings in one spelling):
#: any of the names above, or a link that does not plainly start with a safe scheme.
_PDF_SUSPECT = re.compile(
    rb"(?:"
    + b"|".join(
        re.escape(name.encode())
        for name in sorted({*_PDF_DROP_KEYS, *_PDF_UNSAFE_ACTIONS, *_PDF_UNSAFE_ANNOTATIONS})
    )
    + rb")(?![^\s/\[\]<>(){}%])"
    + rb"|/URI\s*(?:<|\((?!(?i:https?|mailto):))"
)
_PDF_OBJECT = re.compile(rb"(?m)^(\d+) (\d+) obj\b")
_PDF_REFERENCE = re.compile(rb"(?<![0-9])(\d+) (\d+) R(?![0-9A-Za-z])")
#: More objects than this make a PDF too costly to check (a 50-page text: ~15,000).
MAX_PDF_OBJECTS = 50_000


def _pdf_hazard(obj) -> str | None:
    """What is unsafe about a dictionary (an action or an annotation), or None."""
    import pikepdf

    if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        return None
    kind = obj.get("/Type")
    action = obj.get("/S")
    if isinstance(action, pikepdf.Name) and kind in (None, pikepdf.Name.Action):
        if str(action) in _PDF_UNSAFE_ACTIONS:
            return _PDF_UNSAFE_ACTIONS[str(action)]
        if action == pikepdf.Name.URI:
            uri = obj.get("/URI")
            if not isinstance(uri, pikepdf.String) or not _SAFE_URI.match(str(uri)):
                return "external_actions"
    subtype = obj.get("/Subtype")
    if isinstance(subtype, pikepdf.Name) and kind in (None, pikepdf.Name.Annot):
        return _PDF_UNSAFE_ANNOTATIONS.get(str(subtype))
    return None


def _clean_pdf_container(obj, removed: set[str]) -> None:
    """Remove dangerous keys, and references to unsafe actions and annotations, from one
    object and the dictionaries and arrays written inside it."""
    import pikepdf

    pending = [obj]
    while pending:
        obj = pending.pop()
        if isinstance(obj, pikepdf.Array):
            for i in reversed(range(len(obj))):
                item = obj[i]
                hazard = _pdf_hazard(item)
                if hazard:
                    del obj[i]
                    removed.add(hazard)
                elif isinstance(item, pikepdf.Dictionary | pikepdf.Array) and not item.is_indirect:
                    pending.append(item)
            continue
        if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            continue
        for key in list(obj.keys()):
            if key in _PDF_DROP_KEYS:
                del obj[key]
                removed.add(_PDF_DROP_KEYS[key])
                continue
            value = obj.get(key)
            hazard = _pdf_hazard(value)
            if hazard:
                del obj[key]
                removed.add(hazard)
            elif isinstance(value, pikepdf.Dictionary | pikepdf.Array) and not value.is_indirect:
                pending.append(value)


def _objects_at(text: bytes, positions) -> set[tuple[int, int]]:
    """The objects (number, generation) in whose text these positions lie."""
    import bisect

    heads = list(_PDF_OBJECT.finditer(text))
    starts = [m.start() for m in heads]
    found = set()
    for position in positions:
        i = bisect.bisect_right(starts, position) - 1
        if i >= 0:
            found.add((int(heads[i][1]), int(heads[i][2])))
    return found


def _clean_pdf_objects(pdf, text: bytes) -> set[str]:
    """Clean the objects whose text names something suspect, and the objects that refer
    to an unsafe action or annotation (a link's /A, a page's /Annots, a /Next chain)."""
    removed: set[str] = set()
    suspects = _objects_at(text, (m.start() for m in _PDF_SUSPECT.finditer(text)))
    unsafe = {objgen for objgen in suspects if _pdf_hazard(pdf.get_object(objgen))}
    references = (
        m.start() for m in _PDF_REFERENCE.finditer(text) if (int(m[1]), int(m[2])) in unsafe
    )
    for objgen in suspects | _objects_at(text, references):
        _clean_pdf_container(pdf.get_object(objgen), removed)
    return removed


def _write_pdf(pdf, *, plain: bool = False) -> bytes:
    """The PDF as qpdf writes it, unencrypted; `plain`: without object streams or stream
    compression, so that every dictionary can be read as text."""
    import pikepdf

    out = io.BytesIO()
    pdf.save(
        out,
        encryption=False,
        # Stream data is copied as it is: never inflated, so no zip bomb.
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        object_stream_mode=(
            pikepdf.ObjectStreamMode.disable if plain else pikepdf.ObjectStreamMode.generate
        ),
        compress_streams=not plain,
        deterministic_id=not plain,  # the same file cleaned twice: the same bytes
        fix_metadata_version=False,
    )
    return out.getvalue()


def _check_pdf_size(pdf) -> None:
    pages = len(pdf.pages)
    if pages < 1:
        raise UploadError(MSG_BAD_PDF)
    if pages > _setting("MAX_PDF_PAGES"):
        raise UploadError(too_many_pages_message(_setting("MAX_PDF_PAGES")))
    size = pdf.trailer.get("/Size")  # qpdf reads no object numbered beyond it
    if not isinstance(size, int):  # a damaged index that qpdf rebuilt: count them
        size = len(pdf.objects)
    if size > MAX_PDF_OBJECTS:
        raise UploadError(MSG_COMPLEX_PDF)


def clean_pdf(data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """The PDF written anew without anything that runs or carries something in, and what
    was removed; UploadError for a PDF that is locked, unreadable or too large.

    qpdf writes the file once as plain text; only when that text names something
    suspect are the objects concerned cleaned (wherever they are, not only where a
    viewer is known to look). The file is then written again: qpdf writes only what is
    still reachable, so the scripts and files are gone, not hidden.
    """
    import pikepdf

    if b"%%EOF" not in data[-2048:]:
        raise UploadError(MSG_BAD_PDF)  # cut off during the upload or the download before
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # qpdf's notes on repaired files and the like
            with pikepdf.open(io.BytesIO(data)) as pdf:  # owner-password-only PDFs open
                _check_pdf_size(pdf)
                text = _write_pdf(pdf, plain=True)
                if not _PDF_SUSPECT.search(text):
                    return _write_pdf(pdf), ()
            with pikepdf.open(io.BytesIO(text)) as pdf:  # numbered as in `text`
                removed = _clean_pdf_objects(pdf, text)
                return _write_pdf(pdf), tuple(sorted(removed))
    except UploadError:
        raise
    except pikepdf.PasswordError as error:
        raise UploadError(MSG_ENCRYPTED_PDF) from error
    except Exception as error:  # any parser failure on untrusted input means: not a PDF
        raise UploadError(MSG_BAD_PDF) from error


# --- Images -----------------------------------------------------------------------------

#: EXIF orientation -> the turn that makes the picture upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION = 0x0112
#: Rows of the reduced image made at a time: a strip of the decoded image is copied,
#: converted and reduced, never the whole image at once.
_STRIP_ROWS = 128


def _jpeg_is_complete(data: bytes) -> bool:
    """An end-of-image marker after the last scan. (Pillow cannot be relied on to notice a
    cut-off JPEG: WeasyPrint switches on ImageFile.LOAD_TRUNCATED_IMAGES for the process.)"""
    last_scan = data.rfind(b"\xff\xda")
    return last_scan > 0 and data.find(b"\xff\xd9", last_scan) > 0


def _jpeg_coefficient_bytes(img) -> int:
    """Memory libjpeg holds for a progressive JPEG: every component's 8x8 blocks."""
    layers = getattr(img, "layer", None) or [("", 1, 1, 0)]
    h_max = max(layer[1] for layer in layers) or 1
    v_max = max(layer[2] for layer in layers) or 1
    total = 0
    for _id, h, v, _q in layers:
        width = -(-img.width * h // h_max)
        height = -(-img.height * v // v_max)
        total += -(-width // 8) * -(-height // 8) * 128
    return total


def _open_header(data: bytes, mime_type: str) -> Image.Image:
    """The picture with only its header read, if its size may be decoded."""
    fmt = "PNG" if mime_type == PNG else "JPEG"  # Pillow opens JPEGs with several pictures
    img = Image.open(io.BytesIO(data), formats=[fmt])  # (phones' MPO) as format "MPO"
    pixels = img.width * img.height
    max_pixels = _setting("MAX_IMAGE_PIXELS")
    if img.info.get("progressive"):  # the limit that keeps its coefficients in budget
        coefficients = _jpeg_coefficient_bytes(img)
        max_pixels = min(max_pixels, pixels * MAX_JPEG_COEFFICIENT_BYTES // coefficients)
    if pixels > max_pixels:
        raise UploadError(too_many_pixels_message(max_pixels))
    return img


def _target_mode(img: Image.Image, mime_type: str) -> str:
    if mime_type == JPEG:
        return "L" if img.mode in ("1", "L") else "RGB"
    if img.mode.startswith("I"):  # 16-bit grey (some scanners)
        return "L"
    if img.mode in ("RGB", "RGBA", "L", "LA"):
        return img.mode
    has_alpha = img.mode in ("P", "PA") and "transparency" in img.info
    return "RGBA" if has_alpha or "A" in img.mode else "RGB"


def _reduction(size: tuple[int, int], max_edge: int) -> int:
    """The whole factor that brings the longest edge nearest to max_edge (1: none)."""
    return max(1, int(max(size) / max_edge + 0.5))


def _decode_reduced(img, mode: str, max_edge: int) -> Image.Image:
    """The picture decoded near its final size, in `mode`.

    JPEGs are decoded by libjpeg at 1/2, 1/4 or 1/8 scale. What remains is reduced by a
    whole factor strip by strip, so that besides the decoded picture only the reduced
    one (a quarter or less) and one strip are ever held."""
    factor = _reduction(img.size, max_edge)
    if factor > 1 and img.format in ("JPEG", "MPO"):
        img.draft(None, (img.width // factor, img.height // factor))
    img.load()
    factor = _reduction(img.size, max_edge)
    if factor == 1 and img.mode == mode:
        return img
    width, height = img.size
    reduced = Image.new(mode, (-(-width // factor), -(-height // factor)))
    step = _STRIP_ROWS * factor
    for top in range(0, height, step):
        strip = img.crop((0, top, width, min(height, top + step)))
        if strip.mode.startswith("I"):  # 16 bits to 8: scaled, not cut off at 255
            strip = strip.convert("I").point(lambda value: value / 256)
        if strip.mode != mode:
            strip = strip.convert(mode)
        if factor > 1:
            strip = strip.reduce(factor)
        reduced.paste(strip, (0, top // factor))
    return reduced


def clean_image(data: bytes, mime_type: str) -> bytes:
    """The photo re-encoded in its own format: upright, at most MAX_IMAGE_EDGE, no metadata."""
    if mime_type == JPEG and not _jpeg_is_complete(data):
        raise UploadError(MSG_BAD_IMAGE)
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning (89 Mpx) comes after our lower limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            _open_header(data, mime_type).verify()  # chunk checksums; decodes nothing
            img = _open_header(data, mime_type)
            mode = _target_mode(img, mime_type)
            picture = _decode_reduced(img, mode, MAX_IMAGE_EDGE)
            orientation = img.getexif().get(_ORIENTATION)  # PNG: known after the pixels
    except UploadError:
        raise
    except Image.DecompressionBombError as error:  # over 179 Mpx: Pillow refuses to open
        raise UploadError(too_many_pixels_message(_setting("MAX_IMAGE_PIXELS"))) from error
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as error:
        raise UploadError(MSG_BAD_IMAGE) from error
    del img
    if orientation in _UPRIGHT:
        picture = picture.transpose(_UPRIGHT[orientation])
    picture.thumbnail((MAX_IMAGE_EDGE, MAX_IMAGE_EDGE), Image.Resampling.LANCZOS)
    picture.info = {}  # nothing of the original's metadata (EXIF, ICC, text) is written
    out = io.BytesIO()
    if mime_type == JPEG:
        picture.save(out, "JPEG", quality=85, optimize=True)
    else:
        picture.save(out, "PNG")
    return out.getvalue()


# --- Names ------------------------------------------------------------------------------


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


# --- The check --------------------------------------------------------------------------


def check_upload(
    data: bytes | None, filename: str | None, *, max_bytes: int | None = None
) -> CheckedFile:
    """Accept the file or raise UploadError: type by content, size, name, cleaned content.

    `filename` is the name the sender gave (only shown, never trusted); `max_bytes`
    defaults to the MAX_UPLOAD_BYTES setting.
    """
    if data is None:
        raise UploadError(MSG_NO_FILE)
    if not data:
        raise UploadError(MSG_EMPTY)
    max_bytes = max_bytes or _setting("MAX_UPLOAD_BYTES")
    if len(data) > max_bytes:
        raise UploadError(too_large_message(max_bytes))
    mime_type = sniff(data)
    if mime_type is None:
        raise UploadError(MSG_HEIC if _is_heic(data) else MSG_WRONG_TYPE)
    removed: tuple[str, ...] = ()
    if mime_type == PDF:
        stored, removed = clean_pdf(data)
        if removed:
            log.info("PDF upload cleaned: removed %s", ", ".join(removed))
    else:
        stored = clean_image(data, mime_type)
    return CheckedFile(
        data=stored,
        mime_type=mime_type,
        filename=safe_filename(filename, mime_type),
        sha256=hashlib.sha256(stored).hexdigest(),
        original_sha256=hashlib.sha256(data).hexdigest(),
        removed=removed,
    )


def read_limited(stream, max_bytes: int) -> bytes:
    """Read at most max_bytes + 1 bytes: enough to tell that a file is too large."""
    return stream.read(max_bytes + 1)
