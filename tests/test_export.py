"""PDF downloads over HTTP: who gets what, audit, selection, family summary. Every PDF
is made by a job (portfolio/export/jobs.py): the button starts it, the job's page shows
the progress and then the download, for the user who asked only."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from portfolio import clock
from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    AgreementSignature,
    AuditEvent,
    GuidanceRecord,
    Job,
    JobState,
    utcnow,
)
from tests.support.documents import add_document
from tests.support.files import pdf_bytes, pdf_text, png_bytes
from tests.support.jobs import fetch, follow, job_url, run_jobs
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
            held_on=clock.today(),
            topics="GUIDANCEMARK",
        )
    )
    db.session.commit()
    made["agreement"] = agreement
    return made


def test_pupil_gets_everything(world, content, client_for):
    response = fetch(client_for(world.pupil), "/export/mine/portfolio.pdf")
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
    response = fetch(client_for(viewer), f"/export/pupil/{world.pupil.id}/portfolio.pdf")
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
    response = client.post(f"/export/pupil/{world.pupil.id}/portfolio.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0


def test_selection_contains_only_chosen_parts(world, content, client_for):
    c = client_for(world.pupil)
    form = {
        "entry": [content["cv"].id, "abc", -3],
        "document": content["doc_cert"].id,
        "agreement": content["agreement"].id,
    }
    response = fetch(c, "/export/mine/selection.pdf", form)
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
    response = fetch(client_for(world.pupil), "/export/mine/selection.pdf", {"section": "mein-weg"})
    text = pdf_text(response.data)
    assert "PRIVATEMARK" in text and "GUIDANCEMARK" in text and "GOALMARK" in text
    assert "CVMARK" not in text and "AGREEDMARK" not in text and "DOCCERT" not in text


def test_empty_selection_explains(world, content, client_for):
    c = client_for(world.pupil)
    response = c.post("/export/mine/selection.pdf", data={"section": "nonsense", "entry": "x"})
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
    response = fetch(c, f"/export/pupil/{world.pupil.id}/summary.pdf")
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
    response = fetch(client_for(world.guardian), f"/export/pupil/{p.id}/summary.pdf")
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
    response = fetch(client_for(world.guardian), f"/export/pupil/{world.pupil.id}/summary.pdf")
    assert response.status_code == 200
    assert PdfReader(io.BytesIO(response.data)).trailer["/Root"]["/Lang"] == "ar"


# -- the PDF as a job: progress, then the download, only for the asker ------------------------
EN = {"Accept-Language": "en"}


def _pdf_events() -> list:
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "pdf"))
    return [(e.actor_id, e.details) for e in events]


def test_guardian_clicks_sees_progress_then_downloads(world, content, client_for):
    guardian = client_for(world.guardian)
    child = guardian.get(f"/family/child/{world.pupil.id}", headers=EN).get_data(as_text=True)
    # A button in a form (works without JavaScript), not a link that renders in the request.
    action = f"/export/pupil/{world.pupil.id}/portfolio.pdf"
    assert f'<form method="post" action="{action}"' in child
    started = guardian.post(action, headers=EN)
    url = job_url(started)
    assert guardian.post(action).headers["Location"] == started.headers["Location"]  # reused
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 1

    page = guardian.get(url, headers=EN).get_data(as_text=True)
    assert "Berufswahlpass of Paula Pupil (PDF)" in page
    assert "Waiting for its turn" in page and "/download" not in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert guardian.get(url + ".json").get_json()["state"] == "queued"
    assert guardian.get(url + "/download").status_code == 410
    # No PDF audited before the file exists.
    assert _pdf_events() == []

    assert run_jobs() == 1
    page, download = follow(guardian, started, run=False)
    assert "The file is ready." in page and "refresh" not in page
    assert f'href="/family/child/{world.pupil.id}"' in page  # "Back" to the child's page
    status = guardian.get(url + ".json").get_json()
    assert status["state"] == "done" and status["download"] == download
    response = guardian.get(download)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Berufswahlpass_Pupil_Paula.pdf" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert "Paula" in text and "FAMILYMARK" in text and "GOALMARK" in text
    assert "PRIVATEMARK" not in text and "TEACHERMARK" not in text
    listing = guardian.get("/jobs/", headers=EN).get_data(as_text=True)
    assert "Berufswahlpass of Paula Pupil (PDF)" in listing and download in listing
    assert _pdf_events() == [(world.guardian.id, {"document": "portfolio"})]

    # Only the guardian who asked: not the pupil, not the other family, not the teacher.
    for other in (world.pupil, world.other_guardian, world.teacher, world.stubo):
        c = client_for(other)
        assert c.get(url).status_code == 404, other
        assert c.get(url + ".json").status_code == 404, other
        assert c.get(download).status_code == 404, other
        assert download not in c.get("/jobs/").get_data(as_text=True)


def test_the_job_makes_the_same_pdf_as_the_renderer(world, content, client_for, app):
    from portfolio.access import access_to
    from portfolio.export import render

    for who, url in (
        (world.pupil, "/export/mine/portfolio.pdf"),
        (world.guardian, f"/export/pupil/{world.pupil.id}/portfolio.pdf"),
        (world.teacher, f"/export/pupil/{world.pupil.id}/summary.pdf"),
    ):
        made = fetch(client_for(who), url, headers={"Accept-Language": "de"}).data
        with app.test_request_context(headers={"Accept-Language": "de"}):
            acc = access_to(who, world.pupil)
            if url.endswith("summary.pdf"):
                direct = render.summary_pdf(acc)
            else:
                direct = render.portfolio_pdf(acc)
        job_pages = PdfReader(io.BytesIO(made)).pages
        direct_pages = PdfReader(io.BytesIO(direct)).pages
        assert made.startswith(b"%PDF") and len(job_pages) == len(direct_pages) > 0
        assert [p.extract_text() for p in job_pages] == [p.extract_text() for p in direct_pages]


def test_guardian_only_for_their_own_child(world, content, client_for):
    other = client_for(world.other_guardian)
    for document in ("portfolio", "summary"):
        assert other.post(f"/export/pupil/{world.pupil.id}/{document}.pdf").status_code == 404
    guardian = client_for(world.guardian)
    # The pupil's own documents (/mine/) are the pupil's alone.
    assert guardian.post("/export/mine/portfolio.pdf").status_code == 403
    assert (
        guardian.post("/export/mine/selection.pdf", data={"section": "mein-weg"}).status_code == 403
    )
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0


def test_a_job_whose_access_ended_is_hidden_and_makes_nothing(world, content, client_for):
    from portfolio.models import GuardianLink

    guardian = client_for(world.guardian)
    url = job_url(guardian.post(f"/export/pupil/{world.pupil.id}/portfolio.pdf"))
    # The family link ends before the worker gets to the job.
    db.session.execute(sa.delete(GuardianLink).where(GuardianLink.guardian_id == world.guardian.id))
    db.session.commit()
    run_jobs()
    job = db.session.get(Job, int(url.rsplit("/", 1)[1]))
    db.session.refresh(job)
    assert job.state == JobState.FAILED and job.result_key is None
    assert guardian.get(url).status_code == 404
    assert _pdf_events() == []


def test_pupil_selection_job_with_the_chosen_parts_back_to_choose(world, content, client_for):
    c = client_for(world.pupil)
    choose = c.get("/export/mine/choose").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/export/mine/selection.pdf"', choose)
    started = c.post("/export/mine/selection.pdf", data={"entry": content["cv"].id}, headers=EN)
    page, download = follow(c, started)
    assert 'href="/export/mine/choose"' in page
    text = pdf_text(c.get(download).data)
    assert "CVMARK" in text and "PRIVATEMARK" not in text
    # Another choice is another job; the same choice again while queued is the same job.
    again = c.post("/export/mine/selection.pdf", data={"section": "mein-weg"})
    assert job_url(again) != job_url(started)


def test_a_pdf_job_cut_off_by_a_database_restart_is_sent_again_at_once(
    world, content, client_for, monkeypatch
):
    """The database went away mid-job (a restart at the parents' evening): the job goes
    back to the queue with a new message at once (not after the watchdog's minutes) and
    the next run makes the PDF."""
    from portfolio.export import render
    from portfolio.jobs.queue import get_huey

    original, calls = render.portfolio_pdf, []

    def cut_off(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError(
                "SELECT 1", {}, Exception("server closed the connection unexpectedly")
            )
        return original(*args, **kwargs)

    monkeypatch.setattr(render, "portfolio_pdf", cut_off)
    guardian = client_for(world.guardian)
    started = guardian.post(f"/export/pupil/{world.pupil.id}/portfolio.pdf")
    huey = get_huey()
    huey.execute(huey.dequeue())  # one run, as one worker would
    job = db.session.get(Job, int(job_url(started).rsplit("/", 1)[1]))
    db.session.refresh(job)
    assert job.state == JobState.QUEUED and job.attempts == 1 and job.worker is None
    assert len(huey.pending()) == 1  # sent again already
    page, download = follow(guardian, started)
    assert download and len(calls) == 2
    assert "FAMILYMARK" in pdf_text(guardian.get(download).data)


def test_a_claim_while_the_database_is_down_keeps_the_message(
    world, content, client_for, monkeypatch
):
    """A worker takes a job's message while PostgreSQL restarts: the claim fails, the
    message is put back for a few seconds later (not lost until the watchdog's resend)."""
    import datetime as dt

    from portfolio.jobs import services as job_services
    from portfolio.jobs.queue import get_huey

    original, calls = job_services._claim, []

    def down_once(*args):
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError(
                "UPDATE job", {}, Exception("the database system is starting up")
            )
        return original(*args)

    monkeypatch.setattr(job_services, "_claim", down_once)
    guardian = client_for(world.guardian)
    started = guardian.post(f"/export/pupil/{world.pupil.id}/portfolio.pdf")
    huey = get_huey()
    huey.execute(huey.dequeue())
    [again] = huey.pending()  # sent again, to be run a few seconds later
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert again.args == (int(job_url(started).rsplit("/", 1)[1]),) and again.eta > now
    huey.execute(huey.dequeue(), timestamp=now + dt.timedelta(minutes=1))  # when it is due
    page, download = follow(guardian, started, run=False)
    assert download and "FAMILYMARK" in pdf_text(guardian.get(download).data)
