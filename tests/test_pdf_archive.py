"""Archive and accessibility details of the PDFs: creation and modification dates in
Info and XMP, /Lang on structure elements in another language, header cells in every
table, and no PDF/UA claim (no check confirms it)."""

from __future__ import annotations

import io
import re

import pikepdf
import pytest
from flask_babel import force_locale

from portfolio.access import access_to
from portfolio.export.render import portfolio_pdf, summary_pdf
from portfolio.extensions import db
from portfolio.pdf import ascii_name
from tests.support.pdf_fixtures import add_entry, fill_portfolio
from tests.support.pdf_structure import elements


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


def xmp_and_info(pdf: bytes) -> tuple[str, dict]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        xmp = bytes(doc.Root.Metadata.read_bytes()).decode()
        info = {str(k): str(v) for k, v in doc.docinfo.items()}
    return xmp, info


@pytest.mark.parametrize("document", ["portfolio", "summary"])
def test_dates_in_info_and_xmp_and_no_pdfua_claim(world, document):
    add_entry(world.pupil, "reflection", {"title": "x", "text": "y"})
    db.session.commit()
    acc = access_to(world.pupil, world.pupil)
    pdf = portfolio_pdf(acc) if document == "portfolio" else summary_pdf(acc)
    xmp, info = xmp_and_info(pdf)
    assert re.fullmatch(r"D:\d{14}.*", info["/CreationDate"])
    assert re.fullmatch(r"D:\d{14}.*", info["/ModDate"])
    created = re.search(r"<xmp:CreateDate>(\d{4}-\d\d-\d\dT[\d:]+Z)</xmp:CreateDate>", xmp)
    modified = re.search(r"<xmp:ModifyDate>(\d{4}-\d\d-\d\dT[\d:]+Z)</xmp:ModifyDate>", xmp)
    assert created and modified
    assert info["/CreationDate"][2:16] == re.sub(r"\D", "", created.group(1))
    assert "pdfuaid" not in xmp  # not claimed: no PDF/UA check confirms it


def test_german_answers_in_an_arabic_pdf_carry_their_language(world):
    add_entry(world.pupil, "reflection", {"title": "Mein Tag", "text": "Ich arbeite gern im Team."})
    db.session.commit()
    with force_locale("ar"):
        pdf = portfolio_pdf(access_to(world.pupil, world.pupil))
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert str(doc.Root.Lang) == "ar"
    langs = {e.lang for e in elements(pdf) if e.lang}
    assert "de" in langs
    # Only where it differs from around it: no element repeats the language it inherits.
    assert "ar" not in langs


def test_every_table_has_header_cells(world):
    fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    pdf = portfolio_pdf(access_to(world.pupil, world.pupil))
    tables = [e for e in elements(pdf) if e.tag == "Table"]
    assert len(tables) >= 5  # ratings, logs, the chart, contacts, signatures, steps
    assert all("TH" in e.descendants for e in tables)


def test_plain_file_names():
    assert ascii_name("Zeugnis Öztürk Groß.pdf") == "Zeugnis Ozturk Gross.pdf"
    assert ascii_name("Świadectwo Łódź.pdf") == "Swiadectwo Lodz.pdf"
    assert ascii_name("Свидетельство.pdf") == "document.pdf"
