"""The PDF pipeline: safe fetching, hostile text, PDF/A metadata, attachments, RTL, layout."""

from __future__ import annotations

import http.server
import io
import re
import subprocess
import threading
from pathlib import Path

import pytest
from flask import current_app
from flask_babel import force_locale
from pypdf import PdfReader
from weasyprint.urls import URLFetchingError

from portfolio.access import access_to
from portfolio.export.render import portfolio_html, portfolio_pdf
from portfolio.extensions import db
from portfolio.pdf import SafeURLFetcher, counter_content, css_string, url_fetcher
from tests.support.documents import add_document
from tests.support.files import pdf_text, png_bytes
from tests.support.pdf_fixtures import add_entry, fill_portfolio

ARABIC = "أريد أن أصبح مهندسة"


def words_outside_page(data: bytes, tolerance: float = 1.0) -> list[str]:
    """Words whose box reaches beyond the page (pdftotext -bbox)."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-enc", "UTF-8", "-", "-"],
        input=data,
        capture_output=True,
        check=True,
    ).stdout.decode()
    bad = []
    for page in re.finditer(
        r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.DOTALL
    ):
        width = float(page.group(1))
        for m in re.finditer(
            r'<word xMin="([\d.-]+)" yMin="[\d.-]+" xMax="([\d.-]+)"[^>]*>(.*?)</word>',
            page.group(3),
        ):
            if float(m.group(1)) < -tolerance or float(m.group(2)) > width + tolerance:
                bad.append(m.group(3))
    return bad


@pytest.fixture(autouse=True)
def _request(app):
    """Rendering happens in a request (the views) or in a test request (CLI, workers)."""
    with app.test_request_context():
        yield


@pytest.fixture
def trap_server():
    """A local HTTP server that counts every request (nothing may reach it)."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


# -- the URL fetcher --------------------------------------------------------------------
def test_fetcher_refuses_other_hosts_and_files(app, tmp_path):
    allowed = tmp_path / "uploads"
    allowed.mkdir()
    (allowed / "ok.txt").write_text("ok")
    fetcher = SafeURLFetcher([allowed])
    assert fetcher.fetch((allowed / "ok.txt").as_uri())
    for url in (
        "http://example.org/x.png",
        "https://127.0.0.1/",
        "ftp://example.org/a",
        "file:///etc/passwd",
        f"file://evil.example{allowed}/ok.txt",
        f"file://{allowed}/../../../etc/passwd",
        "file:///usr/share/fonts/",
        "//example.org/x.png",
    ):
        with pytest.raises(URLFetchingError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,b2s=")


def test_app_fetcher_allows_fonts_static_and_uploads(app):
    fetcher = url_fetcher()
    assert fetcher.fetch("file:///usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
    with pytest.raises(URLFetchingError):
        fetcher.fetch("file:///etc/hostname")


def test_css_strings_cannot_break_out():
    assert css_string('a"b\\c</style>') == '"a\\"b\\\\c\\3c /style\\3e "'
    content = counter_content(
        "Seite \x00page\x00 von \x00pages\x00", {"page": "counter(page)", "pages": "counter(pages)"}
    )
    assert str(content) == '"Seite " counter(page) " von " counter(pages)'
    # A translation may put the numbers first.
    assert (
        str(
            counter_content(
                "\x00page\x00/\x00pages\x00", {"page": "counter(page)", "pages": "counter(pages)"}
            )
        )
        == 'counter(page) "/" counter(pages)'
    )


# -- hostile and unusual text -----------------------------------------------------------
def test_hostile_text_renders_as_text_and_fetches_nothing(world, trap_server):
    url, hits = trap_server
    long_word = "Donaudampfschifffahrtsgesellschaftskapitän" * 12
    text = (
        f'<script>alert(1)</script> <img src="{url}/pixel.png"> '
        f'<link rel="stylesheet" href="{url}/x.css"> file:///etc/passwd '
        f'<img src="file:///etc/passwd"> {long_word} 😀🎉 {ARABIC} <b>fett</b>'
    )
    add_entry(world.pupil, "reflection", {"title": f'<img src="{url}/title.png">', "text": text})
    add_entry(
        world.pupil,
        "cv",
        {
            "address": long_word,
            "email": long_word + "@example.org",
            "education": [{"school": long_word, "from": long_word}],
        },
    )
    db.session.commit()
    acc = access_to(world.pupil, world.pupil)
    html, _content = portfolio_html(acc)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    pdf = portfolio_pdf(acc)
    extracted = pdf_text(pdf)
    assert "<script>alert(1)</script>" in extracted
    assert f'<img src="{url}/pixel.png">' in extracted
    assert "file:///etc/passwd" in extracted
    assert "root:x:0:0" not in extracted
    assert hits == []
    assert words_outside_page(pdf) == []


def test_crafted_storage_key_cannot_escape_the_upload_folder(world):
    doc = add_document(
        world.pupil,
        png_bytes(40, 30),
        filename="a.png",
        mime="image/png",
        category="certificate",
        title="Escape attempt",
    )
    doc.storage_key = "../../../../etc/passwd"
    pdf_doc = add_document(
        world.pupil,
        b"%PDF-1.4",
        filename="b.pdf",
        mime="application/pdf",
        category="certificate",
        title="Escape attempt 2",
    )
    pdf_doc.storage_key = "..%2F..%2Fetc%2Fpasswd"
    db.session.commit()
    pdf = portfolio_pdf(access_to(world.pupil, world.pupil))
    text = pdf_text(pdf)
    assert text.count("The file is not available.") == 2
    assert "root:x:0:0" not in text
    assert PdfReader(io.BytesIO(pdf)).attachments == {}


# -- PDF/A, tags, metadata, attachments, images -------------------------------------------
def test_full_portfolio_is_pdfa_with_metadata_attachments_and_images(world):
    fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    acc = access_to(world.pupil, world.pupil)
    html, _content = portfolio_html(acc)
    assert re.search(r"https?://", re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", html)) is None
    pdf = portfolio_pdf(acc)
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data()
    assert re.search(rb"pdfaid:part(>|=\")3", xmp)
    assert re.search(rb"pdfaid:conformance(>|=\")U", xmp)
    assert root["/Lang"] in ("de", "en")
    assert bool(root["/MarkInfo"]["/Marked"]) is True
    assert "/StructTreeRoot" in root
    assert (
        reader.metadata.title == "Berufswahlpass of Paula Pupil"
        or reader.metadata.title.endswith("Paula Pupil")
    )
    assert reader.metadata.author == "Paula Pupil"
    assert list(reader.attachments) == ["praktikumsbescheinigung.pdf"]  # no database id
    images = subprocess.run(
        ["pdfimages", "-list", "-"], input=pdf, capture_output=True, check=False
    )
    if images.returncode != 0:  # older poppler cannot read from stdin
        path = Path(current_app.config["UPLOAD_FOLDER"]) / "images-test.pdf"
        path.write_bytes(pdf)
        images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, check=True)
    image_rows = [line for line in images.stdout.decode().splitlines()[2:] if line.strip()]
    assert len(image_rows) >= 2  # the PNG certificate and the JPEG report card
    text = pdf_text(pdf)
    # Sections in Berufswahlpass order, each with its page in the table of contents.
    positions = [
        text.index(f"{n}. {label}")
        for n, label in enumerate(
            [
                "Career orientation offers",
                "My way to a career choice",
                "Documentation",
                "Life planning",
                "Transition agreement",
            ],
            start=1,
        )
    ]
    assert positions == sorted(positions)
    assert "Page 2 of" in text
    # The pupil's forms stay on the pages: no guiding questions or prompts in the document.
    assert "What am I good at?" not in text and "Guiding questions" not in text
    assert "Praktikumsplatz suchen" in text and "version 2" in text  # agreement versions
    assert words_outside_page(pdf) == []


def test_toc_links_point_into_the_document(world):
    add_entry(world.pupil, "reflection", {"title": "Linked", "text": "x"})
    db.session.commit()
    reader = PdfReader(io.BytesIO(portfolio_pdf(access_to(world.pupil, world.pupil))))
    toc_page = reader.pages[1]
    links = [
        a.get_object()
        for a in toc_page.get("/Annots", [])
        if a.get_object().get("/Subtype") == "/Link"
    ]
    assert len(links) >= 5
    assert all("/Dest" in link or "/A" in link for link in links)


def test_arabic_portfolio_is_right_to_left(world):
    add_entry(world.pupil, "reflection", {"title": "حلمي", "text": ARABIC})
    db.session.commit()
    acc = access_to(world.pupil, world.pupil)
    with force_locale("ar"):
        html, content = portfolio_html(acc)
        pdf = portfolio_pdf(acc)
    assert content.rtl
    assert '<html lang="ar" dir="rtl">' in html
    # The pupil's own words keep their direction (first strong character, as dir="auto");
    # German text is marked as German, text in Arabic script is not claimed to be German.
    assert f'dir="rtl">{ARABIC}' in html and f'lang="de">{ARABIC}' not in html
    assert 'dir="ltr" lang="de">Realschule Testdorf' in html
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.trailer["/Root"]["/Lang"] == "ar"
    text = pdf_text(pdf)
    assert "مهندسة" in text
    assert words_outside_page(pdf) == []
