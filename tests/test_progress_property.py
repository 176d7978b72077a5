"""Every view gives the same progress figure for the same pupil (property test).

Hypothesis generates portfolios: entries of every kind in various grades and states,
guidance sessions on dates across school years and half-years, agreements, a class
history with gaps, and the day of the school year. For each, the pupil's own pages,
the family's pages, the class overview, the staff pupil page, the caseload, the StuBO
dashboard's CSV, the coordination report, the family summary and the full portfolio
(their HTML, as rendered into the PDF) must show the figure that portfolio/progress.py
computes: the same done, total and percent, the bar and its text alike.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio import access, accounts, progress, progress_store
from portfolio.export import render
from portfolio.extensions import db
from portfolio.models import (
    SINGLE_ENTRY_KINDS,
    Agreement,
    ClassMembership,
    Entry,
    GuidanceRecord,
    SchoolClass,
    SchoolYear,
    User,
)
from portfolio.review import dashboard, report

KINDS = [
    "potenzialanalyse",
    "berufsfelderkundung",
    "praktikum",
    "praxiskurs",
    "langzeitpraktikum",
    "strengths",
    "goal",
    "cv",
    "reflection",
]

entries = st.lists(
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(KINDS),
            "grade": st.sampled_from(["7", "8", "9", "10", None]),
            "done": st.booleans(),
            "days_ago": st.integers(0, 900),
        }
    ),
    max_size=6,
)
portfolios = st.fixed_dictionaries(
    {
        "entries": entries,
        "guidance": st.lists(st.integers(0, 1100), max_size=4),  # days before "today"
        "agreements": st.lists(
            st.fixed_dictionaries(
                {"grade": st.sampled_from(["8", "9", "10"]), "locked": st.booleans()}
            ),
            max_size=2,
        ),
        # Whether the class of one and of two school years ago is known.
        "history": st.tuples(st.booleans(), st.booleans()),
    }
)
scenarios = st.fixed_dictionaries(
    {
        "grade": st.sampled_from(["8", "9", "10"]),
        "day": st.integers(0, 364),  # day of the current school year
        "pupils": st.tuples(portfolios, portfolios),  # Paula and Carl, both in 9a
    }
)

DONE_TEXT = re.compile(r"(\d+) of (\d+) done")


def _parse(text: str) -> tuple[int, int]:
    """(done, total) from "x of y done", or (0, 0) from "nothing due yet"."""
    match = DONE_TEXT.search(text)
    if match:
        return int(match[1]), int(match[2])
    assert "nothing due yet" in text, text
    return 0, 0


def _labelled_bar(html: str, bar_id: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """A figure_bar: the text of its label and its <progress> (value, max)."""
    label = re.search(rf'<label class="kern-label[^"]*" for="{bar_id}">([^<]*)</label>', html)
    bar = re.search(rf'<progress id="{bar_id}" max="(\d+)" value="(\d+)">', html)
    assert label and bar, bar_id
    return _parse(label[1]), (int(bar[2]), int(bar[1]))


def _table_bar(html: str, name: str) -> tuple[tuple[int, int], tuple[int, int], str]:
    """A figure_stat in a table: its text, its <progress> (value, max) and the row."""
    match = re.search(
        rf'<progress max="(\d+)" value="(\d+)" aria-label="Progress of {name}">[^<]*</progress>'
        r'\s*<span class="kern-body kern-body--small">([^<]*)</span>',
        html,
    )
    assert match, name
    return _parse(match[3]), (int(match[2]), int(match[1])), match[3]


def _expect(figure: progress.Figure):
    """What a bar shows for a figure: its text and its <progress> value and max."""
    return (figure.done, figure.total), (figure.done, figure.total or 1)


def _reset(world) -> None:
    """Remove what the previous example made (the users and this year's classes stay)."""
    school_id = world.school.id
    for model in (Entry, Agreement, GuidanceRecord):
        db.session.execute(sa.delete(model).where(model.school_id == school_id))
    old_years = sa.select(SchoolYear.id).where(
        SchoolYear.school_id == school_id, SchoolYear.is_current.is_(False)
    )
    db.session.execute(
        sa.delete(ClassMembership).where(ClassMembership.school_year_id.in_(old_years))
    )
    db.session.execute(sa.delete(SchoolClass).where(SchoolClass.school_year_id.in_(old_years)))
    db.session.execute(
        sa.delete(SchoolYear).where(
            SchoolYear.school_id == school_id, SchoolYear.is_current.is_(False)
        )
    )
    db.session.commit()


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(11), tzinfo=dt.UTC)


def _build(world, pupil: User, data: dict, grade: str, today: dt.date) -> None:
    current = accounts.current_year(world.school)
    for years_back, known in enumerate(data["history"], start=1):
        old_grade = progress.shift_grade(grade, -years_back)
        if not known or old_grade is None:
            continue
        start = current.starts_on.year - years_back
        year = db.session.scalar(
            sa.select(SchoolYear).where(
                SchoolYear.school_id == world.school.id,
                SchoolYear.name == SchoolYear.name_for(start),
            )
        )
        if year is None:
            year = SchoolYear(
                school_id=world.school.id,
                name=SchoolYear.name_for(start),
                starts_on=dt.date(start, 8, 1),
                ends_on=dt.date(start + 1, 7, 31),
            )
            db.session.add(year)
            db.session.flush()
        cls = accounts.get_or_create_class(world.school, f"{old_grade}x", year, grade=old_grade)
        accounts.put_in_class(pupil, cls)
    copies: Counter[str] = Counter()
    for item in data["entries"]:
        when = _at(today - dt.timedelta(days=item["days_ago"]))
        db.session.add(
            Entry(
                school_id=world.school.id,
                pupil_id=pupil.id,
                kind=item["kind"],
                grade=item["grade"],
                data={},
                status="done" if item["done"] else "in_progress",
                created_at=when,
                updated_at=when,
                # A second CV, Potenzialanalyse ...: a copy kept from before the rule of one.
                copy_no=copies[item["kind"]] if item["kind"] in SINGLE_ENTRY_KINDS else 0,
            )
        )
        copies[item["kind"]] += 1
    for days in data["guidance"]:
        db.session.add(
            GuidanceRecord(
                school_id=world.school.id,
                pupil_id=pupil.id,
                author_id=world.teacher.id,
                held_on=today - dt.timedelta(days=days),
            )
        )
    for number, item in enumerate(data["agreements"], start=1):
        db.session.add(
            Agreement(
                school_id=world.school.id,
                pupil_id=pupil.id,
                number=number,
                grade=item["grade"],
                locked_at=_at(today) if item["locked"] else None,
                created_at=_at(today),
            )
        )


@pytest.fixture
def clients(world, client_for):
    for user in db.session.scalars(sa.select(User)):
        user.locale = "en"
    db.session.commit()
    return {
        "paula": client_for(world.pupil),
        "carl": client_for(world.classmate),
        "guardian": client_for(world.guardian),
        "carl_guardian": client_for(world.other_guardian),
        "teacher": client_for(world.teacher),
        "stubo": client_for(world.stubo),
        "counsellor": client_for(world.counsellor),
    }


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


@settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios)
def test_every_view_shows_the_same_figure(app, world, clients, monkeypatch, scenario):
    _reset(world)
    grade = scenario["grade"]
    year = accounts.current_year(world.school)
    today = year.starts_on + dt.timedelta(days=scenario["day"])
    monkeypatch.setattr(progress, "current_date", lambda: today)
    world.class_9a.grade = grade
    pupils = [world.pupil, world.classmate]
    for pupil, data in zip(pupils, scenario["pupils"], strict=True):
        _build(world, pupil, data, grade, today)
    db.session.commit()
    with app.test_request_context():  # names and labels are translated
        _check_views(world, clients, grade, year, pupils)


def _check_views(world, clients, grade, year, pupils) -> None:
    figures = {p.id: progress.of_pupil(p).figure for p in pupils}
    for p in pupils:
        # Her own work is listed for her, but never changes the figure.
        assert progress.of_pupil(p, own_work=True).figure == figures[p.id]
    paula, carl = (figures[p.id] for p in pupils)

    # The aggregates counted in SQL equal the per-pupil figures: one row per pupil ...
    every = progress.of_pupils(world.school.id, [p.id for p in pupils], current_only=True)
    summaries = progress_store.summaries(world.school.id, [p.id for p in pupils])
    for p in pupils:
        assert summaries[p.id] == progress.summary_of(every[p.id])
        assert summaries[p.id].figure == figures[p.id]
        assert summaries[p.id].due == {s.key for s in every[p.id].flagged}
        # The class overview's cells, drawn from the stored row, look as the model's steps.
        by_id = {el.id: el for el in progress.elements_for_school(world.school.id)}
        current = every[p.id].current
        model_cells = current.by_element() if current else {}
        assert {
            key: [(s.state, s.half, s.carried, s.is_past, s.label) for s in steps]
            for key, steps in progress.cells_of(summaries[p.id], by_id).items()
        } == {
            key: [(s.state, s.half, s.carried, s.is_past, s.label) for s in steps]
            for key, steps in model_cells.items()
        }
    # ... and per class and step, GROUP BY in the database.
    elements = progress.elements_for_grade(world.school.id, grade)
    tallies = progress_store.class_tallies(world.school.id, [world.class_9a])[world.class_9a.id]
    expected = progress.tally(grade, map(progress.summary_of, every.values()), elements)
    assert [(t.element.id, t.half, t.pupils, t.counted, t.states) for t in tallies] == [
        (t.element.id, t.half, t.pupils, t.counted, t.states) for t in expected
    ]

    # The pupil's own pages.
    for pupil, key in ((world.pupil, "paula"), (world.classmate, "carl")):
        expected = _expect(figures[pupil.id])
        assert _labelled_bar(_get(clients[key], "/portfolio/"), "grade-progress") == expected
        timeline = _get(clients[key], "/portfolio/timeline")
        assert _labelled_bar(timeline, f"progress-{grade}") == expected

    # The family's pages.
    for client, pupil in (
        (clients["guardian"], world.pupil),
        (clients["carl_guardian"], world.classmate),
    ):
        home = _get(client, "/family/")
        assert _labelled_bar(home, f"progress-{pupil.id}") == _expect(figures[pupil.id])
        child = _get(client, f"/family/child/{pupil.id}")
        assert _labelled_bar(child, "progress-bar") == _expect(figures[pupil.id])

    # The class teacher: class overview and the pupil pages.
    overview = _get(clients["teacher"], f"/review/classes/{world.class_9a.id}")
    for pupil in pupils:
        text, bar, shown = _table_bar(overview, pupil.full_name)
        assert (text, bar) == _expect(figures[pupil.id])
        figure = figures[pupil.id]
        if figure.total:
            assert f"({figure.percent} %)" in shown
        row = overview[overview.index(f">{pupil.sort_name}<") :]
        row = row[: row.index("</tr>")]
        flagged = progress.of_pupil(pupil).flagged
        if flagged:
            assert "nothing open" not in row
            for step in flagged:
                assert f"{step.name}" in row
        page = _get(clients["teacher"], f"/review/pupils/{pupil.id}")
        assert _table_bar(page, pupil.full_name)[:2] == _expect(figure)

    # The counsellor's caseload (Paula gave consent).
    caseload = _get(clients["counsellor"], "/review/caseload")
    assert _table_bar(caseload, world.pupil.full_name)[:2] == _expect(paula)

    # The StuBO's overview as CSV: the counted steps of class 9a add up to the figures.
    text = _get(clients["stubo"], "/review/school.csv").lstrip("\ufeff")
    rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=";")][1:]
    counted = [r for r in rows if r[0] == grade and r[1] == "9a" and r[7] != ""]
    assert sum(int(r[4]) for r in counted) == paula.done + carl.done
    # A step is counted where it is due for at least one of them (an agreement update is
    # not due yet for a pupil who signed one in an earlier grade).
    due_steps = {
        (s.element.id, s.half)
        for p in pupils
        for s in progress.of_pupil(p).current.steps
        if s.counted
    }
    assert len(counted) == len(due_steps) >= max(paula.total, carl.total)
    for r in counted:
        assert int(r[7]) == round(100 * int(r[4]) / int(r[3]))

    # The coordination report counts the same as the school overview, grade by grade.
    blocks = dashboard.school_dashboard(world.school)
    block = next(b for b in blocks if b.grade == grade)
    in_grade = [
        pid
        for pid, cls in db.session.execute(
            sa.select(ClassMembership.pupil_id, SchoolClass)
            .join(SchoolClass, SchoolClass.id == ClassMembership.class_id)
            .where(SchoolClass.school_year_id == year.id, SchoolClass.grade == grade)
        )
    ]
    every = progress.of_pupils(world.school.id, in_grade)
    participation = next(
        (g.steps for g in report.participation(world.school) if g.grade == grade), []
    )
    assert [s.done.value for s in participation] == [t.done for t in block.total.stats if t.counted]
    assert sum(s.done.value for s in participation) == sum(every[p].figure.done for p in in_grade)

    # The family summary and the full portfolio, as rendered into the PDF.
    for viewer in (world.guardian, world.pupil, world.teacher):
        acc = access.access_to(viewer, world.pupil)
        summary = render.summary_html(acc)
        found = re.search(rf"<strong>Grade {grade}: ([^<]*)</strong>", summary)
        assert found and _parse(found[1]) == (paula.done, paula.total)
        html, _content = render.portfolio_html(acc)
        found = re.search(
            rf'<th scope="rowgroup" rowspan="\d+">{grade}<br><span class="meta">([^<]*)</span>',
            html,
        )
        assert found and _parse(found[1]) == (paula.done, paula.total)
