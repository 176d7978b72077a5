"""The families' pages: own children only, only what is shared, audit, languages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from portfolio import accounts, clock, progress
from portfolio.extensions import db
from portfolio.guidance import services as guidance
from portfolio.models import (
    Agreement,
    AgreementSignature,
    AuditEvent,
    Document,
    Entry,
    Role,
)
from tests.support.queries import count_queries

HELD = clock.today() - dt.timedelta(days=5)


def _entry(world, title, *, guardians=False, teachers=False, pupil=None):
    pupil = pupil or world.pupil
    entry = Entry(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        kind="reflection",
        data={"title": title, "text": f"Text von {title}"},
        share_guardians=guardians,
        share_class_teacher=teachers,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def _document(world, title, *, guardians=False):
    n = db.session.scalar(sa.select(sa.func.count(Document.id))) or 0
    doc = Document(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        title=title,
        filename=f"{title}.pdf",
        storage_key=f"key-{n}-{title}",
        mime_type="application/pdf",
        size=10,
        sha256="0" * 64,
        share_guardians=guardians,
        category="certificate",
    )
    db.session.add(doc)
    db.session.commit()
    return doc


def _record(world, topics, *, shared):
    record = guidance.create_record(
        world.teacher,
        world.pupil,
        held_on=HELD,
        participants="",
        topics=topics,
        steps=[{"text": "Bewerbung"}],
    )
    record.share_guardians = shared
    db.session.commit()
    return record


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_home_lists_only_own_children(world, client_for):
    page = _page(client_for(world.guardian), "/family/")
    assert "Paula Pupil" in page
    assert f"/family/child/{world.pupil.id}" in page
    assert "Carl Classmate" not in page
    assert "What is KAoA?" in page and "The portfolio belongs to your child." in page


def test_login_required(client, world):
    response = client.get("/family/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_only_what_the_child_shares_with_guardians(world, client_for):
    _entry(world, "Geteilt mit Eltern", guardians=True)
    _entry(world, "Nur für Lehrer", teachers=True)
    _entry(world, "Ganz privat")
    shared_doc = _document(world, "Praktikumszeugnis", guardians=True)
    _document(world, "Privates Zeugnis")
    _record(world, "Geteiltes Beratungsgespräch", shared=True)
    _record(world, "Vertrauliches Gespräch", shared=False)
    page = _page(client_for(world.guardian), f"/family/child/{world.pupil.id}")
    assert "Geteilt mit Eltern" in page and "Text von Geteilt mit Eltern" in page
    assert "Nur für Lehrer" not in page and "Ganz privat" not in page
    assert "Praktikumszeugnis" in page and "Privates Zeugnis" not in page
    assert f"/documents/{shared_doc.id}/download" in page
    assert "Geteiltes Beratungsgespräch" in page and "Vertrauliches Gespräch" not in page


def test_viewing_a_child_is_audited(world, client_for):
    entry = _entry(world, "Geteilt", guardians=True)
    _entry(world, "Privat")
    record = _record(world, "Gespräch", shared=True)
    _page(client_for(world.guardian), f"/family/child/{world.pupil.id}")
    events = list(db.session.scalars(sa.select(AuditEvent)))
    assert len(events) == 1
    event = events[0]
    assert (event.actor_id, event.pupil_id, event.action) == (
        world.guardian.id,
        world.pupil.id,
        "view",
    )
    assert event.details["entries"] == [entry.id]
    assert event.details["guidance_records"] == [record.id]
    # The start page shows no content of the child: nothing to audit.
    _page(client_for(world.guardian), "/family/")
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 1


def _agreement(world, **kw):
    agreement = Agreement(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        number=1,
        decision="dual",
        data={"next_step": "Bewerbungen schreiben"},
        share_guardians=kw.get("share_guardians", True),
    )
    db.session.add(agreement)
    db.session.commit()
    return agreement


def test_agreement_waiting_for_the_guardians_signature(world, client_for):
    c = client_for(world.guardian)
    assert "needs your signature" not in _page(c, f"/family/child/{world.pupil.id}")
    agreement = _agreement(world)
    page = _page(c, f"/family/child/{world.pupil.id}")
    assert "The transition agreement needs your signature" in page
    assert f'href="/agreement/pupil/{world.pupil.id}"' in page
    assert "Please sign the transition agreement." in _page(c, "/family/")
    db.session.add(
        AgreementSignature(
            school_id=world.school.id,
            agreement_id=agreement.id,
            role="guardian",
            user_id=world.guardian.id,
            name="Gabi Guardian",
        )
    )
    db.session.commit()
    assert "needs your signature" not in _page(c, f"/family/child/{world.pupil.id}")


def test_agreement_not_shared_is_not_offered(world, client_for):
    _agreement(world, share_guardians=False)
    page = _page(client_for(world.guardian), f"/family/child/{world.pupil.id}")
    assert "needs your signature" not in page


def test_consents_of_young_children_wait_for_the_guardian(world, client_for):
    world.pupil.date_of_birth = clock.today() - dt.timedelta(days=365 * 12)
    db.session.commit()
    page = _page(client_for(world.guardian), f"/family/child/{world.pupil.id}")
    assert "Consents you decide on" in page
    assert "Using the digital Berufswahlpass" in page
    # Old enough: the child decides, nothing waits for the guardian.
    world.pupil.date_of_birth = clock.today() - dt.timedelta(days=365 * 16)
    db.session.commit()
    assert "Consents you decide on" not in _page(
        client_for(world.guardian), f"/family/child/{world.pupil.id}"
    )


def test_progress_shows_the_standard_elements(world, client_for):
    _record(world, "Gespräch", shared=False)  # the session happened: the school knows
    db.session.add(  # her own work: not even its state
        Entry(school_id=world.school.id, pupil_id=world.pupil.id, kind="strengths", grade="9")
    )
    db.session.commit()
    page = _page(client_for(world.guardian), f"/family/child/{world.pupil.id}")
    assert "Grade 8" in page and "Grade 9" in page
    assert "Guidance sessions" in page and "Work placement" in page
    assert "Strengths and interests" not in page
    figure = progress.of_pupil(world.pupil).figure
    bar = re.search(r'<progress id="progress-bar" max="(\d+)" value="(\d+)">', page)
    assert bar and (int(bar[1]), int(bar[2])) == (figure.total, figure.done)
    assert f"Grade 9: {figure.done} of {figure.total} done" in page


@pytest.mark.parametrize("locale", ["tr", "ar"])
def test_pages_in_the_families_languages(world, client_for, locale):
    _entry(world, "Mein Praktikum", guardians=True)
    _record(world, "Gespräch über Ausbildung", shared=True)
    world.guardian.locale = locale
    db.session.commit()
    c = client_for(world.guardian)
    for url in ("/family/", f"/family/child/{world.pupil.id}"):
        page = _page(c, url)
        html_tag = re.search(r"<html[^>]*>", page).group(0)
        assert f'lang="{locale}"' in html_tag
        assert ('dir="rtl"' in html_tag) is (locale == "ar")
    # The child's and the teacher's German text is marked as German, with its own direction
    # (left to right also on the Arabic page).
    assert re.search(r'dir="ltr" lang="de">Text von Mein Praktikum', page)
    assert re.search(r'dir="ltr" lang="de">Gespräch über Ausbildung', page)


def test_german_page_does_not_mark_german_text(world, client_for):
    _entry(world, "Mein Praktikum", guardians=True)
    world.guardian.locale = "de"
    db.session.commit()
    page = _page(client_for(world.guardian), f"/family/child/{world.pupil.id}")
    assert 'dir="ltr">Text von Mein Praktikum' in page
    assert 'lang="de">Text von' not in page


def test_child_page_uses_a_fixed_number_of_queries(world, client_for):
    c = client_for(world.guardian)
    _entry(world, "Eins", guardians=True)
    _document(world, "Doc1", guardians=True)
    _record(world, "R1", shared=True)
    url = f"/family/child/{world.pupil.id}"
    _page(c, url)  # the process reads the school's elements once
    with count_queries() as few:
        _page(c, url)
    for n in range(4):
        _entry(world, f"Mehr {n}", guardians=True)
        _document(world, f"Doc{n + 2}", guardians=True)
        _record(world, f"R{n + 2}", shared=True)
    with count_queries() as many:
        page = _page(c, url)
    assert "Mehr 3" in page and "Doc5" in page
    assert len(many) == len(few)


def test_home_uses_a_fixed_number_of_queries(world, client_for):
    c = client_for(world.guardian)
    _page(c, "/family/")  # the process reads the school's elements once
    with count_queries() as one:
        _page(c, "/family/")
    for name in ("Second", "Third"):
        child, _pw = accounts.create_user(
            world.school,
            roles=[Role.PUPIL],
            first_name=name,
            last_name="Child",
            password="x" * 12,
            must_change_password=False,
        )
        accounts.put_in_class(child, world.class_9b)
        accounts.link_guardian(world.guardian, child)
    db.session.commit()
    with count_queries() as three:
        page = _page(c, "/family/")
    assert "Third Child" in page
    assert len(three) == len(one)


def test_pdf_downloads_are_offered_when_the_export_exists(world, client_for, app):
    from flask import url_for

    page = _page(client_for(world.guardian), f"/family/child/{world.pupil.id}")
    offered = [e for e in ("export.family_summary", "export.portfolio") if e in app.view_functions]
    with app.test_request_context():
        for endpoint in offered:
            assert url_for(endpoint, pupil_id=world.pupil.id) in page
    assert ("will be available here soon" in page) is (not offered)
