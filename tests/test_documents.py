"""Documents: upload, list, share, delete; downloads only for those allowed, audited."""

import hashlib
import io
import re

import pytest
import sqlalchemy as sa

from portfolio.documents import services
from portfolio.documents.uploads import check_upload
from portfolio.extensions import db
from portfolio.models import Audience, AuditEvent, Document, Entry
from portfolio.storage import get_storage
from tests.support.documents import EN, upload
from tests.support.files import blank_pdf, png_bytes
from tests.support.queries import count_queries


def make_doc(pupil, share=(), *, data=None, name="Zeugnis Müller.pdf", title="Zeugnis"):
    checked = check_upload(data or blank_pdf(), name)
    doc = services.create_document(
        pupil, pupil, checked, category="certificate", title=title, share=share
    )
    db.session.commit()
    return doc


# -- upload -----------------------------------------------------------------------------
def test_upload_stores_the_file_and_lists_it_by_category(client_for, world):
    client = client_for(world.pupil)
    data = blank_pdf()
    response = upload(
        client, file=(io.BytesIO(data), "Zeugnis Müller.pdf"), share_class_teacher="y"
    )
    assert response.status_code == 302
    doc = db.session.scalar(sa.select(Document))
    assert doc.pupil_id == world.pupil.id and doc.uploaded_by_id == world.pupil.id
    assert doc.filename == "Zeugnis_Müller.pdf" and doc.mime_type == "application/pdf"
    assert doc.title == "Praktikumszeugnis" and doc.category == "certificate"
    assert doc.shared_with == [Audience.CLASS_TEACHER]
    stored = get_storage().read(doc.storage_key)  # the PDF as the upload check wrote it
    assert stored == check_upload(data, "x.pdf").data and doc.size == len(stored)
    assert doc.sha256 == hashlib.sha256(stored).hexdigest()
    page = client.get("/documents/", headers=EN).get_data(as_text=True)
    assert (
        "Certificates" in page
        and "Praktikumszeugnis" in page
        and "Shared with: class teacher" in page
    )


def test_new_documents_are_private_by_default(client_for, world):
    client = client_for(world.pupil)
    upload(client, file=(io.BytesIO(png_bytes(30, 20)), "foto.png"), title="")
    doc = db.session.scalar(sa.select(Document))
    assert doc.shared_with == []
    assert doc.title == "foto"  # an empty title takes the file name
    assert "Private: only you" in client.get("/documents/", headers=EN).get_data(as_text=True)


@pytest.mark.parametrize(
    "file, message",
    [
        (None, "Please choose a file."),
        ((io.BytesIO(b""), ""), "Please choose a file."),  # what a browser sends for no file
        ((io.BytesIO(b""), "leer.pdf"), "The file is empty."),
        ((io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100), "Zeugnis.pdf"), "This kind of file cannot"),
        ((io.BytesIO(b"%PDF-1.4\nkaputt"), "Zeugnis.pdf"), "not a readable PDF"),
    ],
)
def test_bad_uploads_keep_title_and_category(client_for, world, file, message):
    client = client_for(world.pupil)
    response = upload(client, file=file, title="Mein Zeugnis", category="report_card")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert 'value="Mein Zeugnis"' in page
    assert re.search(r'<input checked[^>]*value="report_card"', page)
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0


def test_file_over_the_upload_limit_is_refused_at_the_field(app, client_for, world, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1024 * 1024)
    client = client_for(world.pupil)
    big = blank_pdf() + b"\n%" + b"x" * (1024 * 1024)
    response = upload(client, file=(io.BytesIO(big), "gross.pdf"), title="Groß")
    page = response.get_data(as_text=True)
    assert "The file is larger than 1 MB" in page and 'value="Groß"' in page
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0


def test_request_over_max_content_length_shows_the_upload_page(app, client_for, world, monkeypatch):
    client = client_for(world.pupil)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2048)
    response = upload(client, file=(io.BytesIO(b"x" * 10_000), "gross.pdf"))
    assert response.status_code == 413
    assert "The file is larger than" in response.get_data(as_text=True)


def test_upload_attached_to_own_entry_only(client_for, world):
    own = Entry(school_id=world.school.id, pupil_id=world.pupil.id, kind="praktikum")
    other = Entry(school_id=world.school.id, pupil_id=world.classmate.id, kind="praktikum")
    db.session.add_all([own, other])
    db.session.commit()
    client = client_for(world.pupil)
    ok = upload(client, file=(io.BytesIO(blank_pdf()), "z.pdf"), query=f"?entry_id={own.id}")
    assert ok.status_code == 302
    assert db.session.scalar(sa.select(Document.entry_id)) == own.id
    stranger = upload(
        client, file=(io.BytesIO(blank_pdf()), "z.pdf"), query=f"?entry_id={other.id}"
    )
    assert stranger.status_code == 404
    assert client.get(f"/documents/upload?entry_id={other.id}").status_code == 404


def test_document_list_issues_a_fixed_number_of_queries(client_for, world):
    client = client_for(world.pupil)
    entry = Entry(school_id=world.school.id, pupil_id=world.pupil.id, kind="praktikum")
    db.session.add(entry)
    db.session.commit()

    def add(n):
        for i in range(n):
            doc = make_doc(world.pupil, [Audience.CLASS_TEACHER], title=f"Doc {i}")
            doc.entry_id = entry.id
        db.session.commit()

    add(2)
    with count_queries() as few:
        assert client.get("/documents/").status_code == 200
    add(8)
    with count_queries() as many:
        assert client.get("/documents/").status_code == 200
    assert len(many) == len(few)


# -- who may download -------------------------------------------------------------------
VISITORS_SHARED = {
    # visitor: audience the document must be shared with for them to get it (None: never)
    "pupil": "always",
    "teacher": Audience.CLASS_TEACHER,
    "stubo": Audience.STUBO,
    "guardian": Audience.GUARDIANS,
    "counsellor": Audience.COUNSELLOR,
    "teacher_9b": None,
    "other_teacher": None,
    "other_pupil": None,
    "classmate": None,
    "other_guardian": None,
    "counsellor_unassigned": None,
    "admin": None,
}


@pytest.mark.parametrize("visitor", sorted(VISITORS_SHARED))
@pytest.mark.parametrize(
    "shared",
    [
        (),
        (Audience.CLASS_TEACHER,),
        (Audience.STUBO,),
        (Audience.GUARDIANS,),
        (Audience.COUNSELLOR,),
        tuple(Audience),
    ],
)
def test_download_access_matrix(client_for, world, visitor, shared):
    doc = make_doc(world.pupil, shared)
    rule = VISITORS_SHARED[visitor]
    allowed = rule == "always" or (rule is not None and rule in shared)
    response = client_for(getattr(world, visitor)).get(f"/documents/{doc.id}/download")
    assert response.status_code == (200 if allowed else 404)
    if allowed:
        assert response.data == get_storage().read(doc.storage_key)


def test_download_headers(client_for, world):
    doc = make_doc(world.pupil, [Audience.CLASS_TEACHER])
    response = client_for(world.teacher).get(f"/documents/{doc.id}/download")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="Zeugnis_Mueller.pdf"' in disposition
    assert "filename*=UTF-8''Zeugnis_M%C3%BCller.pdf" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"


def test_downloads_by_others_are_audited_own_are_not(client_for, world):
    doc = make_doc(world.pupil, [Audience.CLASS_TEACHER, Audience.GUARDIANS])
    client_for(world.pupil).get(f"/documents/{doc.id}/download")
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0
    client_for(world.teacher).get(f"/documents/{doc.id}/download")
    client_for(world.guardian).get(f"/documents/{doc.id}/download")
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.actor_id, e.action, e.pupil_id, e.object_type, e.object_id) for e in events] == [
        (world.teacher.id, "download", world.pupil.id, "document", doc.id),
        (world.guardian.id, "download", world.pupil.id, "document", doc.id),
    ]


def test_image_preview_inline_for_images_only(client_for, world):
    image = make_doc(world.pupil, [Audience.GUARDIANS], data=png_bytes(30, 20), name="foto.png")
    pdf = make_doc(world.pupil, [Audience.GUARDIANS])
    guardian = client_for(world.guardian)
    response = guardian.get(f"/documents/{image.id}/preview")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert guardian.get(f"/documents/{pdf.id}/preview").status_code == 404
    assert client_for(world.teacher).get(f"/documents/{image.id}/preview").status_code == 404
    assert db.session.scalar(sa.select(AuditEvent.action)) == "view"


def test_staff_list_shows_only_shared_documents_and_is_audited(client_for, world):
    make_doc(world.pupil, [Audience.CLASS_TEACHER], title="Geteiltes Zeugnis")
    make_doc(world.pupil, title="Privates Zeugnis")
    page = client_for(world.teacher).get(f"/documents/pupil/{world.pupil.id}", headers=EN)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Geteiltes Zeugnis" in text and "Privates Zeugnis" not in text
    assert db.session.scalar(sa.select(AuditEvent.action)) == "view"
    assert client_for(world.teacher_9b).get(f"/documents/pupil/{world.pupil.id}").status_code == 404


# -- edit and delete ----------------------------------------------------------------------
def test_pupil_changes_sharing_and_title(client_for, world):
    doc = make_doc(world.pupil)
    client = client_for(world.pupil)
    assert client.get(f"/documents/{doc.id}/edit").status_code == 200
    response = client.post(
        f"/documents/{doc.id}/edit",
        data={"title": "Neuer Titel", "category": "report_card", "share_guardians": "y"},
    )
    assert response.status_code == 302
    db.session.refresh(doc)
    assert doc.title == "Neuer Titel" and doc.category == "report_card"
    assert doc.shared_with == [Audience.GUARDIANS]
    # The guardian may now read it, but not change it.
    guardian = client_for(world.guardian)
    assert guardian.get(f"/documents/{doc.id}/download").status_code == 200
    assert guardian.post(f"/documents/{doc.id}/edit", data={"title": "x"}).status_code == 403


def test_edit_without_title_shows_the_error(client_for, world):
    doc = make_doc(world.pupil)
    response = client_for(world.pupil).post(
        f"/documents/{doc.id}/edit", data={"title": "", "category": "cv"}, headers=EN
    )
    assert "Please enter a title." in response.get_data(as_text=True)
    db.session.refresh(doc)
    assert doc.title == "Zeugnis"


def test_delete_asks_first_then_removes_row_and_file(client_for, world):
    doc = make_doc(world.pupil, [Audience.CLASS_TEACHER])
    key, doc_id = doc.storage_key, doc.id
    path = get_storage().path(key)
    assert path.exists()
    teacher = client_for(world.teacher)
    assert teacher.post(f"/documents/{doc_id}/delete").status_code == 403
    client = client_for(world.pupil)
    confirm = client.get(f"/documents/{doc_id}/delete", headers=EN)
    assert "cannot be undone" in confirm.get_data(as_text=True)
    assert db.session.get(Document, doc_id) is not None
    assert client.post(f"/documents/{doc_id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Document, doc_id) is None
    assert not path.exists()
    assert client.get(f"/documents/{doc_id}/download").status_code == 404


def test_content_disposition_for_ascii_names_has_no_extended_form():
    assert services.content_disposition("cv.pdf") == 'attachment; filename="cv.pdf"'
    assert services.content_disposition("Größe.png", inline=True) == (
        "inline; filename=\"Groesse.png\"; filename*=UTF-8''Gr%C3%B6%C3%9Fe.png"
    )


def test_staff_document_list_issues_a_fixed_number_of_queries(client_for, world):
    teacher = client_for(world.teacher)

    def visit():
        with count_queries() as statements:
            assert teacher.get(f"/documents/pupil/{world.pupil.id}").status_code == 200
        return len(statements)

    make_doc(world.pupil, [Audience.CLASS_TEACHER])
    few = visit()
    for i in range(6):
        make_doc(world.pupil, [Audience.CLASS_TEACHER], title=f"Doc {i}")
    assert visit() == few
