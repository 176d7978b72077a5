"""How an entry is shown (portfolio/display.py + templates/macros/display.html).

Each kind is presented as people read it, on the pages and in the PDF alike; empty fields
and the pupil's form hints (prompts, guiding questions, "e.g.") never become content.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask import render_template_string
from flask_babel import force_locale

from portfolio import display
from portfolio.access import access_to
from portfolio.export.render import portfolio_html
from portfolio.extensions import db
from portfolio.kinds import AGREEMENT_FIELDS, SINGLE_ENTRY_KINDS, SPECS, EntryKind, Field, Group
from portfolio.models import Agreement, Entry, Quality

TODAY = dt.date(2026, 5, 20)
MACRO = '{% import "macros/display.html" as show with context %}{{ show.render(view) }}'


# -- helpers ---------------------------------------------------------------------------------
def _filled(f: Field, n: int):
    if f.type == "date":
        return (dt.date(2026, 3, 2) + dt.timedelta(days=n)).isoformat()
    if f.type in ("choice", "yesno"):
        from portfolio.kinds import field_choices

        return field_choices(f)[0][0]
    if f.type in ("occupational_fields", "multichoice"):
        return ["it", "elektro"]
    if f.type == "ratings":
        return {"reliability": 4, "teamwork": 2}
    return f"Antwort {f.name} {n}"


def full_data(fields) -> dict:
    data = {}
    for item in fields:
        if isinstance(item, Group):
            count = max(item.min_items, 2)
            data[item.name] = [{f.name: _filled(f, i) for f in item.fields} for i in range(count)]
        else:
            data[item.name] = _filled(item, 0)
    return data


def empty_data(fields) -> dict:
    """What a form saved without any answer: every field there, nothing in it."""
    data = {}
    for item in fields:
        if isinstance(item, Group):
            data[item.name] = [{f.name: "" for f in item.fields}] * max(item.min_items, 1)
        elif item.type in ("occupational_fields", "multichoice"):
            data[item.name] = []
        elif item.type == "ratings":
            data[item.name] = {}
        else:
            data[item.name] = ""
    return data


def form_texts(spec) -> set[str]:
    """Every text of the pupil's form for this kind that must never appear as content."""
    texts = {str(spec.intro), *(str(q) for q in spec.guiding_questions)}
    labels = set()
    for item in spec.fields:
        labels.add(str(item.label))
        for f in item.fields if isinstance(item, Group) else (item,):
            labels.add(str(f.label))
            if f.prompt:
                texts.add(str(f.prompt))
    return texts - labels  # a question that is also a field's label ("Would I work there?")


HINT_WORDS = re.compile(
    r"e\.g\.|z\. ?B\.|Guiding questions|Leitfragen|not filled in|Noch nicht ausgefüllt|"
    r"nicht ausgefüllt|Questions to think about"
)


def _entry(world, kind, data, **kw) -> Entry:
    if EntryKind(kind) in SINGLE_ENTRY_KINDS:  # a second one is a numbered copy
        kw.setdefault("copy_no", _count(world, kind))
    entry = Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind=EntryKind(kind).value,
        grade="9",
        data=data,
        **kw,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _count(world, kind) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Entry)
        .where(Entry.pupil_id == world.pupil.id, Entry.kind == EntryKind(kind).value)
    )


def _qualities(world):
    return list(
        db.session.scalars(
            sa.select(Quality)
            .where(Quality.school_id == world.school.id)
            .order_by(Quality.position)
        )
    )


def render(view, locale="en") -> str:
    with force_locale(locale):
        return render_template_string(MACRO, view=view)


def all_text(view) -> str:
    """Every text of a display model, flattened."""
    out = []

    def walk(obj):
        if isinstance(obj, display.Text):
            out.append(obj.value)
        elif isinstance(obj, str):
            out.append(obj)
        elif isinstance(obj, list | tuple):
            for x in obj:
                walk(x)
        elif hasattr(obj, "__dataclass_fields__"):
            for name in obj.__dataclass_fields__:
                walk(getattr(obj, name))

    walk(view.blocks)
    return "\n".join(out)


# -- no hints, ever ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(SPECS), ids=lambda k: k.value)
@pytest.mark.parametrize("locale", ["en", "de"])
def test_no_form_text_for_any_kind_full_or_empty(app, world, kind, locale):
    spec = SPECS[kind]
    quals = _qualities(world)
    with app.test_request_context(), force_locale(locale):
        banned = form_texts(spec)
        full = display.entry_view(_entry(world, kind, full_data(spec.fields)), quals)
        empty = display.entry_view(_entry(world, kind, empty_data(spec.fields)), quals)
        for view in (full, empty):
            html = render(view, locale)
            for text in banned:
                assert text not in html, (kind, text)
            assert not HINT_WORDS.search(html), (kind, HINT_WORDS.search(html).group(0))
        assert full.blocks, kind
        # Nothing of an empty entry is shown: no label without an answer. (A CV still
        # names whose CV it is.)
        assert [b.type for b in empty.blocks] == (["person"] if kind == EntryKind.CV else [])
        html = render(empty, locale)
        for item in spec.fields:
            assert f">{item.label}<" not in html, (kind, str(item.label))


def test_agreement_shows_no_guiding_questions(app, world):
    a = Agreement(school_id=world.school.id, pupil_id=world.pupil.id, number=1, decision="dual")
    a.data = full_data(AGREEMENT_FIELDS)
    db.session.add(a)
    db.session.flush()
    with app.test_request_context():
        html = render(display.agreement_view(a))
        for f in AGREEMENT_FIELDS:
            if getattr(f, "prompt", None):
                assert str(f.prompt) not in html
        assert "Dual apprenticeship" in html and "Antwort dream_job 0" in html
        # Roles still to sign are shown as such; nobody signed yet.
        assert html.count("not signed yet") == 3


# -- each kind as people read it -------------------------------------------------------------
def test_goal_is_a_checklist_in_the_pupils_order_with_overdue_in_words(app, world):
    data = {
        "goal": "Einen Praktikumsplatz finden",
        "why": "Ich will Erfahrung sammeln.",
        "state": "open",
        "steps": [
            {"text": "Betriebe aussuchen", "due_on": "2026-05-01", "done": "yes"},
            {"text": "", "due_on": "", "done": "no"},  # an empty row of the form
            {"text": "Bewerbung schreiben", "due_on": "2026-05-10", "done": "no"},
            {"text": "Vorstellungsgespräch üben", "due_on": "2026-06-01", "done": "no"},
            {"text": "Nachfragen", "due_on": "", "done": "no"},
        ],
    }
    with app.test_request_context():
        view = display.entry_view(_entry(world, "goal", data), today=TODAY)
        [checklist] = view.find("checklist")
        assert [s.text.value for s in checklist.steps] == [
            "Betriebe aussuchen",
            "Bewerbung schreiben",
            "Vorstellungsgespräch üben",
            "Nachfragen",
        ]
        assert [s.index for s in checklist.steps] == [0, 2, 3, 4]  # the stored positions
        assert [s.done for s in checklist.steps] == [True, False, False, False]
        assert [s.overdue for s in checklist.steps] == [False, True, False, False]
        assert checklist.steps[1].when == "overdue: was due on May 10, 2026"
        assert checklist.steps[2].when == "by June 1, 2026"
        assert checklist.steps[0].when == "by May 1, 2026"  # done: never overdue
        assert checklist.steps[3].when == ""
        assert (checklist.state.label, checklist.state.value.value) == ("State", "not started")
        # The goal is the heading; it is not repeated as a field.
        assert view.title.value == "Einen Praktikumsplatz finden"
        assert "Einen Praktikumsplatz finden" not in all_text(view)
        html = render(view)
        assert "overdue: was due on May 10, 2026" in html
        assert html.index("Betriebe aussuchen") < html.index("Bewerbung schreiben")


def test_exploration_days_are_three_cards(app, world):
    day = {
        "date": "2026-03-09",
        "company": "Kita Sonnenschein",
        "field": "soziales",
        "activities": "Vorgelesen.",
        "liked": "Die Kinder.",
        "disliked": "",
        "imagine": "yes",
    }
    days = [day, {**day, "date": "2026-03-10", "company": "Bäckerei"}, {**day, "company": "IT"}]
    with app.test_request_context():
        view = display.entry_view(_entry(world, "berufsfelderkundung", {"days": days}))
        [cards] = view.find("cards")
        assert [c.title for c in cards.cards] == ["Day 1", "Day 2", "Day 3"]
        assert cards.cards[0].subtitle.value == "Monday, March 9, 2026"
        first = cards.cards[0]
        facts = {f.label: f.value.value for b in first.blocks if b.type == "facts" for f in b.items}
        assert facts["Company or provider"] == "Kita Sonnenschein"
        assert facts["Occupational field"] == "Social work and education"
        assert facts["Could I imagine working there?"] == "yes"
        labels = [b.label for b in first.blocks if b.type == "prose"]
        assert labels == ["What I did", "What I liked"]  # "What I did not like" was empty
        html = render(view)
        assert html.count('class="bwp-display__card"') == 3

        # A day left empty is no card; the others keep their number.
        days[1] = {k: "" for k in day}
        view = display.entry_view(_entry(world, "berufsfelderkundung", {"days": days}))
        assert [c.title for c in view.find("cards")[0].cards] == ["Day 1", "Day 3"]


def test_placement_log_is_a_table_and_would_i_work_there_is_answered_once(app, world):
    data = {
        "company": "Autohaus Jung",
        "start": "2026-02-02",
        "end": "2026-02-13",
        "log": [
            {"date": "2026-02-02", "activities": "Reifen gewechselt", "thoughts": "Gut"},
            {"date": "", "activities": "", "thoughts": ""},
            {"date": "2026-02-03", "activities": "Ölwechsel", "thoughts": ""},
        ],
        "would_work_there": "yes",
        "why": "Nettes Team.",
    }
    with app.test_request_context():
        view = display.entry_view(_entry(world, "praktikum", data))
        [log] = view.find("table")
        assert log.columns == ["Date", "What I did today", "How it went for me"]
        assert [[c.value if c else None for c in row] for row in log.rows] == [
            ["Feb 2, 2026", "Reifen gewechselt", "Gut"],
            ["Feb 3, 2026", "Ölwechsel", None],
        ]
        facts = {f.label: f.value.value for b in view.find("facts") for f in b.items}
        assert (
            facts["When"].replace("\u2009", " ") == "Feb 2 – 13, 2026"
        )  # one period, not "First day"/"Last day"
        assert "Company" not in facts  # the company is the entry's heading
        [answer] = [p for p in view.find("prose") if p.answer]
        assert (answer.label, answer.answer.value, answer.text.value) == (
            "Would I work there?",
            "yes",
            "Nettes Team.",
        )
        html = render(view)
        assert re.search(r'<th class="kern-table__header" scope="col">Date</th>', html)
        assert re.search(r'<th class="kern-table__cell" scope="row">Feb 2, 2026</th>', html)
        assert "Why?" not in html and "First day" not in html


def test_cv_is_dated_rows_without_empty_rows(app, world):
    data = {
        "address": "Hauptstr. 1, 57072 Siegen",
        "phone": "",
        "email": "elif@example.org",
        "education": [
            {"from": "08/2016", "to": "07/2020", "school": "GS Am Park", "qualification": ""},
            {"from": "", "to": "", "school": "", "qualification": ""},
            {"from": "08/2020", "to": "", "school": "Realschule", "qualification": "FOR"},
        ],
        "experience": [{"from": "", "to": "", "company": "", "activity": ""}],
        "languages": "Deutsch, Türkisch",
        "computer": "",
        "interests": "",
        "other": "",
    }
    with app.test_request_context():
        view = display.entry_view(_entry(world, "cv", data))
        assert [b.type for b in view.blocks] == ["person", "dated", "facts"]
        person, education, skills = view.blocks
        assert person.name.value == world.pupil.full_name
        assert [(f.label, f.value.value) for f in person.lines] == [
            ("Address", "Hauptstr. 1, 57072 Siegen"),
            ("E-mail", "elif@example.org"),
        ]
        assert [(r.period.value, r.title.value, r.detail) for r in education.rows] == [
            ("08/2016 – 07/2020", "GS Am Park", None),
            ("since 08/2020", "Realschule", display.own("FOR")),
        ]
        assert [(f.label, f.value.value) for f in skills.items] == [
            ("Languages", "Deutsch, Türkisch")
        ]
        html = render(view)
        for label in ("From", "To", "Phone", "Practical experience", "Computer skills"):
            assert f">{label}<" not in html


def test_ratings_are_a_table_with_header_cells(app, world):
    data = {"ratings": {"reliability": 4, "teamwork": 2, "unknown": 3}, "interests": ["it"]}
    with app.test_request_context():
        view = display.entry_view(_entry(world, "strengths", data), _qualities(world))
        [table] = view.find("table")
        assert table.columns == ["Quality", "Rating"]
        assert [[c.value for c in row] for row in table.rows] == [
            ["Reliability", "very well (4 of 4)"],
            ["Teamwork", "a little (2 of 4)"],
        ]
        html = render(view)
        assert '<th class="kern-table__header" scope="col">Quality</th>' in html
        assert '<th class="kern-table__cell" scope="row">Reliability</th>' in html
        [items] = view.find("list")
        assert [t.value for t in items.items] == ["IT and computers"]


def test_own_words_carry_their_direction_and_language(app, world):
    arabic = "أريد أن أصبح مهندسة"
    data = {"title": "Mein Plan", "text": arabic}
    with app.test_request_context():
        view = display.entry_view(_entry(world, "reflection", data))
        html = render(view, "tr")
        assert f'dir="rtl">{arabic}' in html  # not claimed to be German
        assert display.text_direction("123 " + arabic) == "rtl"
        assert display.text_direction("") == "ltr"
    with app.test_request_context(), force_locale("tr"):
        assert display.own("Hallo") == display.Text("Hallo", "ltr", "de")
    with app.test_request_context(), force_locale("de"):
        assert display.own("Hallo") == display.Text("Hallo", "ltr", None)
        assert display.own("   ") is None


def test_labels_follow_the_document_and_answers_their_own_language(app, world):
    """Issue 15, item 4: on an Arabic page German answers are aligned by their own
    language: the macro sets the document's direction, each answer its own."""
    with app.test_request_context(), force_locale("ar"):
        view = display.entry_view(_entry(world, "reflection", {"title": "T", "text": "Gut"}))
        html = render_template_string(
            '{% import "macros/display.html" as show with context %}'
            '{{ show.render(view, dir="rtl") }}',
            view=view,
        )
        assert '<div class="bwp-display bwp-display--reflection" dir="rtl">' in html
        assert 'dir="ltr" lang="de">Gut</p>' in html
        # A short answer's own element carries its direction: the cell is aligned by it.
        view = display.entry_view(_entry(world, "praktikum", {"company": "X", "mentor": "Frau A"}))
        html = render(view, "ar")
        assert '<dd class="bwp-display__fact-value" dir="ltr" lang="de">Frau A</dd>' in html


# -- the macro in page and PDF context ------------------------------------------------------
def _goal_with_steps(world):
    return _entry(
        world,
        "goal",
        {
            "goal": "Praktikum finden",
            "state": "in_progress",
            "steps": [
                {"text": "Liste machen", "due_on": "2020-01-10", "done": "no"},
                {"text": "Anrufen", "due_on": "2099-01-10", "done": "yes"},
            ],
        },
        share_class_teacher=True,
        share_stubo=True,
    )


def test_the_pupils_page_has_a_tick_form_per_step(world, client_for):
    goal = _goal_with_steps(world)
    db.session.commit()
    page = client_for(world.pupil).get(f"/portfolio/entry/{goal.id}").get_data(as_text=True)
    assert page.count("data-tick>") == 2
    assert f'action="/portfolio/entry/{goal.id}/steps/0"' in page
    assert f'name="version" value="{goal.version}"' in page
    assert "overdue: was due on January 10, 2020" in page
    assert "js/steps.js" in page


def test_staff_and_pdf_show_the_same_markup_without_forms(app, world, client_for):
    goal = _goal_with_steps(world)
    db.session.commit()
    page = client_for(world.teacher).get(f"/review/pupils/{world.pupil.id}")
    html = page.get_data(as_text=True)
    assert "bwp-display__checklist" in html and "overdue: was due on" in html
    assert "data-tick" not in html  # only the pupil ticks
    with app.test_request_context():
        acc = access_to(world.pupil, world.pupil)
        pdf_html, _content = portfolio_html(acc)
    assert "bwp-display__checklist" in pdf_html and "Liste machen" in pdf_html
    assert "<form" not in pdf_html
    assert f'id="entry-{goal.id}"' in pdf_html


# -- ticking a step --------------------------------------------------------------------------
def test_the_owner_ticks_a_step_and_can_open_it_again(world, client_for):
    goal = _goal_with_steps(world)
    goal.data = {**goal.data, "state": "open"}
    db.session.commit()
    c = client_for(world.pupil)
    response = c.post(
        f"/portfolio/entry/{goal.id}/steps/0", data={"version": goal.version, "done": "yes"}
    )
    assert response.status_code == 303
    assert response.location.endswith(f"/portfolio/entry/{goal.id}#step-{goal.id}-0")
    db.session.expire_all()
    stored = db.session.get(Entry, goal.id)
    assert [s["done"] for s in stored.data["steps"]] == ["yes", "yes"]
    assert stored.data["state"] == "in_progress"  # a goal with a step done is under way
    assert stored.version == 3
    assert stored.next_due_on is None  # no open step with a date left
    page = c.get(response.location).get_data(as_text=True)
    assert "Step ticked off." in page and page.count(">Reopen<") == 2

    c.post(f"/portfolio/entry/{goal.id}/steps/1", data={"version": 3, "done": "no"})
    db.session.expire_all()
    stored = db.session.get(Entry, goal.id)
    assert [s["done"] for s in stored.data["steps"]] == ["yes", "no"]
    assert stored.next_due_on == dt.date(2099, 1, 10)


def test_a_stale_version_is_a_conflict_and_changes_nothing(world, client_for):
    goal = _goal_with_steps(world)
    db.session.commit()
    before = dict(goal.data), goal.version
    response = client_for(world.pupil).post(
        f"/portfolio/entry/{goal.id}/steps/0", data={"version": goal.version - 1, "done": "yes"}
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "changed somewhere else" in html
    assert f'name="version" value="{goal.version}"' in html  # the current state to act on
    db.session.expire_all()
    stored = db.session.get(Entry, goal.id)
    assert (stored.data, stored.version) == before


@pytest.mark.parametrize("visitor", ["teacher", "classmate", "guardian", "stubo"])
def test_nobody_else_ticks_a_step(world, client_for, visitor):
    goal = _goal_with_steps(world)
    goal.share_guardians = True
    db.session.commit()
    response = client_for(getattr(world, visitor)).post(
        f"/portfolio/entry/{goal.id}/steps/0", data={"version": goal.version, "done": "yes"}
    )
    assert response.status_code in (403, 404)
    db.session.expire_all()
    assert db.session.get(Entry, goal.id).data["steps"][0]["done"] == "no"


def test_steps_that_are_not_there_are_not_found(world, client_for):
    goal = _goal_with_steps(world)
    other = _entry(world, "reflection", {"title": "x", "text": "y"})
    db.session.commit()
    c = client_for(world.pupil)
    data = {"version": goal.version, "done": "yes"}
    assert c.post(f"/portfolio/entry/{goal.id}/steps/2", data=data).status_code == 404
    data = {"version": other.version, "done": "yes"}
    assert c.post(f"/portfolio/entry/{other.id}/steps/0", data=data).status_code == 404


def test_ticking_needs_the_csrf_token(world, client_for, csrf_enabled):
    goal = _goal_with_steps(world)
    db.session.commit()
    response = client_for(world.pupil).post(
        f"/portfolio/entry/{goal.id}/steps/0", data={"version": goal.version, "done": "yes"}
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Entry, goal.id).data["steps"][0]["done"] == "no"


# -- words: German, the official terms ------------------------------------------------------
def test_overdue_is_said_in_the_readers_words(app, world):
    data = {"goal": "Ziel", "steps": [{"text": "Anrufen", "due_on": "2026-05-10", "done": "no"}]}
    with app.test_request_context(), force_locale("de"):
        view = display.entry_view(_entry(world, "goal", data), today=TODAY)
        assert view.find("checklist")[0].steps[0].when == "überfällig: war fällig am 10. Mai 2026"
        assert "überfällig" in render(view, "de")


@pytest.mark.parametrize("locale", ["tr", "ar", "ru", "uk", "pl", "en"])
def test_official_terms_beside_the_plain_wording(app, locale):
    """Issue 14, item 6: families and teachers know Selbst- and Fremdeinschätzung."""
    strengths, others = SPECS[EntryKind.STRENGTHS], SPECS[EntryKind.EXTERNAL_ASSESSMENT]
    with app.test_request_context():
        with force_locale("de"):
            assert str(strengths.label) == "Stärken und Interessen (Selbsteinschätzung)"
            assert str(others.label) == "Wie andere mich sehen (Fremdeinschätzung)"
        with force_locale(locale):
            assert str(strengths.label).endswith("(Selbsteinschätzung)")
            assert str(others.label).endswith("(Fremdeinschätzung)")
