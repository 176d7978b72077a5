"""Uploaded PDFs are stored cleaned: nothing that runs or carries something in reaches
the store, a download or the portfolio PDF (issue 16, item 9). The hostile PDFs are built
with pikepdf here; `pdf_hazards` reads a PDF apart from the cleaning code."""

from __future__ import annotations

import hashlib
import io

import pikepdf
import pytest
import sqlalchemy as sa

from portfolio.documents import uploads
from portfolio.documents.uploads import UploadError, check_upload
from portfolio.extensions import db
from portfolio.models import Document
from portfolio.storage import get_storage
from tests.support.documents import add_document, upload
from tests.support.files import PAYLOAD_MARK, blank_pdf, hostile_pdf, pdf_hazards, pdf_text
from tests.support.jobs import fetch

EVERYTHING = {
    "/AA",
    "/EF",
    "/EmbeddedFiles",
    "/FileAttachment",
    "/GoToR",
    "/JS",
    "/JavaScript",
    "/Launch",
    "/OpenAction",
    "/SubmitForm",
    "/XFA",
    "payload",
    "unsafe /URI",
}


@pytest.mark.parametrize("object_streams", [False, True], ids=["plain", "object-streams"])
def test_hostile_pdf_is_stored_without_anything_active(object_streams):
    data = hostile_pdf(object_streams=object_streams)
    assert pdf_hazards(data) == EVERYTHING  # the test file carries all of it

    checked = check_upload(data, "Teilnahmebescheinigung.pdf")

    assert pdf_hazards(checked.data) == set()
    assert PAYLOAD_MARK not in checked.data
    assert checked.removed == (
        "additional_actions",
        "embedded_files",
        "external_actions",
        "javascript",
        "open_action",
        "xfa",
    )
    # What is harmless stays: the page, its text, the web link, the form field, the
    # bookmark and the link inside the document (without the script chained to it).
    assert "Teilnahmebescheinigung" in pdf_text(checked.data)
    with pikepdf.open(io.BytesIO(checked.data)) as pdf:
        assert len(pdf.pages) == 1 and not pdf.attachments
        links = [a.get("/A") for a in pdf.pages[0].Annots if a.Subtype == "/Link"]
        assert [str(a.URI) for a in links if a is not None and a.S == "/URI"] == [
            "https://www.arbeitsagentur.de/"
        ]
        assert [a.S for a in links if a is not None and a.S != "/URI"] == ["/GoTo"]
        assert [str(f.T) for f in pdf.Root.AcroForm.Fields] == ["name"]
        assert str(pdf.Root.Outlines.First.Title) == "Start"


def test_names_spelled_with_escapes_in_a_damaged_file_are_found():
    """`/J#61vaScript` is `/JavaScript`; the longer names also break the xref offsets,
    so qpdf has to rebuild the file's index first."""
    data = hostile_pdf().replace(b"/JavaScript", b"/J#61vaScript").replace(b"/AA", b"/A#41")
    assert b"/JavaScript" not in data
    checked = check_upload(data, "zeugnis.pdf")
    assert pdf_hazards(checked.data) == set()
    assert "javascript" in checked.removed and "additional_actions" in checked.removed


def test_pdf_whose_index_qpdf_rebuilds_is_accepted_with_its_pages():
    """Real certificates often have index offsets off by a few bytes (edited, or line
    ends changed by a mail program): viewers repair that silently, and so does qpdf."""
    data = blank_pdf(2).replace(b"/Type /Pages", b"/Type   /Pages")
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert any("damaged" in w for w in pdf.get_warnings())
    with pikepdf.open(io.BytesIO(check_upload(data, "zeugnis.pdf").data)) as pdf:
        assert len(pdf.pages) == 2


def test_harmless_pdf_reports_nothing_removed():
    checked = check_upload(blank_pdf(), "leer.pdf")
    assert checked.removed == () and pdf_hazards(checked.data) == set()


def _encrypted(user: str) -> bytes:
    with pikepdf.open(io.BytesIO(hostile_pdf())) as pdf:
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(owner="schule", user=user))
    return out.getvalue()


def test_pdf_that_needs_a_password_is_refused():
    with pytest.raises(UploadError) as refused:
        check_upload(_encrypted(user="geheim"), "zeugnis.pdf")
    assert refused.value.message is uploads.MSG_ENCRYPTED_PDF


def test_pdf_with_an_owner_password_only_is_stored_unlocked_and_cleaned():
    """Providers often restrict printing or copying with an owner password; such a PDF
    opens without one, so it is accepted, and stored without the lock."""
    checked = check_upload(_encrypted(user=""), "zeugnis.pdf")
    with pikepdf.open(io.BytesIO(checked.data)) as pdf:
        assert not pdf.is_encrypted
    assert pdf_hazards(checked.data) == set()


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\nnot really a pdf\n%%EOF\n",
        b"%PDF-1.4\n%%EOF\n",
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R/Size 3>>\n%%EOF\n",
    ],
    ids=["garbage", "empty", "no-pages"],
)
def test_broken_pdfs_are_refused(data):
    with pytest.raises(UploadError) as refused:
        check_upload(data, "kaputt.pdf")
    assert refused.value.message is uploads.MSG_BAD_PDF


def test_pdf_with_too_many_pages_is_refused(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_PDF_PAGES", 3)
    assert check_upload(blank_pdf(3), "drei.pdf")
    with pytest.raises(UploadError) as refused:
        check_upload(blank_pdf(4), "vier.pdf")
    with app.test_request_context():
        assert "more than 3 pages" in str(refused.value.message)


def test_pdf_with_too_many_objects_is_refused(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_PDF_OBJECTS", 10)
    with pytest.raises(UploadError) as refused:
        check_upload(hostile_pdf(), "komplex.pdf")
    assert refused.value.message is uploads.MSG_COMPLEX_PDF


def test_upload_stores_and_serves_only_the_cleaned_pdf(client_for, world):
    client = client_for(world.pupil)
    response = upload(client, file=(io.BytesIO(hostile_pdf()), "Zertifikat.pdf"))
    assert response.status_code == 302
    doc = db.session.scalars(sa.select(Document)).one()
    stored = get_storage().read(doc.storage_key)
    assert pdf_hazards(stored) == set()
    assert doc.size == len(stored)
    download = client.get(f"/documents/{doc.id}/download")
    assert download.data == stored


def test_portfolio_pdf_passes_nothing_executable_on(client_for, world):
    """The portfolio attaches uploaded PDFs: neither the portfolio nor any attachment
    holds a script, an action that runs something or a file from the upload."""
    client = client_for(world.pupil)
    assert upload(client, file=(io.BytesIO(hostile_pdf()), "Zertifikat.pdf")).status_code == 302
    portfolio = fetch(client, "/export/mine/portfolio.pdf")
    assert portfolio.status_code == 200
    assert PAYLOAD_MARK not in portfolio.data
    # The portfolio's own attachments are the point of it; everything else must be clean.
    assert pdf_hazards(portfolio.data) - {"/EmbeddedFiles", "/EF"} == set()
    with pikepdf.open(io.BytesIO(portfolio.data)) as pdf:
        attached = [spec.get_file().read_bytes() for spec in pdf.attachments.values()]
    assert attached, "the uploaded PDF is attached to the portfolio"
    for data in attached:
        assert pdf_hazards(data) == set()
        assert "Teilnahmebescheinigung" in pdf_text(data)


def test_clean_documents_cleans_pdfs_stored_before_uploads_were_cleaned(runner, world):
    hostile = add_document(world.pupil, hostile_pdf(), "alt.pdf")
    harmless_data = blank_pdf()
    harmless = add_document(world.pupil, harmless_data, "leer.pdf")
    locked = add_document(world.pupil, _encrypted(user="geheim"), "gesperrt.pdf")
    db.session.commit()
    old_key = hostile.storage_key

    dry = runner.invoke(args=["clean-documents", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 PDF(s) would be cleaned, 1 without active content." in dry.output
    assert f"Document {locked.id} left as it is: This PDF is protected" in dry.output
    assert db.session.get(Document, hostile.id).storage_key == old_key

    done = runner.invoke(args=["clean-documents"])
    assert done.exit_code == 0, done.output
    assert f"Document {hostile.id}: removed additional_actions, embedded_files" in done.output
    db.session.expire_all()
    cleaned = db.session.get(Document, hostile.id)
    stored = get_storage().read(cleaned.storage_key)
    assert pdf_hazards(stored) == set()
    assert cleaned.size == len(stored) and cleaned.sha256 == hashlib.sha256(stored).hexdigest()
    with pytest.raises(FileNotFoundError):
        get_storage().read(old_key)  # the old file is gone
    assert get_storage().read(db.session.get(Document, harmless.id).storage_key) == harmless_data
