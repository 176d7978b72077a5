"""The application bundle (Bewerbungsmappe): the pupil chooses, sees the parts in order,
downloads a PDF an employer would accept: cover, Lebenslauf, certificates, placements."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale
from pypdf import PdfReader

from portfolio.extensions import db
from portfolio.kinds import SPECS, EntryKind, Group
from tests.support.documents import add_document
from tests.support.files import pdf_text, png_bytes
from tests.support.jobs import fetch
from tests.support.pdf_fixtures import add_entry
from tests.support.pdf_structure import elements

DE = {"Accept-Language": "de"}


def two_page_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(
        string="<p>Erste Seite</p><p style='break-before: page'>Zweite Seite</p>"
    ).write_pdf()


@pytest.fixture
def made(world):
    p = world.pupil
    cv = add_entry(
        p,
        "cv",
        {
            "address": "Hauptstraße 1, 57072 Siegen",
            "email": "paula@example.org",
            "education": [
                {"from": "08/2020", "to": "", "school": "Realschule Siegen", "qualification": ""},
                {"from": "", "to": "", "school": "", "qualification": ""},  # an empty row
            ],
            "experience": [{"from": "01/2026", "to": "02/2026", "company": "Praxis Dr. Ö"}],
            "languages": "Deutsch, Türkisch",
        },
    )
    placement = add_entry(
        p,
        "praktikum",
        {
            "company": "Autohaus Sieg",
            "log": [{"date": "2026-01-19", "activities": "LOGMARK Reifen", "thoughts": ""}],
            "learned": "LEARNEDMARK Geduld",
            "would_work_there": "yes",
        },
    )
    certificate = add_document(p, two_page_pdf(), "pa.pdf", title="Zertifikat Potenzialanalyse")
    other = add_document(p, two_page_pdf(), "x.pdf", title="NOTCHOSEN", category="other")
    photo = add_document(
        p, png_bytes(300, 400), "foto.png", mime="image/png", category="cv", title="Foto"
    )
    db.session.commit()
    return {
        "cv": cv,
        "placement": placement,
        "certificate": certificate,
        "other": other,
        "photo": photo,
    }


def test_pupil_sees_the_parts_in_order_then_downloads_them(world, made, client_for):
    c = client_for(world.pupil)
    page = c.get("/export/mine/application", headers=DE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    preview = re.search(r'<ol [^>]*id="bundle-contents">(.*?)</ol>', html, re.S).group(1)
    items = [re.sub(r"\s+", " ", i).strip() for i in re.findall(r"<li>(.*?)</li>", preview, re.S)]
    assert items[0] == "Deckblatt"
    assert items[1].startswith("Lebenslauf")
    assert "Zertifikat Potenzialanalyse" in items[2] and "Autohaus Sieg" in items[3]
    assert len(items) == 4  # the "other" document is not ticked at first

    # The pupil changes the choice: adds the photo, drops the placement.
    cid, doc, ph = made["cv"].id, made["certificate"].id, made["photo"].id
    page = c.get(f"/export/mine/application?made=1&cv={cid}&document={doc}&photo={ph}", headers=DE)
    html = page.get_data(as_text=True)
    assert "Autohaus Sieg" not in re.search(
        r'<ol [^>]*id="bundle-contents">(.*?)</ol>', html, re.S
    ).group(1)
    # The download button is a form with the choice in hidden fields (a job makes the PDF).
    form = re.search(
        r'<form method="post" action="/export/mine/application\.pdf"[^>]*>(.*?)</form>', html, re.S
    ).group(1)
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form):
        if name not in ("csrf_token", "submission_key"):
            fields.setdefault(name, []).append(value)
    assert fields == {"cv": [str(cid)], "photo": [str(ph)], "document": [str(doc)]}
    response = fetch(c, "/export/mine/application.pdf", fields, headers=DE)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Bewerbung" in response.headers["Content-Disposition"]
    pdf = response.data
    text = pdf_text(pdf)
    pages = text.split("\f")
    assert "BEWERBUNGSUNTERLAGEN" in pages[0].upper() and "Paula Pupil" in pages[0]
    assert "Lebenslauf" in pages[1] and "Realschule Siegen" in pages[1]
    assert "Hauptstraße 1, 57072 Siegen" in pages[1]
    assert "Autohaus Sieg" not in text and "NOTCHOSEN" not in text
    figures = [e.alt for e in elements(pdf) if e.tag == "Figure"]
    assert "Foto von Paula Pupil" in figures
    assert [a for a in figures if a.startswith("Zertifikat")] == [
        "Zertifikat Potenzialanalyse, Seite 1 von 2",
        "Zertifikat Potenzialanalyse, Seite 2 von 2",
    ]
    assert list(PdfReader(io.BytesIO(pdf)).attachments) == ["pa.pdf"]


def _form_texts(kind: EntryKind) -> set[str]:
    """Every hint and guiding question of a kind's form, in German (a question that is
    also a field's label, such as "Würde ich dort arbeiten?", is a heading: not counted)."""
    spec = SPECS[kind]
    texts = {str(q) for q in spec.guiding_questions} | {str(spec.intro)}
    labels = set()
    for f in spec.fields:
        labels.add(str(f.label))
        for g in f.fields if isinstance(f, Group) else (f,):
            labels.add(str(g.label))
            if g.prompt:
                texts.add(str(g.prompt))
    return texts - labels


def test_nothing_pupil_facing_leaves_the_school(world, made, client_for):
    c = client_for(world.pupil)
    ids = (made["cv"].id, made["placement"].id, made["certificate"].id)
    form = dict(zip(("cv", "placement", "document"), ids, strict=True))
    text = pdf_text(fetch(c, "/export/mine/application.pdf", form, headers=DE).data)
    flat = " ".join(text.split())
    for phrase in (
        "z. B.",
        "Leitfragen",
        "Noch nicht ausgefüllt",
        "Schreib jeden Tag",
        "Hier ist noch nichts",
    ):
        assert phrase not in flat
    with force_locale("de"):
        form = _form_texts(EntryKind.CV) | _form_texts(EntryKind.PRAKTIKUM)
    assert [t for t in form if " ".join(t.split()) in flat] == []
    # The placement's evaluation is there, the pupil's daily log is not.
    assert "LEARNEDMARK Geduld" in flat and "LOGMARK" not in flat
    # No empty rows: the CV's empty school row leaves no dangling dates or dashes.
    cv_page = text.split("\f")[1]
    assert "Realschule Siegen" in cv_page and not re.search(r"^\s*[–-]\s*$", cv_page, re.M)


def test_ids_of_another_pupil_are_ignored(world, made, client_for):
    other = client_for(world.classmate)
    form = {"cv": made["cv"].id, "document": made["certificate"].id}
    response = other.post("/export/mine/application.pdf", data=form)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/export/mine/application"
