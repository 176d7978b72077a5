"""The progress model: steps per grade and half-year, where events count, the figure."""

import datetime as dt

import pytest
import sqlalchemy as sa

from portfolio import accounts, progress
from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    ClassMembership,
    Entry,
    GuidanceRecord,
    ReviewState,
    SchoolYear,
    StandardElement,
    utcnow,
)
from tests.support.queries import count_queries


def _year(world) -> SchoolYear:
    return accounts.current_year(world.school)


def _last_year(world, grade_class: str = "8a") -> SchoolYear:
    """Last school year, with the pupil in `grade_class` (class history)."""
    current = _year(world)
    start = current.starts_on.year - 1
    year = SchoolYear(
        school_id=world.school.id,
        name=SchoolYear.name_for(start),
        starts_on=dt.date(start, 8, 1),
        ends_on=dt.date(start + 1, 7, 31),
    )
    db.session.add(year)
    db.session.flush()
    accounts.put_in_class(
        world.pupil, accounts.get_or_create_class(world.school, grade_class, year)
    )
    db.session.commit()
    return year


def _first_half(world) -> dt.date:
    return _year(world).starts_on + dt.timedelta(days=40)


def _second_half(world) -> dt.date:
    return _year(world).second_half_on + dt.timedelta(days=10)


def _steps(world, pupil=None, *, today, own_work=False):
    pupil = pupil or world.pupil
    mine = progress.of_pupil(pupil, own_work=own_work, today=today)
    return {(s.key, b.grade, s.half): s for b in mine.grades for s in b.steps}, mine


def _record(world, held_on, pupil=None):
    pupil = pupil or world.pupil
    db.session.add(
        GuidanceRecord(
            school_id=world.school.id,
            pupil_id=pupil.id,
            author_id=world.teacher.id,
            held_on=held_on,
        )
    )
    db.session.commit()


def _entry(world, kind, grade, status="in_progress", pupil=None, **kw):
    pupil = pupil or world.pupil
    db.session.add(
        Entry(
            school_id=world.school.id,
            pupil_id=pupil.id,
            kind=kind,
            grade=grade,
            data={},
            status=status,
            **kw,
        )
    )
    db.session.commit()


def test_new_school_years_split_on_the_first_of_february(world):
    year = _year(world)
    assert year.second_half_on == dt.date(year.starts_on.year + 1, 2, 1)


def test_elements_carry_their_schedule_and_who_organises_them(world):
    els = {el.key: el for el in progress.elements_for_school(world.school.id)}
    assert progress.schedule(els["potenzialanalyse"]) == [("8", 1)]
    assert progress.schedule(els["berufsfelderkundung"]) == [("8", 2)]
    assert progress.schedule(els["anschlussvereinbarung"]) == [("9", 2), ("10", None), ("Q1", None)]
    assert progress.schedule(els["beratung"])[:3] == [("8", 1), ("8", 2), ("9", 1)]
    assert not els["strengths"].school_organised and els["praktikum"].school_organised
    assert {el.key for el in progress.visible_elements(world.school.id)} == {
        key
        for key, el in els.items()
        if key not in ("strengths", "ziele", "lebenslauf", "studienorientierung")
    }


def test_a_session_in_grade_8_never_counts_in_grade_9(world):
    last = _last_year(world, "8a")
    _record(world, dt.date(last.starts_on.year, 10, 5))  # grade 8, first half-year
    steps, mine = _steps(world, today=_second_half(world))
    assert steps[("beratung", "8", 1)].state == progress.DONE
    assert steps[("beratung", "8", 2)].state == progress.DUE  # missed, nothing documented
    assert steps[("beratung", "8", 2)].is_past  # shown as "not documented"
    assert steps[("beratung", "9", 1)].state == progress.DUE
    assert steps[("beratung", "9", 2)].state == progress.DUE
    assert mine.figure.done == 0
    # The grade-8 block has its own figure; grade 9's does not borrow from it.
    grade8 = next(b for b in mine.grades if b.grade == "8")
    assert (grade8.figure.done, grade8.figure.total) == (1, 4)  # PA, BFE, 2 x Beratung


def test_an_entry_counts_in_its_own_grade_only(world):
    _entry(world, "potenzialanalyse", "9", status="done")  # documented late, in grade 9
    _entry(world, "praktikum", "8", status="done")  # an early placement, in grade 8
    steps, _mine = _steps(world, today=_first_half(world))
    assert steps[("potenzialanalyse", "8", 1)].state == progress.DUE
    assert steps[("praktikum", "9", None)].state == progress.DUE


def test_due_and_not_started_around_the_half_year_boundary(world):
    year = _year(world)
    before = year.second_half_on - dt.timedelta(days=1)
    steps, mine = _steps(world, today=before)
    assert steps[("anschlussvereinbarung", "9", 2)].state == progress.NOT_STARTED
    assert not steps[("anschlussvereinbarung", "9", 2)].counted
    assert steps[("beratung", "9", 2)].state == progress.NOT_STARTED
    assert steps[("beratung", "9", 1)].state == progress.DUE
    assert steps[("anschlussvereinbarung", "10", None)].state == progress.NOT_STARTED
    assert mine.figure.total == 2  # placement, guidance of the first half-year

    steps, mine = _steps(world, today=year.second_half_on)
    assert steps[("anschlussvereinbarung", "9", 2)].state == progress.DUE
    assert steps[("beratung", "9", 2)].state == progress.DUE
    assert mine.figure.total == 4
    assert {s.key for s in mine.flagged} == {"praktikum", "beratung", "anschlussvereinbarung"}


def test_guidance_counts_in_the_half_year_of_its_date(world):
    year = _year(world)
    _record(world, year.second_half_on - dt.timedelta(days=1))
    steps, _mine = _steps(world, today=year.second_half_on + dt.timedelta(days=1))
    assert steps[("beratung", "9", 1)].state == progress.DONE
    assert steps[("beratung", "9", 2)].state == progress.DUE
    _record(world, year.second_half_on)
    steps, mine = _steps(world, today=year.second_half_on + dt.timedelta(days=1))
    assert steps[("beratung", "9", 2)].state == progress.DONE
    assert steps[("beratung", "9", 2)].count == 1


def test_a_school_year_with_its_own_half_year_date(world):
    year = _year(world)
    year.second_half_on = dt.date(year.starts_on.year + 1, 1, 26)
    db.session.commit()
    _record(world, dt.date(year.starts_on.year + 1, 1, 27))
    steps, _mine = _steps(world, today=dt.date(year.starts_on.year + 1, 1, 28))
    assert steps[("beratung", "9", 2)].state == progress.DONE


def test_sessions_before_the_known_class_history_count_one_grade_back_a_year(world):
    start = _year(world).starts_on.year
    _record(world, dt.date(start, 3, 12))  # last school year, second half: grade 8 then
    _record(world, dt.date(start - 2, 9, 20))  # two years ago: grade 7, not on the timeline
    steps, _mine = _steps(world, today=_first_half(world))
    assert steps[("beratung", "8", 2)].state == progress.DONE
    assert steps[("beratung", "8", 1)].state == progress.DUE
    assert steps[("beratung", "9", 1)].state == progress.DUE


def test_optional_elements_never_count(world):
    _entry(world, "praxiskurs", "9", status="done")
    steps, mine = _steps(world, today=_first_half(world))
    assert steps[("praxiskurs", "9", None)].state == progress.DONE
    assert not steps[("praxiskurs", "9", None)].counted
    assert steps[("langzeitpraktikum", "9", None)].state == progress.OPTIONAL
    assert mine.figure.total == 2 and mine.figure.done == 0


def test_the_figure_counts_done_only(world):
    _entry(world, "praktikum", "9", status="done")
    _record(world, _first_half(world) - dt.timedelta(days=5))
    _entry(world, "potenzialanalyse", "8", status="in_progress")
    mine = progress.of_pupil(world.pupil, today=_first_half(world))
    figure = mine.figure
    assert (figure.done, figure.total, figure.percent) == (2, 2, 100)
    assert mine.nothing_open
    db.session.add(
        Agreement(school_id=world.school.id, pupil_id=world.pupil.id, number=1, grade="9")
    )
    db.session.commit()
    mine = progress.of_pupil(world.pupil, today=_second_half(world))
    figure = mine.figure
    # Guidance of the 2nd half is due, the agreement is a draft: in progress counts 0.
    assert (figure.done, figure.total, figure.in_progress, figure.percent) == (2, 4, 1, 50)
    assert [s.key for s in mine.flagged] == ["beratung"]


def test_agreements_count_in_their_grade_done_when_signed(world):
    _last_year(world, "8a")
    db.session.add_all(
        [
            Agreement(
                school_id=world.school.id,
                pupil_id=world.pupil.id,
                number=1,
                grade="9",
                locked_at=utcnow(),
            ),
            Agreement(school_id=world.school.id, pupil_id=world.pupil.id, number=2, grade="10"),
        ]
    )
    db.session.commit()
    steps, _mine = _steps(world, today=_second_half(world))
    assert steps[("anschlussvereinbarung", "9", 2)].state == progress.DONE
    assert steps[("anschlussvereinbarung", "10", None)].state == progress.IN_PROGRESS


def test_the_grade_9_agreement_has_the_schools_deadline(world):
    year = _year(world)
    world.school.agreement_deadline = dt.date(2000, 5, 31)
    db.session.commit()
    deadline = dt.date(year.starts_on.year + 1, 5, 31)
    steps, _mine = _steps(world, today=deadline)
    step = steps[("anschlussvereinbarung", "9", 2)]
    assert (step.due_by, step.overdue) == (deadline, False)
    steps, _mine = _steps(world, today=deadline + dt.timedelta(days=1))
    assert steps[("anschlussvereinbarung", "9", 2)].overdue
    assert progress.agreement_deadline(world.school, dt.date(2026, 11, 2)) == dt.date(2027, 5, 31)
    assert progress.agreement_deadline(world.school, dt.date(2027, 6, 2)) == dt.date(2027, 5, 31)


def test_own_work_is_for_the_pupil_only(world):
    _entry(world, "strengths", "9", status="done")
    _entry(
        world,
        "goal",
        "9",
        share_class_teacher=True,
        share_stubo=True,
        review_state=ReviewState.REQUESTED.value,
    )
    steps, staff_view = _steps(world, today=_first_half(world))
    assert not any(s.own_work for s in steps.values())
    steps, own_view = _steps(world, today=_first_half(world), own_work=True)
    assert steps[("strengths", "9", None)].state == progress.DONE
    assert steps[("ziele", "9", None)].feedback_requested
    assert not steps[("strengths", "9", None)].counted
    # Her own work never changes the figure that everybody sees.
    assert own_view.figure == staff_view.figure
    # What to do next: the first due step in the school's order.
    assert own_view.next_step().key == "praktikum"


def test_a_pupil_without_a_class_has_nothing_due(world):
    outsider, _pw = accounts.create_user(
        world.school, roles=["pupil"], first_name="O", last_name="Hne", password="x" * 12
    )
    db.session.commit()
    mine = progress.of_pupil(outsider)
    assert mine.grade is None and mine.figure == progress.Figure()
    assert all(
        s.state in (progress.NOT_STARTED, progress.OPTIONAL) for b in mine.grades for s in b.steps
    )


def test_inactive_elements_and_school_changes_are_respected(world):
    element = db.session.scalar(
        sa.select(StandardElement).where(
            StandardElement.school_id == world.school.id, StandardElement.key == "praktikum"
        )
    )
    element.active = False
    db.session.commit()
    mine = progress.of_pupil(world.pupil, today=_first_half(world))
    assert "praktikum" not in {s.key for s in mine.current.steps}
    assert mine.figure.total == 1


@pytest.mark.parametrize("events", [1, 40])
def test_two_statements_for_any_number_of_events(world, events):
    ids = [world.pupil.id, world.classmate.id, world.pupil_9b.id]
    for i in range(events):
        _entry(world, "praktikum", "9", status="in_progress" if i % 2 else "done")
        _record(world, _first_half(world) - dt.timedelta(days=i))
    progress.elements_for_school(world.school.id)  # cached for the request
    db.session.get(type(world.school), world.school.id)
    progress.forget()
    today = _first_half(world)
    with count_queries() as statements:
        result = progress.of_pupils(world.school.id, ids, today=today)
    assert len(statements) == 2
    assert result[world.pupil.id].figure.done == 2


def test_the_demo_pupils_read_the_same_figure_everywhere(app):
    """The grade-10 pupil, her mother and her class teacher see the same figure."""
    from portfolio.seed.demo import DEMO_PASSWORD, seed_demo
    from tests.support.world import login

    def client_for(user):
        client = app.test_client()
        assert login(client, user.username, DEMO_PASSWORD).status_code == 302
        return client

    seed_demo()
    elif_ = accounts.get_user("elif.yilmaz")
    mother = accounts.get_user("eltern.yilmaz")
    teacher = accounts.get_user("klassenlehrerin10a")
    for user in (elif_, mother, teacher):
        user.locale = "en"
    db.session.commit()
    mine = progress.of_pupil(elif_, own_work=True)
    figure = mine.figure
    # Guidance every half-year, placement and agreement of grade 9 done; the grade-10
    # update of her agreement waits for signatures.
    assert [(b.grade, b.figure.done, b.figure.total) for b in mine.grades if not b.is_future] == [
        ("8", 4, 4),
        ("9", 4, 4),
        ("10", figure.done, figure.total),
    ]
    text = f"Grade 10: {figure.done} of {figure.total} done"
    assert text in client_for(elif_).get("/portfolio/").get_data(as_text=True)
    assert text in client_for(mother).get("/family/").get_data(as_text=True)
    family = client_for(mother).get(f"/family/child/{elif_.id}").get_data(as_text=True)
    assert text in family
    cls = progress.current_class(elif_)
    overview = client_for(teacher).get(f"/review/classes/{cls.id}").get_data(as_text=True)
    assert f"{figure.done} of {figure.total} done ({figure.percent} %)" in overview


def _grade_10(world):
    """Paula in 10a this year, in 9a last year (the world's 9a becomes grade 10)."""
    world.class_9a.grade = "10"
    _last_year(world, "9x")
    db.session.commit()


def _agreement(world, grade, *, signed, number=1):
    db.session.add(
        Agreement(
            school_id=world.school.id,
            pupil_id=world.pupil.id,
            number=number,
            grade=grade,
            locked_at=utcnow() if signed else None,
        )
    )
    db.session.commit()


def test_a_signed_grade_9_agreement_is_updated_in_the_second_half_of_grade_10(
    world, english_locale
):
    """KAoA: made in grade 9, updated in 10 and Q1. Signed in 9: nothing due in December."""
    _grade_10(world)
    _agreement(world, "9", signed=True)
    step, mine = _steps(world, today=_first_half(world))
    update = step[("anschlussvereinbarung", "10", None)]
    assert (update.state, update.counted, update.carried) == (progress.NOT_STARTED, False, True)
    assert update.label == "signed in an earlier grade"
    assert "anschlussvereinbarung" not in {s.key for s in mine.flagged}
    assert step[("anschlussvereinbarung", "9", 2)].state == progress.DONE

    # From the update's half-year (the element's, the school's setting) it is due.
    step, mine = _steps(world, today=_second_half(world))
    update = step[("anschlussvereinbarung", "10", None)]
    assert (update.state, update.counted) == (progress.DUE, True)
    assert "anschlussvereinbarung" in {s.key for s in mine.flagged}

    # A school that updates in the first half: due at once.
    element = db.session.scalar(
        sa.select(StandardElement).where(
            StandardElement.school_id == world.school.id,
            StandardElement.key == "anschlussvereinbarung",
        )
    )
    element.half_year = 1
    db.session.commit()
    step, _mine = _steps(world, today=_first_half(world))
    assert step[("anschlussvereinbarung", "10", None)].state == progress.DUE


def test_without_a_signed_earlier_agreement_grade_10_is_due_at_once(world, english_locale):
    _grade_10(world)
    _agreement(world, "9", signed=False)  # a draft from grade 9 is not an agreement
    step, mine = _steps(world, today=_first_half(world))
    update = step[("anschlussvereinbarung", "10", None)]
    assert (update.state, update.counted, update.carried) == (progress.DUE, True, False)
    assert update.label == "to do"
    assert "anschlussvereinbarung" in {s.key for s in mine.flagged}
    # Grade 9 shows what happened there: a draft, never signed.
    assert step[("anschlussvereinbarung", "9", 2)].state == progress.IN_PROGRESS


def test_an_update_under_way_or_signed_counts_in_its_grade(world):
    _grade_10(world)
    _agreement(world, "9", signed=True)
    _agreement(world, "10", signed=False, number=2)
    step, mine = _steps(world, today=_first_half(world))
    update = step[("anschlussvereinbarung", "10", None)]
    # She is updating it already: it is in her figure, in progress, not flagged.
    assert (update.state, update.counted, update.carried) == (progress.IN_PROGRESS, True, False)
    assert "anschlussvereinbarung" not in {s.key for s in mine.flagged}
    db.session.execute(sa.update(Agreement).where(Agreement.number == 2).values(locked_at=utcnow()))
    db.session.commit()
    progress.forget()
    step, mine = _steps(world, today=_first_half(world))
    assert step[("anschlussvereinbarung", "10", None)].state == progress.DONE
    assert step[("anschlussvereinbarung", "10", None)].counted


def test_the_demo_class_10a_in_december_flags_only_pupils_without_an_agreement(app):
    """Issue 14: 24 of 25 pupils were "due" in December although 10 had signed in grade 9."""
    from portfolio.seed.demo import seed_demo

    seed_demo()
    cls = progress.current_class(accounts.get_user("elif.yilmaz"))
    year = cls.school_year
    december = dt.date(year.starts_on.year, 12, 4)
    ids = db.session.scalars(
        sa.select(ClassMembership.pupil_id).where(ClassMembership.class_id == cls.id)
    ).all()
    states = progress.of_pupils(cls.school_id, ids, current_only=True, today=december)
    signed_before = set(
        db.session.scalars(
            sa.select(Agreement.pupil_id).where(
                Agreement.pupil_id.in_(ids),
                Agreement.grade == "9",
                Agreement.locked_at.is_not(None),
            )
        )
    )
    assert len(signed_before) == 10
    flagged = {
        pid
        for pid, mine in states.items()
        if any(s.key == "anschlussvereinbarung" for s in mine.flagged)
    }
    assert flagged == set(ids) - signed_before
    # In the second half-year every pupil without an update of this year is due.
    later = dt.date(year.starts_on.year + 1, 2, 10)
    progress.forget()
    states = progress.of_pupils(cls.school_id, ids, current_only=True, today=later)
    flagged = {
        pid
        for pid, mine in states.items()
        if any(s.key == "anschlussvereinbarung" for s in mine.flagged)
    }
    assert flagged == set(ids) - {accounts.get_user("elif.yilmaz").id}  # her draft: in progress
