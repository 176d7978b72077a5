"""PDF documents: render_pdf(template, **ctx) -> bytes, through WeasyPrint.

Templates live in templates/pdf/<document>.html with their CSS beside them. Only
files from our own static folder and the upload folder can be pulled into a PDF;
any other URL (another host, another file) is refused, so text a user typed can
never make the server fetch something.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import threading
import unicodedata
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from markupsafe import Markup
from weasyprint import HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetchingError

PDF_VARIANT = "pdf/a-3u"
_thread = threading.local()


class SafeURLFetcher(URLFetcher):
    """Allows data: URLs and file: URLs inside the allowed folders; refuses the rest."""

    def __init__(self, allowed_roots: list[str | os.PathLike[str]], **kwargs) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, **kwargs)
        self.allowed_roots = [Path(r).resolve() for r in allowed_roots]

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file" or parts.netloc not in ("", "localhost"):
            raise URLFetchingError(f"refused to fetch {url[:80]!r}")
        path = Path(unquote(parts.path)).resolve()
        if not any(path.is_relative_to(root) for root in self.allowed_roots) or not path.is_file():
            raise URLFetchingError(
                f"refused to fetch a file outside the allowed folders: {url[:80]!r}"
            )
        return super().fetch(url, headers)


def css_string(text: str) -> str:
    """A CSS string literal for `text` (safe inside a <style> element)."""
    escaped = (
        str(text)
        .replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("<", "\\3c ")
        .replace(">", "\\3e ")
        .replace("\n", "\\a ")
        .replace("\r", "")
    )
    return f'"{escaped}"'


def counter_content(translated: str, counters: dict[str, str]) -> Markup:
    """A CSS `content` value from a translated text whose placeholders were filled
    with markers (`\x00name\x00`): each marker becomes `counters[name]` (e.g.
    `counter(page)`), every other piece a CSS string, in the translator's word order.
    """
    parts = []
    for i, piece in enumerate(translated.split("\x00")):
        if i % 2:
            parts.append(counters[piece])
        elif piece:
            parts.append(css_string(piece))
    return Markup(" ".join(parts) or '""')


def page_counter_css() -> Markup:
    """`content` of the footer: the translated "Page X of Y" with CSS page counters."""
    from portfolio.i18n import _

    text = _("Page %(page)s of %(pages)s", page="\x00page\x00", pages="\x00pages\x00")
    return counter_content(text, {"page": "counter(page)", "pages": "counter(pages)"})


def attachment(data: bytes, name: str, description: str = "") -> Attachment:
    """A file embedded in the PDF (PDF/A-3 allows any file as an associated file)."""
    return Attachment(
        file_obj=BytesIO(data),
        name=name,
        description=description or name,
        relationship="Supplement",
    )


# -- two gaps of WeasyPrint's PDF writer, closed where it writes ---------------------------
# WeasyPrint (66-70) writes an attachment's /F name as raw UTF-8 bytes (PDF wants PDFDoc
# encoding there; /UF holds the Unicode name), and puts no /Lang on structure elements,
# so German answers in an Arabic PDF are read aloud as Arabic. Both are fixed by wrapping
# the writer functions; tests/test_pdf_archive.py notices when an upgrade changes them.
#: Letters NFKD does not take apart into an ASCII letter and a mark.
_ASCII_LETTERS = str.maketrans(
    {"ß": "ss", "ł": "l", "Ł": "L", "ı": "i", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "đ": "d"}
)


def ascii_name(name: str) -> str:
    """A file name in plain ASCII for /F ("Zeugnis Öztürk.pdf" -> "Zeugnis Ozturk.pdf");
    a name in another script becomes "document" with its extension."""
    plain = unicodedata.normalize("NFKD", name.translate(_ASCII_LETTERS))
    plain = plain.encode("ascii", "ignore").decode().strip()
    stem, dot, ext = plain.rpartition(".")
    if not dot:
        stem, ext = plain, ""
    if not any(c.isalnum() for c in stem):
        stem = "document"
    return f"{stem.strip()}.{ext}" if ext else stem.strip()


def _patch_weasyprint() -> None:
    import pydyf
    from weasyprint import pdf as wp_pdf
    from weasyprint.pdf import tags as wp_tags

    write_attachment = wp_pdf.write_pdf_attachment
    if not getattr(write_attachment, "_bwp", False):

        def write_pdf_attachment(pdf, attachment, compress):
            spec = write_attachment(pdf, attachment, compress)
            if spec is not None and attachment.name:
                spec["F"] = pydyf.String(ascii_name(attachment.name))
            return spec

        write_pdf_attachment._bwp = True
        wp_pdf.write_pdf_attachment = write_pdf_attachment

    build = getattr(wp_tags, "_build_box_tree", None)
    if build is not None and not getattr(build, "_bwp", False):

        def build_box_tree(box, parent, *args):
            lang = None if box.element is None else box.element.get("lang")
            for element in build(box, parent, *args):
                if (
                    lang
                    and element.get("P") == parent.reference
                    and box.element_tag not in ("html", "body")
                    and str(parent.get("Lang", "")).strip("()") != lang
                ):
                    element["Lang"] = pydyf.String(lang)
                yield element

        build_box_tree._bwp = True
        wp_tags._build_box_tree = build_box_tree


_patch_weasyprint()


def url_fetcher() -> SafeURLFetcher:
    app = current_app
    return SafeURLFetcher([app.static_folder, app.config["UPLOAD_FOLDER"], "/usr/share/fonts"])


def font_config() -> FontConfiguration:
    """This thread's WeasyPrint font configuration, kept from one render to the next.

    A new one loads fontconfig's whole font list and copies every @font-face file of
    templates/pdf/_fonts.css into a temporary folder: about 0.1 s of every render. The
    fonts (Debian packages, see _fonts.css) do not change while the process runs, and
    a font face is registered once under its descriptors, so a kept configuration gives
    the same document. One per thread: Pango's font map is not thread-safe.
    """
    config = getattr(_thread, "font_config", None)
    if config is None:
        config = _thread.font_config = FontConfiguration()
    return config


def render_html(template: str, **context) -> str:
    """The final HTML of a PDF document (also what the benchmark times separately).

    `pdf_created` (W3C date-time, UTC) is the document's creation and modification date
    in its Info dictionary and XMP metadata (templates/pdf/_meta.html)."""
    context.setdefault("pdf_created", dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return render_template(template, **context)


def html_to_pdf(
    html: str, *, attachments: list | None = None, metadata: dict | None = None
) -> bytes:
    """Turn final HTML into a tagged PDF/A-3u document."""
    base_url = Path(current_app.static_folder).resolve().as_uri() + "/"
    document = HTML(string=html, base_url=base_url, url_fetcher=url_fetcher())
    # WeasyPrint builds hundreds of thousands of short-lived objects; the cyclic garbage
    # collector running over them costs about 15 % of a render (tests/benchmarks/bench_pdf.py).
    # Reference counting still frees nearly everything; cycles are collected afterwards.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return document.write_pdf(
            font_config=font_config(),
            pdf_variant=PDF_VARIANT,
            pdf_tags=True,
            attachments=attachments or None,
            custom_metadata=bool(metadata),
        )
    finally:
        if gc_was_enabled:
            gc.enable()


def render_pdf(template: str, *, attachments: list | None = None, **context) -> bytes:
    """Render templates/<template> to PDF bytes."""
    return html_to_pdf(render_html(template, **context), attachments=attachments)
