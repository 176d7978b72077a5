"""Uploaded PDF certificates on paper: every page an image in the portfolio (and the
application bundle), named in its alternative text, the original still attached."""

from __future__ import annotations

import io
import re
import subprocess

import pikepdf
import pytest
from pypdf import PdfReader

from portfolio.access import access_to
from portfolio.export import certificates
from portfolio.export.render import portfolio_pdf
from portfolio.extensions import db
from tests.support.documents import add_document
from tests.support.files import pdf_text
from tests.support.pdf_structure import elements


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


def two_page_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(
        string="<p>Seite eins der Bescheinigung</p>"
        "<p style='break-before: page'>Seite zwei der Bescheinigung</p>"
    ).write_pdf()


def image_rows(pdf: bytes) -> list[list[str]]:
    out = subprocess.run(["pdfimages", "-list", "-"], input=pdf, capture_output=True, check=True)
    return [line.split() for line in out.stdout.decode().splitlines()[2:] if line.strip()]


def test_every_page_of_an_uploaded_pdf_is_printed_with_its_name(world):
    add_document(
        world.pupil, two_page_pdf(), "pa-zertifikat.pdf", title="Zertifikat Potenzialanalyse"
    )
    db.session.commit()
    pdf = portfolio_pdf(access_to(world.pupil, world.pupil))

    figures = [e.alt for e in elements(pdf) if e.tag == "Figure"]
    names = [a for a in figures if a and a.startswith("Zertifikat Potenzialanalyse")]
    assert names == [
        "Zertifikat Potenzialanalyse, page 1 of 2",
        "Zertifikat Potenzialanalyse, page 2 of 2",
    ]
    # Each page on a page of its own, with its caption; at print resolution.
    text = pdf_text(pdf)
    pages = text.split("\f")
    on = [n for n, page in enumerate(pages) if "Zertifikat Potenzialanalyse, page" in page]
    assert len(on) == 2 and on[1] == on[0] + 1
    jpegs = [row for row in image_rows(pdf) if row[2] == "image" and row[8] == "jpeg"]
    assert len(jpegs) == 2
    assert all(int(row[12]) >= 150 for row in jpegs)  # x-ppi on the page
    # The original is still attached, under its own name; the document stays PDF/A-3u.
    reader = PdfReader(io.BytesIO(pdf))
    assert list(reader.attachments) == ["pa-zertifikat.pdf"]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert re.search(rb"pdfaid:part(>|=\")3", xmp)
    assert re.search(rb"pdfaid:conformance(>|=\")U", xmp)


def test_attachment_names_are_unicode_and_unique_without_ids(world):
    for _n in range(2):
        add_document(world.pupil, two_page_pdf(), "Zeugnis Öztürk.pdf", title="Zeugnis")
    db.session.commit()
    pdf = portfolio_pdf(access_to(world.pupil, world.pupil))
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        specs = [
            doc.Root.Names.EmbeddedFiles.Names[i + 1]
            for i in range(0, len(doc.Root.Names.EmbeddedFiles.Names), 2)
        ]
        unicode_names = sorted(str(s.UF) for s in specs)
        plain_names = sorted(bytes(s.F) for s in specs)
    assert unicode_names == ["Zeugnis Öztürk (2).pdf", "Zeugnis Öztürk.pdf"]
    # The old-style name field holds plain ASCII, never raw UTF-8 bytes.
    assert plain_names == [b"Zeugnis Ozturk (2).pdf", b"Zeugnis Ozturk.pdf"]


def test_a_huge_page_is_rendered_no_larger_than_the_cap():
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(14400, 14400))  # 5 m square
    out = io.BytesIO()
    pdf.save(out)
    (page,) = certificates.page_images(out.getvalue())
    import base64

    from PIL import Image

    data = base64.b64decode(page.src.split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as img:
        assert max(img.size) <= certificates.MAX_EDGE


def test_an_unreadable_pdf_stays_an_attachment(world):
    add_document(world.pupil, b"%PDF-1.4 not really", "kaputt.pdf", title="Kaputt")
    db.session.commit()
    text = pdf_text(portfolio_pdf(access_to(world.pupil, world.pupil)))
    assert "This PDF file is attached to this document." in text
