"""PDF downloads over HTTP: who gets what, audit, selection, family summary."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    AgreementSignature,
    AuditEvent,
    GuidanceRecord,
    utcnow,
)
from tests.support.documents import add_document
from tests.support.files import pdf_bytes, pdf_text, png_bytes
from tests.support.pdf_fixtures import add_entry


@pytest.fixture
def content(world):
    """Entries with markers: private, shared with teachers, with guardians, with counsellor."""
    p = world.pupil
    made = {
        "private": add_entry(p, "reflection", {"title": "PRIVATEMARK", "text": "nur fuer mich"}),
        "teachers": add_entry(
            p,
            "reflection",
            {"title": "TEACHERMARK", "text": "fuer Lehrer"},
            share=("class_teacher", "stubo"),
        ),
        "guardians": add_entry(
            p, "reflection", {"title": "FAMILYMARK", "text": "fuer Eltern"}, share=("guardians",)
        ),
        "counsellor": add_entry(
            p, "reflection", {"title": "COUNSELMARK", "text": "Beratung"}, share=("counsellor",)
        ),
        "cv": add_entry(p, "cv", {"address": "CVMARK Strasse 1"}),
        "goal": add_entry(
            p,
            "goal",
            {
                "goal": "GOALMARK",
                "state": "open",
                "steps": [{"text": "STEPMARK anrufen", "due_on": "2030-01-15", "done": "no"}],
            },
            share=("guardians",),
        ),
    }
    made["doc_private"] = add_document(
        p,
        png_bytes(60, 40),
        filename="privat.png",
        mime="image/png",
        category="other",
        title="DOCPRIVATE",
    )
    made["doc_cert"] = add_document(
        p,
        pdf_bytes(),
        filename="zeugnis.pdf",
        mime="application/pdf",
        category="certificate",
        title="DOCCERT",
        share=("class_teacher", "stubo", "guardians"),
    )
    agreement = Agreement(
        school_id=p.school_id,
        pupil_id=p.id,
        number=1,
        grade="9",
        decision="dual",
        data={
            "next_step": "AGREEDMARK bewerben",
            "steps": [{"text": "Mappe", "due_on": "2030-02-01"}],
        },
        locked_at=utcnow(),
    )
    db.session.add(agreement)
    db.session.flush()
    db.session.add(
        AgreementSignature(
            school_id=p.school_id, agreement_id=agreement.id, role="pupil", name="Paula Pupil"
        )
    )
    db.session.add(
        GuidanceRecord(
            school_id=p.school_id,
            pupil_id=p.id,
            author_id=world.teacher.id,
            held_on=utcnow().date(),
            topics="GUIDANCEMARK",
        )
    )
    db.session.commit()
    made["agreement"] = agreement
    return made


def test_pupil_gets_everything(world, content, client_for):
    response = client_for(world.pupil).get("/export/mine/portfolio.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data)
    for mark in (
        "PRIVATEMARK",
        "TEACHERMARK",
        "FAMILYMARK",
        "COUNSELMARK",
        "CVMARK",
        "AGREEDMARK",
        "GUIDANCEMARK",
        "DOCPRIVATE",
        "DOCCERT",
    ):
        assert mark in text, mark
    # The pupil's own downloads are not audited.
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0


@pytest.mark.parametrize(
    "who, visible, hidden",
    [
        (
            "guardian",
            {"FAMILYMARK", "GOALMARK", "DOCCERT", "AGREEDMARK"},
            {"PRIVATEMARK", "TEACHERMARK", "COUNSELMARK", "CVMARK", "GUIDANCEMARK", "DOCPRIVATE"},
        ),
        (
            "teacher",
            {"TEACHERMARK", "DOCCERT", "AGREEDMARK", "GUIDANCEMARK"},
            {"PRIVATEMARK", "FAMILYMARK", "COUNSELMARK", "CVMARK", "GOALMARK", "DOCPRIVATE"},
        ),
        ("stubo", {"TEACHERMARK", "GUIDANCEMARK"}, {"PRIVATEMARK", "FAMILYMARK", "COUNSELMARK"}),
        (
            # The guidance record was written by the school and not shared with them.
            "counsellor",
            {"COUNSELMARK"},
            {"PRIVATEMARK", "FAMILYMARK", "TEACHERMARK", "AGREEDMARK", "DOCCERT", "GUIDANCEMARK"},
        ),
    ],
)
def test_others_get_what_was_shared_with_them_and_are_audited(
    world, content, client_for, who, visible, hidden
):
    viewer = getattr(world, who)
    response = client_for(viewer).get(f"/export/pupil/{world.pupil.id}/portfolio.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    for mark in visible:
        assert mark in text, mark
    for mark in hidden:
        assert mark not in text, mark
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert [(e.action, e.actor_id, e.pupil_id) for e in events] == [
        ("pdf", viewer.id, world.pupil.id)
    ]
    assert events[0].details == {"document": "portfolio"}


def test_anonymous_is_sent_to_login(world, client):
    response = client.get(f"/export/pupil/{world.pupil.id}/portfolio.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_selection_contains_only_chosen_parts(world, content, client_for):
    c = client_for(world.pupil)
    query = (
        f"?entry={content['cv'].id}&document={content['doc_cert'].id}"
        f"&agreement={content['agreement'].id}&entry=abc&entry=-3"
    )
    response = c.get("/export/mine/selection.pdf" + query)
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert "CVMARK" in text and "DOCCERT" in text and "AGREEDMARK" in text
    for mark in (
        "PRIVATEMARK",
        "TEACHERMARK",
        "FAMILYMARK",
        "GUIDANCEMARK",
        "DOCPRIVATE",
        "GOALMARK",
    ):
        assert mark not in text, mark
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.attachments) == 1  # the chosen certificate PDF


def test_selection_of_a_whole_section(world, content, client_for):
    response = client_for(world.pupil).get("/export/mine/selection.pdf?section=mein-weg")
    text = pdf_text(response.data)
    assert "PRIVATEMARK" in text and "GUIDANCEMARK" in text and "GOALMARK" in text
    assert "CVMARK" not in text and "AGREEDMARK" not in text and "DOCCERT" not in text


def test_empty_selection_explains(world, content, client_for):
    c = client_for(world.pupil)
    response = c.get("/export/mine/selection.pdf?section=nonsense&entry=x")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/export/mine/choose"
    )
    page = c.get("/export/mine/choose")
    assert "Please choose at least one section" in page.get_data(as_text=True)


def test_choose_page_and_application_preset(world, content, client_for):
    c = client_for(world.pupil)
    page = c.get("/export/mine/choose").get_data(as_text=True)
    assert f'name="entry" type="checkbox" value="{content["cv"].id}"' in page
    assert 'value="{}" checked'.format(content["cv"].id) not in page
    preset = c.get("/export/mine/choose?preset=application").get_data(as_text=True)
    assert 'value="{}" checked'.format(content["cv"].id) in preset
    assert 'value="{}" checked'.format(content["doc_cert"].id) in preset
    assert 'value="{}" checked'.format(content["private"].id) not in preset
    assert "style=" not in preset and "<script>" not in preset


def test_family_summary_is_one_page_in_the_viewers_language(world, content, client_for):
    c = client_for(world.guardian)
    response = c.get(f"/export/pupil/{world.pupil.id}/summary.pdf")
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    text = pdf_text(response.data)
    assert "AGREEDMARK" in text  # what was agreed
    assert "STEPMARK" in text  # the shared goal's open step
    assert "Paula Pupil" in text  # signature
    assert "TEACHERMARK" not in text
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert [(e.actor_id, e.details["document"]) for e in events] == [(world.guardian.id, "summary")]


def test_family_summary_stays_one_page_with_long_texts(world, client_for):
    p = world.pupil
    for i in range(15):
        add_entry(
            p,
            "goal",
            {
                "goal": "Z" * 300,
                "state": "open",
                "steps": [{"text": "Langer Schritt " * 80, "due_on": f"2030-01-{i + 1:02d}"}] * 3,
            },
            share=("guardians",),
        )
    agreement = Agreement(
        school_id=p.school_id,
        pupil_id=p.id,
        number=1,
        data={"next_step": "Wort" * 3000, "dream_job": "x" * 500},
    )
    db.session.add(agreement)
    db.session.commit()
    response = client_for(world.guardian).get(f"/export/pupil/{p.id}/summary.pdf")
    assert len(PdfReader(io.BytesIO(response.data)).pages) == 1


def test_summary_in_arabic_is_right_to_left(world, content, client_for):
    world.guardian.locale = "ar"
    db.session.commit()
    from flask_babel import force_locale

    from portfolio.access import access_to
    from portfolio.export.render import summary_html

    with force_locale("ar"):
        html = summary_html(access_to(world.guardian, world.pupil))
    assert '<html lang="ar" dir="rtl">' in html
    response = client_for(world.guardian).get(f"/export/pupil/{world.pupil.id}/summary.pdf")
    assert response.status_code == 200
    assert PdfReader(io.BytesIO(response.data)).trailer["/Root"]["/Lang"] == "ar"
