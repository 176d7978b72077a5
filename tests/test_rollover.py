"""The school-year rollover: classes move up, leavers leave, history kept, idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from portfolio import accounts, clock
from portfolio.admin import rollover
from portfolio.extensions import db
from portfolio.models import (
    AuditEvent,
    ClassMembership,
    Entry,
    PupilStatus,
    Role,
    SchoolClass,
    SchoolYear,
    TeacherClass,
    User,
)

JULY = dt.date(2027, 7, 1)


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


def make_school(form="Realschule", number="300001"):
    school = accounts.create_school("Schule", number, form, "Siegen")
    year = db.session.scalar(sa.select(SchoolYear).where(SchoolYear.school_id == school.id))
    year.name, year.starts_on, year.ends_on = "2026/27", dt.date(2026, 8, 1), dt.date(2027, 7, 31)
    return school, year


def pupil(school, cls, first):
    user, _pw = accounts.create_user(
        school,
        roles=[Role.PUPIL],
        first_name=first,
        last_name="X",
        date_of_birth=dt.date(2011, 1, 1),
    )
    accounts.put_in_class(user, cls)
    return user


def class_of(user, year_name):
    return db.session.scalar(
        sa.select(SchoolClass.name)
        .join(ClassMembership, ClassMembership.class_id == SchoolClass.id)
        .join(SchoolYear, SchoolYear.id == ClassMembership.school_year_id)
        .where(ClassMembership.pupil_id == user.id, SchoolYear.name == year_name)
    )


def test_classes_move_up_and_leavers_leave():
    school, year = make_school()
    c8a = accounts.get_or_create_class(school, "8a", year)
    c9b = accounts.get_or_create_class(school, "9b", year)
    c10 = accounts.get_or_create_class(school, "10c", year)
    a, b, c = pupil(school, c8a, "A"), pupil(school, c9b, "B"), pupil(school, c10, "C")
    teacher, _pw = accounts.create_user(school, roles=[Role.TEACHER], first_name="T", last_name="T")
    accounts.assign_teacher(teacher, c8a)
    db.session.add(Entry(school_id=school.id, pupil_id=c.id, kind="goal", title="Ziel"))
    db.session.commit()

    plan = rollover.plan(school, JULY)
    assert plan.not_due is None and plan.new_name == "2027/28"
    assert [(m.old.name, m.new_name) for m in plan.moves] == [
        ("10c", None),
        ("8a", "9a"),
        ("9b", "10b"),
    ]
    assert plan.moving == 2 and plan.leavers == 1
    new = rollover.run(plan)
    db.session.commit()

    assert new.is_current and not db.session.get(SchoolYear, year.id).is_current
    assert (new.starts_on, new.ends_on) == (dt.date(2027, 8, 1), dt.date(2028, 7, 31))
    assert class_of(a, "2027/28") == "9a" and class_of(a, "2026/27") == "8a"  # history kept
    assert class_of(b, "2027/28") == "10b"
    assert accounts.current_class(a).grade == "9"
    assert class_of(c, "2027/28") is None and class_of(c, "2026/27") == "10c"
    db.session.refresh(c)
    assert c.status == PupilStatus.LEFT and c.left_on == dt.date(2027, 7, 31)
    # Leaving is an account event the pupil sees in "who looked" (issue 16, 3).
    left = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "mark_left")).all()
    assert [(e.pupil_id, e.actor_id, e.details["by"]) for e in left] == [
        (c.id, None, "school_year")
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Entry)) == 1
    new_9a = accounts.current_class(a)
    assert db.session.scalar(
        sa.select(TeacherClass.id).where(
            TeacherClass.teacher_id == teacher.id, TeacherClass.class_id == new_9a.id
        )
    )
    assert db.session.scalar(
        sa.select(TeacherClass.id).where(
            TeacherClass.teacher_id == teacher.id, TeacherClass.class_id == c8a.id
        )
    )  # old kept


def test_running_twice_does_nothing_the_second_time():
    school, year = make_school()
    a = pupil(school, accounts.get_or_create_class(school, "8a", year), "A")
    db.session.commit()
    rollover.run(rollover.plan(school, JULY))
    db.session.commit()
    counts = (
        db.session.scalar(sa.select(sa.func.count()).select_from(SchoolYear)),
        db.session.scalar(sa.select(sa.func.count()).select_from(ClassMembership)),
    )
    again = rollover.plan(school, JULY)
    assert again.not_due and "2027/28" in again.not_due
    assert rollover.run(again) is None
    db.session.commit()
    assert counts == (
        db.session.scalar(sa.select(sa.func.count()).select_from(SchoolYear)),
        db.session.scalar(sa.select(sa.func.count()).select_from(ClassMembership)),
    )
    assert accounts.current_class(a).name == "9a"


def test_not_due_in_the_middle_of_the_year():
    school, _year = make_school()
    plan = rollover.plan(school, dt.date(2026, 11, 1))
    assert plan.not_due and rollover.run(plan) is None


def test_upper_school():
    school, year = make_school("Gymnasium", "300002")
    ten, ef, q1, q2 = (
        accounts.get_or_create_class(school, n, year) for n in ("10a", "EF", "Q1", "Q2")
    )
    p10, pef, pq1, pq2 = (
        pupil(school, c, n) for c, n in ((ten, "T"), (ef, "E"), (q1, "Q"), (q2, "Z"))
    )
    db.session.commit()
    rollover.run(rollover.plan(school, JULY))
    db.session.commit()
    assert [class_of(p, "2027/28") for p in (p10, pef, pq1, pq2)] == ["EF", "Q1", "Q2", None]
    assert db.session.get(User, pq2.id).status == PupilStatus.LEFT
    assert db.session.get(User, p10.id).status == PupilStatus.ACTIVE


@pytest.mark.parametrize(
    "name,grade,expected",
    [
        ("8a", "8", ("9a", "9")),
        ("9b", "9", ("10b", "10")),
        ("EF", "EF", ("Q1", "Q1")),
        ("Q1-2", "Q1", ("Q2-2", "Q2")),
        ("Q2", "Q2", (None, None)),
        ("13", "13", (None, None)),
        ("Rot", "8", ("Rot", "9")),
        ("10a", "10", (None, None)),
    ],
)
def test_next_class_names(name, grade, expected):
    assert rollover.next_class(SchoolClass(name=name, grade=grade), False) == expected


def test_cli(runner, app):
    school, year = make_school()
    pupil(school, accounts.get_or_create_class(school, "8a", year), "A")
    db.session.commit()
    dry = runner.invoke(
        args=["new-school-year", "--school", "300001", "--dry-run", "--today", "01.07.2027"]
    )
    assert dry.exit_code == 0, dry.output
    assert "8a" in dry.output and "9a" in dry.output and "Dry run" in dry.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SchoolYear)) == 1
    run = runner.invoke(args=["new-school-year", "--today", "01.07.2027"])  # all schools
    assert run.exit_code == 0 and "Done" in run.output
    again = runner.invoke(args=["new-school-year", "--today", "01.07.2027"])
    assert again.exit_code == 0 and "Nothing to do" in again.output
    unknown = runner.invoke(args=["new-school-year", "--school", "999999"])
    assert unknown.exit_code != 0 and "No school with Schulnummer 999999" in unknown.output


def test_page_is_for_the_admin_only(world, client_for):
    year = accounts.current_year(world.school)
    year.ends_on = clock.today() + dt.timedelta(days=20)
    db.session.commit()
    client = client_for(world.admin)
    page = client.get("/admin/school-year").get_data(as_text=True)
    assert "9a" in page and "10a" in page
    done = client.post("/admin/school-year", follow_redirects=True).get_data(as_text=True)
    assert "has started" in done, done
    db.session.expire_all()
    assert accounts.current_class(world.pupil).name == "10a"
    # The other school is untouched.
    assert accounts.current_class(world.other_pupil).name == "9a"
    page = client.get("/admin/school-year").get_data(as_text=True)
    assert "Start the school year" not in page
