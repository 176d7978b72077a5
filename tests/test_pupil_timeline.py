"""The timeline follows the entries; list pages use a fixed number of SQL statements."""

import pytest

from portfolio import accounts, pagecache, progress
from portfolio.extensions import db
from portfolio.models import Entry, Quality, Role
from portfolio.pupil import services
from tests.support.queries import count_queries


def _states(pupil):
    mine = progress.of_pupil(pupil, own_work=True)
    return {
        (b.grade, s.key): s.state
        for b in mine.grades
        for s in b.steps
        if not s.element.every_half_year
    }


def test_timeline_states_change_when_entries_are_added(world, client_for):
    pupil = world.pupil
    states = _states(pupil)
    assert states[("8", "potenzialanalyse")] == "due"  # grade 8 is over: not documented
    assert states[("9", "praktikum")] == "due"
    assert ("EF", "sek2_standort") not in states  # Sek I pupil: no Sek II grades

    entry = Entry(
        school_id=world.school.id, pupil_id=pupil.id, kind="praktikum", grade="9", data={}
    )
    db.session.add(entry)
    db.session.add(
        Entry(
            school_id=world.school.id,
            pupil_id=pupil.id,
            kind="strengths",
            grade="8",
            data={},
            status="done",
        )
    )
    db.session.commit()
    states = _states(pupil)
    assert states[("9", "praktikum")] == "in_progress"
    # Strengths are repeated every grade: done in grade 8 says nothing about grade 9.
    assert states[("8", "strengths")] == "done" and states[("9", "strengths")] == "due"

    html = client_for(pupil).get("/portfolio/timeline").get_data(as_text=True)
    assert 'aria-current="step"' in html and "<progress" in html
    # Her own work is listed for her, apart from what the school organises.
    assert "My own work" in html and "only you see this" in html
    entry.status = "done"
    db.session.commit()
    assert _states(pupil)[("9", "praktikum")] == "done"


def test_sek2_pupils_see_their_years(world):
    ef = accounts.get_or_create_class(world.school, "EF")
    pupil, _pw = accounts.create_user(
        world.school, roles=[Role.PUPIL], first_name="E", last_name="F", password="x" * 12
    )
    accounts.put_in_class(pupil, ef)
    db.session.commit()
    grades = [b.grade for b in progress.of_pupil(pupil, own_work=True).grades]
    assert grades[-3:] == ["EF", "Q1", "Q2"]
    offered = {s.kind.value for s in services.offered_kinds("EF")}
    assert "sek2_standort" in offered and "praktikum" not in offered
    assert "praktikum" in {s.kind.value for s in services.offered_kinds("9")}


def _add_entries(world, n):
    quals = [q.key for q in db.session.query(Quality).filter_by(school_id=world.school.id)]
    # Kinds a pupil may have many of (a CV or a Potenzialanalyse exists once).
    kinds = ["strengths", "praktikum", "goal", "reflection", "external_assessment", "praxiskurs"]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        data = {"ratings": {quals[0]: 2}} if kind in ("strengths", "external_assessment") else {}
        if kind == "goal":
            data = {"goal": "G", "steps": [{"text": "s", "due_on": "2020-01-01", "done": ""}]}
        db.session.add(
            Entry(
                school_id=world.school.id,
                pupil_id=world.pupil.id,
                kind=kind,
                grade="9",
                data=data,
                share_class_teacher=bool(i % 2),
                review_state="revision" if i % 5 == 0 else "none",
            )
        )
    db.session.commit()


PAGES = [
    "/portfolio/",
    "/portfolio/timeline",
    "/portfolio/kinds",
    "/portfolio/kind/praktikum",
    "/portfolio/section/mein-weg",
    "/portfolio/section/angebote",
    "/portfolio/strengths",
    "/portfolio/assessments",
]


@pytest.mark.parametrize("path", PAGES)
def test_list_pages_use_a_fixed_number_of_queries(world, client_for, path):
    pupil = client_for(world.pupil)
    _add_entries(world, 3)
    pupil.get(path)  # warm up (login session, caches)
    pagecache.clear()  # the page's own statements: rendered, not served from memory
    with count_queries() as few:
        assert pupil.get(path).status_code == 200
    _add_entries(world, 30)
    pagecache.clear()
    with count_queries() as many:
        assert pupil.get(path).status_code == 200
    assert len(many) == len(few), path
