"""The school-year rollover: next SchoolYear, classes move up, leavers leave.

Rules (see ../shared/domain.md):
* The next school year starts the day after the current one ends and becomes current;
  the old year, its classes and memberships stay untouched (history).
* Each class moves up a grade (models.NEXT_GRADE), renamed by replacing the grade
  prefix: 8a -> 9a, EF -> Q1, Q1-2 -> Q2-2. At a school with an upper school (Gymnasium,
  Gesamtschule, or EF/Q1/Q2 classes this year) grade 10 moves to "EF" (one class: the
  upper school works in courses); elsewhere grade 10 leaves.
* Pupils of leaving classes (10 without upper school, Q2, 13) get status "left" with
  left_on = the last day of the old year. Portfolios are never touched.
* Teachers' class links are copied to the moved classes: the class teacher usually
  stays with the class; the StuBO adjusts where that is not so.
* Running it again does nothing: a rollover is due only from ROLLOVER_WEEKS before the
  current year ends, and the year after the new one is not due until next summer.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from portfolio import accounts, clock
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import (
    NEXT_GRADE,
    ClassMembership,
    PupilStatus,
    School,
    SchoolClass,
    SchoolYear,
    TeacherClass,
    User,
)
from portfolio.privacy import audit

ROLLOVER_WEEKS = 10
SEK2_FORMS = frozenset({"Gymnasium", "Gesamtschule"})


@dataclass
class ClassMove:
    old: SchoolClass
    new_name: str | None  # None: the class leaves school
    new_grade: str | None
    pupils: int = 0
    teachers: int = 0


@dataclass
class RolloverPlan:
    school: School
    old_year: SchoolYear
    new_name: str
    starts_on: dt.date
    ends_on: dt.date
    moves: list[ClassMove] = field(default_factory=list)
    #: Why nothing is to be done, or None when the rollover is due.
    not_due: str | None = None

    @property
    def leavers(self) -> int:
        return sum(m.pupils for m in self.moves if m.new_name is None)

    @property
    def moving(self) -> int:
        return sum(m.pupils for m in self.moves if m.new_name is not None)


def has_upper_school(school: School, classes: list[SchoolClass]) -> bool:
    return school.school_form in SEK2_FORMS or any(c.grade in ("EF", "Q1", "Q2") for c in classes)


def next_class(cls: SchoolClass, upper_school: bool) -> tuple[str | None, str | None]:
    """(new name, new grade) of a class after the rollover; (None, None) when it leaves."""
    if cls.grade == "10" and upper_school:
        return "EF", "EF"
    grade = NEXT_GRADE.get(cls.grade)
    if grade is None:
        return None, None
    name = cls.name
    if name.upper().startswith(cls.grade.upper()):
        name = grade + name[len(cls.grade) :]
    elif name.startswith("0" + cls.grade):  # "08a"
        name = grade.zfill(2) + name[len(cls.grade) + 1 :]
    return name, grade


def _start_year(year: SchoolYear) -> int:
    """2026 for "2026/27" (the name is what people see), else the year it starts."""
    match = re.match(r"(\d{4})/", year.name)
    return int(match.group(1)) if match else year.starts_on.year


def plan(school: School, today: dt.date | None = None) -> RolloverPlan:
    """What the rollover would do (fixed number of queries)."""
    today = today or clock.today()
    old = accounts.current_year(school, today)
    starts_on = old.ends_on + dt.timedelta(days=1)
    ends_on = dt.date(starts_on.year + 1, starts_on.month, starts_on.day) - dt.timedelta(days=1)
    result = RolloverPlan(
        school=school,
        old_year=old,
        new_name=SchoolYear.name_for(_start_year(old) + 1),
        starts_on=starts_on,
        ends_on=ends_on,
    )
    due_from = old.ends_on - dt.timedelta(weeks=ROLLOVER_WEEKS)
    if today < due_from:
        result.not_due = _(
            "The school year %(year)s is current. The change to %(next)s is possible from "
            "%(date)s.",
            year=old.name,
            next=result.new_name,
            date=due_from.strftime("%d.%m.%Y"),
        )
    classes = list(
        db.session.scalars(
            sa.select(SchoolClass)
            .where(SchoolClass.school_year_id == old.id)
            .order_by(SchoolClass.name)
        )
    )
    pupils = dict(
        db.session.execute(
            sa.select(ClassMembership.class_id, sa.func.count())
            .join(User, User.id == ClassMembership.pupil_id)
            .where(
                ClassMembership.school_year_id == old.id, User.status == PupilStatus.ACTIVE.value
            )
            .group_by(ClassMembership.class_id)
        ).all()
    )
    teachers = dict(
        db.session.execute(
            sa.select(TeacherClass.class_id, sa.func.count())
            .join(SchoolClass, SchoolClass.id == TeacherClass.class_id)
            .where(SchoolClass.school_year_id == old.id)
            .group_by(TeacherClass.class_id)
        ).all()
    )
    upper = has_upper_school(school, classes)
    for cls in classes:
        name, grade = next_class(cls, upper)
        result.moves.append(
            ClassMove(cls, name, grade, pupils.get(cls.id, 0), teachers.get(cls.id, 0))
        )
    return result


def run(rollover: RolloverPlan, actor: User | None = None) -> SchoolYear | None:
    """Carry out a due plan (flushed, not committed); None when it was not due.

    Each leaver gets the account event "mark_left" (actor None: the `flask` command).
    """
    if rollover.not_due:
        return None
    school, old = rollover.school, rollover.old_year
    new = db.session.scalar(
        sa.select(SchoolYear).where(
            SchoolYear.school_id == school.id, SchoolYear.name == rollover.new_name
        )
    )
    if new is None:
        new = SchoolYear(
            school_id=school.id,
            name=rollover.new_name,
            starts_on=rollover.starts_on,
            ends_on=rollover.ends_on,
        )
        db.session.add(new)
    if new is old:
        return None
    old.is_current = False
    db.session.flush()
    new.is_current = True
    old_ids = [m.old.id for m in rollover.moves]
    memberships = (
        list(
            db.session.execute(
                sa.select(ClassMembership.class_id, User)
                .join(User, User.id == ClassMembership.pupil_id)
                .where(
                    ClassMembership.class_id.in_(old_ids), User.status == PupilStatus.ACTIVE.value
                )
            ).all()
        )
        if old_ids
        else []
    )
    links = (
        list(
            db.session.execute(
                sa.select(TeacherClass.class_id, TeacherClass.teacher_id).where(
                    TeacherClass.class_id.in_(old_ids)
                )
            ).all()
        )
        if old_ids
        else []
    )
    already = set(
        db.session.scalars(
            sa.select(ClassMembership.pupil_id).where(ClassMembership.school_year_id == new.id)
        )
    )
    target: dict[int, SchoolClass] = {}
    for move in rollover.moves:
        if move.new_name is not None:
            target[move.old.id] = accounts.get_or_create_class(
                school, move.new_name, new, grade=move.new_grade
            )
    for class_id, pupil in memberships:
        if pupil.id in already:
            continue
        if class_id in target:
            db.session.add(
                ClassMembership(
                    school_id=school.id,
                    pupil_id=pupil.id,
                    class_id=target[class_id].id,
                    school_year_id=new.id,
                )
            )
            already.add(pupil.id)
        else:
            pupil.status = PupilStatus.LEFT.value
            pupil.left_on = old.ends_on
            audit.account_event(
                actor,
                pupil,
                "mark_left",
                details={"left_on": old.ends_on.isoformat(), "by": "school_year"},
            )
    linked = set()
    for class_id, teacher_id in links:
        cls = target.get(class_id)
        if cls is not None and (teacher_id, cls.id) not in linked:
            linked.add((teacher_id, cls.id))
            if not db.session.scalar(
                sa.select(TeacherClass.id).where(
                    TeacherClass.teacher_id == teacher_id, TeacherClass.class_id == cls.id
                )
            ):
                db.session.add(
                    TeacherClass(school_id=school.id, teacher_id=teacher_id, class_id=cls.id)
                )
    db.session.flush()
    return new
