"""A pupil's progress through the KAoA standard elements: the one model every view reads.

The rules, in one place:

* **Steps.** An active standard element takes place in the grades of
  `StandardElement.grades`: one step per grade, or one per half-year of each grade when
  it repeats every half-year (`every_half_year`: Beratung). `half_year` says in which half
  of its *first* grade an element takes place (Potenzialanalyse 8/1, Berufsfelderkundung
  8/2, Anschlussvereinbarung 9/2); in later grades it belongs to the whole grade.
* **An event counts where it happened, never later.** An entry counts in `Entry.grade`, an
  agreement in `Agreement.grade`, a guidance record in the grade of the pupil's class in
  the school year of `held_on` (ClassMembership history; before the first school year the
  app knows, one grade less per year). The half-year of an event is its date against
  `SchoolYear.second_half_on` (NRW: 1 February). A session in grade 8 is never one of grade 9.
* **States of a step.** `done`: an entry marked finished, a signed (locked) agreement, a
  guidance session held. `in_progress`: something documented, not finished. Otherwise
  `due` once its time has come (an earlier grade, or the current grade from its
  half-year), `not_started` before that, and `optional` for an element that is not
  mandatory.
* **Updates.** The Anschlussvereinbarung is made once (grade 9, second half) and then
  kept up to date: its steps in later grades (10, Q1) are updates. A pupil who signed one
  in an earlier grade has nothing due until the update's time has come, which is the
  element's half-year (`half_year`, the school's setting: the second half of grade 10
  and of Q1 by default); the step reads "signed in an earlier grade" until then. A pupil
  who is already updating it (a draft or a signed new version in this grade) has the step
  in her figure from then on, and a pupil without a signed agreement from an earlier
  grade is due at once. So a done step always counts, and only pupils who need to act
  are flagged.
* **The figure** ("x of y done", the bar, the percent) counts the steps of the pupil's
  current grade that are mandatory, organised by the school and whose time has come (a
  step done before its half-year is shown as done, and counts once it is due). Done
  counts 1, everything else 0 (in progress does not count half); the percent is
  round(100 * x / y). `Figure` is the only place that computes it, so the pupil, the
  parents, the class teacher, the StuBO and the counsellor read the same number.
* **Visibility.** Taking part in what the school organises is the school's knowledge.
  Elements that are the pupil's own work (`school_organised` false: strengths, goals, CV,
  study orientation) appear in the pupil's own timeline only (`own_work=True`); no other
  view asks for them, not even for their state.

Queries: for any number of pupils, one statement for their class history and one for the
events (`event_counts_query`: per pupil, element, grade and half-year, how many events
and how many of them done), plus the school's elements once per request.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from portfolio import clock, idlist
from portfolio.extensions import db
from portfolio.i18n import _, _l
from portfolio.models import (
    GRADE_ORDER,
    Agreement,
    ClassMembership,
    Entry,
    EntryStatus,
    GuidanceRecord,
    ReviewState,
    School,
    SchoolClass,
    SchoolYear,
    StandardElement,
    User,
)
from portfolio.models.school import new_elements_version
from portfolio.reference import element_name

DUE = "due"
NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
DONE = "done"
OPTIONAL = "optional"
STATES = (DUE, NOT_STARTED, IN_PROGRESS, DONE, OPTIONAL)

#: How each state reads, wherever it is shown (never colour alone).
STATE_LABELS = {
    DONE: _l("done"),
    IN_PROGRESS: _l("in progress"),
    DUE: _l("to do"),
    NOT_STARTED: _l("not yet due"),
    OPTIONAL: _l("optional"),
}
#: A due step of an earlier grade: the app knows only that nothing was documented.
PAST_DUE_LABEL = _l("not documented")
#: An update step not due yet because an earlier version is signed (the agreement).
CARRIED_LABEL = _l("signed in an earlier grade")
HALF_LABELS = {1: _l("1st half-year"), 2: _l("2nd half-year")}

#: Default deadline (month, day) of the grade-9 agreement when the school has set none.
DEFAULT_AGREEMENT_DEADLINE = (5, 31)

#: The career-orientation grades shown on a timeline.
SEK1 = ("8", "9", "10")
#: Grade sequences, to count back from a known class to an earlier school year.
_SEQUENCES = (
    ("5", "6", "7", "8", "9", "10", "EF", "Q1", "Q2"),
    ("5", "6", "7", "8", "9", "10", "11", "12", "13"),
)


def current_date() -> dt.date:
    """The day progress is computed for (one place, so that tests can move it)."""
    return clock.today()


# -- figures ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Figure:
    """x of y done: the one computation behind every progress bar, text and percent."""

    done: int = 0
    total: int = 0
    in_progress: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def open(self) -> int:
        return self.total - self.done


# -- steps and their states ------------------------------------------------------------
@dataclass(slots=True)
class Step:
    """One standard element in one grade (and half-year), with the pupil's state."""

    element: StandardElement
    grade: str
    half: int | None
    state: str
    #: Whether the step is part of the figure (mandatory, school-organised, its time come).
    counted: bool
    is_past: bool = False
    #: Whether its time has come (an earlier grade, or this grade from its half-year).
    reached: bool = False
    count: int = 0
    feedback_requested: bool = False
    #: The school's deadline (grade-9 agreement), if the step has one.
    due_by: dt.date | None = None
    overdue: bool = False
    #: An update step whose earlier version is done (a signed agreement of an earlier
    #: grade): not due before the update's half-year.
    carried: bool = False

    @property
    def key(self) -> str:
        return self.element.key

    @property
    def name(self) -> str:
        return element_name(self.element)

    @property
    def half_label(self) -> str:
        return str(HALF_LABELS[self.half]) if self.half else ""

    @property
    def own_work(self) -> bool:
        return not self.element.school_organised

    @property
    def label(self) -> str:
        if self.state == DUE and self.is_past:
            return str(PAST_DUE_LABEL)
        if self.state == NOT_STARTED and self.carried:
            return str(CARRIED_LABEL)
        return str(STATE_LABELS[self.state])

    @property
    def flagged(self) -> bool:
        """A counted step whose time has come and of which nothing is documented."""
        return self.counted and self.state == DUE


@dataclass(slots=True)
class GradeProgress:
    """One grade of a pupil's timeline."""

    grade: str
    position: int  # -1 past, 0 current, 1 future
    steps: list[Step] = field(default_factory=list)

    @property
    def is_current(self) -> bool:
        return self.position == 0

    @property
    def is_past(self) -> bool:
        return self.position < 0

    @property
    def is_future(self) -> bool:
        return self.position > 0

    @property
    def figure(self) -> Figure:
        counted = [s for s in self.steps if s.counted]
        return Figure(
            done=sum(1 for s in counted if s.state == DONE),
            total=len(counted),
            in_progress=sum(1 for s in counted if s.state == IN_PROGRESS),
        )

    @property
    def relevant_steps(self) -> list[Step]:
        """The steps without optional ones the pupil did not take part in (for families)."""
        return [s for s in self.steps if s.state != OPTIONAL]

    @property
    def school_steps(self) -> list[Step]:
        return [s for s in self.steps if not s.own_work]

    @property
    def own_steps(self) -> list[Step]:
        return [s for s in self.steps if s.own_work]

    @property
    def flagged(self) -> list[Step]:
        return [s for s in self.steps if s.flagged]

    def by_element(self) -> dict[str, list[Step]]:
        """Element key -> its steps in this grade (two for every-half-year elements)."""
        cells: dict[str, list[Step]] = defaultdict(list)
        for step in self.steps:
            cells[step.key].append(step)
        return dict(cells)


@dataclass(slots=True)
class PupilProgress:
    pupil_id: int
    grade: str | None
    half: int | None
    grades: list[GradeProgress] = field(default_factory=list)

    @property
    def current(self) -> GradeProgress | None:
        return next((b for b in self.grades if b.is_current), None)

    @property
    def figure(self) -> Figure:
        """The pupil's figure: the current grade's (empty without a class)."""
        current = self.current
        return current.figure if current else Figure()

    @property
    def flagged(self) -> list[Step]:
        """Due steps of the current grade of which nothing is documented."""
        current = self.current
        return current.flagged if current else []

    @property
    def nothing_open(self) -> bool:
        return not self.flagged

    def next_step(self) -> Step | None:
        """What to do next in the current grade: the first due step, in the school's order
        (optional steps are never due, so they are never suggested)."""
        current = self.current
        if current is None:
            return None
        return next((s for s in current.steps if s.state == DUE), None)


# -- grades -------------------------------------------------------------------------------
def timeline_grades(grade: str | None) -> list[str]:
    """Grades 8-10, and the Sek II years for pupils in the upper school."""
    if grade in ("EF", "Q1", "Q2"):
        return [*SEK1, "EF", "Q1", "Q2"]
    if grade in ("11", "12", "13"):
        return [*SEK1, "11", "12", "13"]
    return list(SEK1)


def shift_grade(grade: str | None, years: int) -> str | None:
    """The grade `years` school years later (negative: earlier), or None off the scale."""
    for sequence in _SEQUENCES:
        if grade in sequence:
            i = sequence.index(grade) + years
            return sequence[i] if 0 <= i < len(sequence) else None
    return None


def _position(grade: str, current: str | None) -> int:
    if current is None:
        return 1
    mine, now = GRADE_ORDER.get(grade, 0), GRADE_ORDER.get(current, 0)
    return (mine > now) - (mine < now)


def schedule(element: StandardElement) -> list[tuple[str, int | None]]:
    """The (grade, half-year) steps of an element; half None is the whole grade."""
    grades = element.grade_list
    if element.every_half_year:
        return [(g, h) for g in grades for h in (1, 2)]
    return [(g, element.half_year if i == 0 else None) for i, g in enumerate(grades)]


def agreement_deadline(school: School, today: dt.date) -> dt.date:
    """The school's grade-9 agreement deadline (month and day) in the current school year."""
    if school.agreement_deadline is not None:
        month, day = school.agreement_deadline.month, school.agreement_deadline.day
    else:
        month, day = DEFAULT_AGREEMENT_DEADLINE
    start = today.year if today.month >= 8 else today.year - 1
    year = start if month >= 8 else start + 1
    try:
        return dt.date(year, month, day)
    except ValueError:  # 29 February in a common year
        return dt.date(year, month, 28)


# -- the school's elements ----------------------------------------------------------------
#: Per process: school id -> (the school's `elements_version`, its active elements). Every
#: change of a school's elements gives it a new version (`_new_elements_version`, on flush),
#: and every request reads the version with the logged-in user's school (auth.services), so
#: a process uses what it kept only while the database still holds it. Reference data of
#: a school, the same for all its users.
_KEPT_ELEMENTS: dict[int, tuple[str, list[StandardElement]]] = {}
#: What a write must touch to change them (an audit event of the request does not).
_ELEMENT_TABLES = ("standard_element", "school")


def elements_for_school(school_id: int) -> list[StandardElement]:
    """The school's active standard elements in order: kept per process under the school's
    elements_version (detached copies: read them, never change them; change the rows of
    a query), cached for the request while the version stays."""
    # The user's school is in the session already (no statement); another school: by key.
    school = db.session.get(School, school_id)
    version = school.elements_version if school is not None else None
    cache = g.setdefault("_elements", {})
    hit = cache.get(school_id)
    if hit is None or hit[0] != version:
        hit = cache[school_id] = (version, _school_elements(school_id, version))
    return hit[1]


def _school_elements(school_id: int, version: str | None) -> list[StandardElement]:
    from portfolio.transaction import has_writes

    if version is None or has_writes(tables=_ELEMENT_TABLES):
        # This transaction may be changing them: the session's own objects, as it sees them.
        return _read_elements(school_id)
    kept = _KEPT_ELEMENTS.get(school_id)
    if kept is not None and kept[0] == version:
        return kept[1]
    elements = [_detached_copy(el) for el in _read_elements(school_id)]
    _KEPT_ELEMENTS[school_id] = (version, elements)
    return elements


def _read_elements(school_id: int) -> list[StandardElement]:
    return list(
        db.session.scalars(
            sa.select(StandardElement)
            .where(StandardElement.school_id == school_id, StandardElement.active.is_(True))
            .order_by(StandardElement.position, StandardElement.id)
        )
    )


def _detached_copy(element: StandardElement) -> StandardElement:
    """The element's columns in an object of no session: nothing expires it, and the
    session's own object (that a caller may change) stays in the session."""
    copy = StandardElement(
        **{
            attr.key: getattr(element, attr.key)
            for attr in sa.inspect(StandardElement).column_attrs
        }
    )
    sa.orm.make_transient_to_detached(copy)
    return copy


@event.listens_for(Session, "before_flush")
def _new_elements_version(session, _context, _instances) -> None:
    """A flush that adds, changes or deletes standard elements gives their schools a new
    elements_version (in the same transaction: committed with the change or not at all)."""
    schools = {
        obj.school_id
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, StandardElement) and obj.school_id is not None
    }
    if schools:
        # On the connection, not as an ORM statement: a new version is no change of the
        # school's settings (progress_store keeps other schools' rows).
        table = School.__table__
        session.connection().execute(
            sa.update(table)
            .where(table.c.id.in_(schools))
            .values(elements_version=new_elements_version())
        )


@event.listens_for(Session, "do_orm_execute")
def _elements_changed_in_bulk(state) -> None:
    """UPDATE, DELETE or INSERT statements on standard_element (not through objects):
    every school gets a new elements_version."""
    if (state.is_update or state.is_delete or state.is_insert) and any(
        mapper.class_ is StandardElement for mapper in state.all_mappers
    ):
        state.session.connection().execute(
            sa.update(School.__table__).values(elements_version=new_elements_version())
        )


def visible_elements(school_id: int, *, own_work: bool = False) -> list[StandardElement]:
    """The elements a view may show: the school-organised ones, the own work only for
    the pupil herself."""
    return [el for el in elements_for_school(school_id) if own_work or el.school_organised]


def school_element(school_id: int, kind: str) -> StandardElement | None:
    """The standard element the school organises that an entry of this kind documents,
    if any: staff see the entry's state there (never its content). For any other kind
    (the pupil's own work) staff see nothing of the entry until it is shared."""
    return next(
        (
            el
            for el in elements_for_school(school_id)
            if el.school_organised and (el.entry_kind or el.key) == kind
        ),
        None,
    )


def elements_for_grade(
    school_id: int, grade: str | None, *, own_work: bool = False
) -> list[StandardElement]:
    return [
        el
        for el in visible_elements(school_id, own_work=own_work)
        if grade is None or grade in el.grade_list
    ]


# -- statements built once -------------------------------------------------------------------
# The statements below are large (a CASE per element and kind, a UNION of three tables).
# Building such a statement costs more Python time than the database needs to run it, so
# each is built once per shape (the school and its elements' schedule) and takes the ids
# as an expanding parameter: the same statement object, also one entry in SQLAlchemy's
# compiled cache, for every request.
_STATEMENTS: dict[tuple, sa.Executable] = {}
_MAX_STATEMENTS = 512


def _statement(key: tuple, build) -> sa.Executable:
    """The statement of `key`, built by `build()` the first time."""
    key = (idlist.dialect(), *key)
    found = _STATEMENTS.get(key)
    if found is None:
        if len(_STATEMENTS) >= _MAX_STATEMENTS:
            _STATEMENTS.clear()
        found = _STATEMENTS[key] = build()
    return found


def _signature(elements: list[StandardElement]) -> tuple:
    """What of the elements shapes the SQL: id, kind and whether it repeats."""
    return tuple((el.id, el.entry_kind or el.key, el.every_half_year) for el in elements)


def _ids_param(name: str = "pupil_ids") -> sa.BindParameter:
    return idlist.ids_param(name)


def _among(column, ids) -> sa.ColumnElement[bool]:
    """`column` in `ids`: a list, a parameter of `_ids_param` or a SELECT of ids."""
    if isinstance(ids, sa.Select):
        return column.in_(ids)
    return idlist.match(column, ids)


# -- class history ----------------------------------------------------------------------------
class Year(NamedTuple):
    start: int  # calendar year in which the school year starts
    grade: str
    second_half_on: dt.date
    is_current: bool


def class_history(pupil_ids) -> dict[int, list[Year]]:
    """Each pupil's classes, one per school year, oldest first (one statement)."""
    statement = _statement(
        ("history",),
        lambda: (
            sa.select(
                ClassMembership.pupil_id,
                SchoolYear.starts_on,
                SchoolClass.grade,
                SchoolYear.second_half_on,
                SchoolYear.is_current,
            )
            .join(SchoolClass, SchoolClass.id == ClassMembership.class_id)
            .join(SchoolYear, SchoolYear.id == ClassMembership.school_year_id)
            .where(_among(ClassMembership.pupil_id, _ids_param()))
            .order_by(ClassMembership.pupil_id, SchoolYear.starts_on)
        ),
    )
    rows = db.session.execute(statement, {"pupil_ids": list(pupil_ids)})
    history: dict[int, list[Year]] = defaultdict(list)
    for pupil_id, starts_on, grade, second_half_on, is_current in rows:
        history[pupil_id].append(Year(starts_on.year, grade, second_half_on, is_current))
    return history


def current_classes(pupil_ids) -> dict[int, SchoolClass]:
    """Each pupil's class in the current school year, in one query."""
    rows = db.session.execute(
        sa.select(ClassMembership.pupil_id, SchoolClass)
        .join(SchoolClass, SchoolClass.id == ClassMembership.class_id)
        .join(SchoolYear, SchoolYear.id == ClassMembership.school_year_id)
        .where(ClassMembership.pupil_id.in_(pupil_ids), SchoolYear.is_current.is_(True))
    )
    return {pid: cls for pid, cls in rows}


def current_class(pupil: User) -> SchoolClass | None:
    """The pupil's class in the current school year (cached for the request)."""
    cache = g.setdefault("_pupil_class", {})
    if pupil.id not in cache:
        cache[pupil.id] = current_classes([pupil.id]).get(pupil.id)
    return cache[pupil.id]


def pupil_grade(pupil: User) -> str | None:
    """The grade of the pupil's current class ("9", "EF" ...), or None."""
    cls = current_class(pupil)
    return cls.grade if cls else None


# -- events --------------------------------------------------------------------------------
class Counts(NamedTuple):
    events: int
    done: int
    feedback: int


def _day(column):
    """The calendar day of a timestamp, in SQL (`date()` in SQLite and PostgreSQL)."""
    return sa.func.date(column)


def _school_year_start(day):
    """SQL: the calendar year in which the school year of `day` starts (NRW: 1 August)."""
    return sa.extract("year", day) - sa.case((sa.extract("month", day) < 8, 1), else_=0)


def _events(school_id: int, pupil_ids) -> sa.Subquery:
    """UNION ALL of the pupils' events: pupil_id, kind, grade, day, done, feedback."""
    done = EntryStatus.DONE.value
    requested = ReviewState.REQUESTED.value
    entries = sa.select(
        Entry.pupil_id.label("pupil_id"),
        Entry.kind.label("kind"),
        Entry.grade.label("grade"),
        _day(Entry.created_at).label("day"),
        sa.case((Entry.status == done, 1), else_=0).label("done"),
        sa.case((Entry.review_state == requested, 1), else_=0).label("feedback"),
    ).where(Entry.school_id == school_id)
    agreements = sa.select(
        Agreement.pupil_id,
        sa.literal("agreement"),
        Agreement.grade,
        _day(Agreement.created_at),
        sa.case((Agreement.locked_at.is_not(None), 1), else_=0),
        sa.literal(0),
    ).where(Agreement.school_id == school_id)
    guidance = sa.select(
        GuidanceRecord.pupil_id,
        sa.literal("guidance"),
        sa.null(),
        GuidanceRecord.held_on,
        sa.literal(1),
        sa.literal(0),
    ).where(GuidanceRecord.school_id == school_id)
    entries = entries.where(_among(Entry.pupil_id, pupil_ids))
    agreements = agreements.where(_among(Agreement.pupil_id, pupil_ids))
    guidance = guidance.where(_among(GuidanceRecord.pupil_id, pupil_ids))
    return sa.union_all(entries, agreements, guidance).subquery("ev")


def _event_steps(school_id: int, events: sa.Subquery, pupils, elements) -> sa.Select:
    """One row per event with its step: pupil_id, element_id, grade, half, fallback_start,
    done, feedback (see `event_counts_query`). `pupils`: the pupil ids (a list or a
    SELECT)."""
    years = (
        sa.select(
            ClassMembership.pupil_id,
            SchoolClass.grade,
            SchoolYear.starts_on,
            SchoolYear.ends_on,
            SchoolYear.second_half_on,
        )
        .join(SchoolClass, SchoolClass.id == ClassMembership.class_id)
        .join(SchoolYear, SchoolYear.id == ClassMembership.school_year_id)
    )
    years = years.where(_among(ClassMembership.pupil_id, pupils)).subquery("py")
    grade = sa.func.coalesce(events.c.grade, years.c.grade)
    by_month = sa.case((sa.extract("month", events.c.day).between(2, 7), 2), else_=1)
    half_of_year = sa.case(
        (years.c.second_half_on.is_(None), by_month),
        (events.c.day >= years.c.second_half_on, 2),
        else_=1,
    )
    fallback_start = sa.case((grade.is_(None), _school_year_start(events.c.day)))
    kinds = [el.entry_kind or el.key for el in elements]
    if len(set(kinds)) == len(kinds):
        # Each kind belongs to one element: the element and its schedule as CASE over the
        # kind, no join (the planner misjudges a join on an expression of the kind).
        element_id = sa.case(
            dict(zip(kinds, (el.id for el in elements), strict=True)), value=events.c.kind
        )
        repeating = [k for k, el in zip(kinds, elements, strict=True) if el.every_half_year]
        half = sa.case((events.c.kind.in_(repeating), half_of_year), else_=sa.null())
        per_event = sa.select(
            events.c.pupil_id,
            element_id.label("element_id"),
            grade.label("grade"),
            half.label("half"),
            fallback_start.label("fallback_start"),
            events.c.done,
            events.c.feedback,
        ).where(events.c.kind.in_(kinds))
    else:
        # Elements sharing a kind: an event counts for each of them.
        el = sa.orm.aliased(StandardElement, name="el")
        half = sa.case((el.every_half_year.is_(False), sa.null()), else_=half_of_year)
        per_event = (
            sa.select(
                events.c.pupil_id,
                el.id.label("element_id"),
                grade.label("grade"),
                half.label("half"),
                fallback_start.label("fallback_start"),
                events.c.done,
                events.c.feedback,
            )
            .join(
                el,
                sa.and_(
                    el.school_id == school_id,
                    el.active.is_(True),
                    sa.func.coalesce(el.entry_kind, el.key) == events.c.kind,
                ),
            )
            .where(el.id.in_([e.id for e in elements]))
        )
    return per_event.select_from(events).outerjoin(
        years,
        sa.and_(
            years.c.pupil_id == events.c.pupil_id,
            events.c.day >= years.c.starts_on,
            events.c.day <= years.c.ends_on,
        ),
    )


def _selected(school_id: int, element_ids) -> list[StandardElement]:
    """The school's active elements, those of `element_ids` if given."""
    chosen = None if element_ids is None else set(element_ids)
    return [el for el in elements_for_school(school_id) if chosen is None or el.id in chosen]


def _event_counts(school_id: int, pupil_ids, elements) -> sa.Select:
    events = _events(school_id, pupil_ids)
    # One row per event with its step; grouped outside, so that GROUP BY names columns
    # (PostgreSQL does not match expressions that carry bound parameters).
    step = _event_steps(school_id, events, pupil_ids, elements).subquery("step")
    return sa.select(
        step.c.pupil_id,
        step.c.element_id,
        step.c.grade,
        step.c.half,
        step.c.fallback_start,
        sa.func.count().label("events"),
        sa.func.sum(step.c.done).label("done"),
        sa.func.sum(step.c.feedback).label("feedback"),
    ).group_by(step.c.pupil_id, step.c.element_id, step.c.grade, step.c.half, step.c.fallback_start)


def event_counts_query(school_id: int, pupil_ids, element_ids=None) -> sa.Select:
    """One statement: per pupil, element, grade and half-year, the events and how many
    of them are done (and wait for feedback).

    Columns: pupil_id, element_id, grade, half, fallback_start, events, done, feedback.
    `half` is set for elements that repeat every half-year only. `grade` is the stored
    grade of the entry or agreement, else the grade of the pupil's class in the school
    year of the event's date; when neither is known, `fallback_start` holds the start
    year of that school year (the caller counts back from a known class).
    `pupil_ids` may be a list or a SELECT of ids.
    """
    return _event_counts(school_id, pupil_ids, _selected(school_id, element_ids))


def _grade_back(history: list[Year], start: int) -> str | None:
    """The pupil's grade in the school year starting in `start`, counted from the
    nearest school year the app knows."""
    if not history:
        return None
    nearest = min(history, key=lambda y: (abs(y.start - start), -y.start))
    return shift_grade(nearest.grade, start - nearest.start)


def event_counts(
    school_id: int, pupil_ids, history: dict[int, list[Year]], element_ids=None
) -> dict[tuple[int, int, str, int | None], Counts]:
    """{(pupil_id, element_id, grade, half): Counts} for the pupils (one statement)."""
    found: dict[tuple[int, int, str, int | None], Counts] = {}
    elements = _selected(school_id, element_ids)
    statement = _statement(
        ("events", school_id, _signature(elements)),
        lambda: _event_counts(school_id, _ids_param(), elements),
    )
    rows = db.session.execute(statement, {"pupil_ids": list(pupil_ids)})
    for pupil_id, element_id, grade, half, fallback_start, n, done, feedback in rows:
        if grade is None:
            grade = _grade_back(history.get(pupil_id, []), int(fallback_start))
            if grade is None:
                continue
        key = (pupil_id, element_id, grade, int(half) if half is not None else None)
        old = found.get(key, Counts(0, 0, 0))
        found[key] = Counts(
            old.events + n, old.done + int(done or 0), old.feedback + int(feedback or 0)
        )
    return found


# -- putting it together ---------------------------------------------------------------------
def _state(counts: Counts | None, mandatory: bool, reached: bool) -> str:
    if counts is not None and counts.done:
        return DONE
    if counts is not None and counts.events:
        return IN_PROGRESS
    if not mandatory:
        return OPTIONAL
    return DUE if reached else NOT_STARTED


def _reached(position: int, half: int | None, current_half: int | None) -> bool:
    if position != 0:
        return position < 0
    return half is None or (current_half or 1) >= half


def _current(history: list[Year], today: dt.date) -> tuple[str | None, int | None]:
    year = next((y for y in history if y.is_current), None)
    if year is None:
        return None, None
    return year.grade, (2 if today >= year.second_half_on else 1)


class Planned(NamedTuple):
    """One step of the school's schedule, as plain values (read once per request)."""

    element: StandardElement
    element_id: int
    half: int | None
    counted_in: int | None  # the half-year its events count in (every-half-year only)
    mandatory: bool
    school_organised: bool
    has_deadline: bool  # the grade-9 agreement: the school's deadline applies
    #: An update (the agreement after its first grade): the grades before this one, in
    #: which a done step makes this one due only from `update_half`.
    earlier: tuple[str, ...] = ()
    update_half: int | None = None


def _earlier_grades(grade: str) -> tuple[str, ...]:
    order = GRADE_ORDER.get(grade, 0)
    return tuple(g for g, o in GRADE_ORDER.items() if o < order)


def plan(elements: list[StandardElement]) -> dict[str, list[Planned]]:
    """Grade -> the steps of that grade, in the school's order of the elements."""
    by_grade: dict[str, list[Planned]] = defaultdict(list)
    for el in elements:
        agreement = el.entry_kind == "agreement"
        for grade, half in schedule(el):
            update = agreement and grade != el.grade_list[0]
            by_grade[grade].append(
                Planned(
                    el,
                    el.id,
                    half,
                    half if el.every_half_year else None,
                    el.mandatory,
                    el.school_organised,
                    agreement and not update,
                    _earlier_grades(grade) if update else (),
                    el.half_year if update else None,
                )
            )
    return dict(by_grade)


def _carried(pupil_id: int, p: Planned, counts) -> bool:
    """Whether an update step's earlier version is done (e.g. signed in grade 9)."""
    return any(
        (found := counts.get((pupil_id, p.element_id, g, None))) is not None and found.done
        for g in p.earlier
    )


def build(
    pupil_id: int,
    planned: dict[str, list[Planned]],
    history: list[Year],
    counts: dict[tuple[int, int, str, int | None], Counts],
    today: dt.date,
    *,
    deadline: dt.date | None = None,
    current_only: bool = False,
) -> PupilProgress:
    """A pupil's progress from the loaded history and event counts (no queries).

    `deadline`: the school's agreement deadline of this school year.
    """
    grade, half = _current(history, today)
    result = PupilProgress(pupil_id, grade, half)
    if current_only:
        grades = [grade] if grade else []
    else:
        grades = timeline_grades(grade)
    for g_ in grades:
        block = GradeProgress(g_, _position(g_, grade))
        for p in planned.get(g_, ()):
            found = counts.get((pupil_id, p.element_id, g_, p.counted_in))
            # An update waits for its half-year only while nothing of it exists yet.
            carried = bool(p.earlier) and not found and _carried(pupil_id, p, counts)
            reached = _reached(block.position, p.update_half if carried else p.half, half)
            state = _state(found, p.mandatory, reached)
            due_by = deadline if p.has_deadline and block.position == 0 else None
            block.steps.append(
                Step(
                    p.element,
                    g_,
                    p.half,
                    state,
                    counted=p.mandatory and p.school_organised and reached,
                    is_past=block.position < 0,
                    reached=reached,
                    count=found.events if found else 0,
                    feedback_requested=bool(found and found.feedback),
                    due_by=due_by,
                    overdue=bool(due_by and state != DONE and today > due_by),
                    carried=carried,
                )
            )
        if block.steps:
            result.grades.append(block)
    return result


def of_pupils(
    school_id: int,
    pupil_ids: Iterable[int],
    *,
    own_work: bool = False,
    current_only: bool = False,
    today: dt.date | None = None,
) -> dict[int, PupilProgress]:
    """Progress of each pupil (two statements, cached for the request).

    `own_work=True` only for the pupil's own pages; `current_only` for lists that show
    the current grade alone.
    """
    ids = tuple(pupil_ids)
    day = today or current_date()
    cache = g.setdefault("_progress", {})
    key = (school_id, ids, own_work, current_only, day)
    if key in cache:
        return cache[key]
    elements = visible_elements(school_id, own_work=own_work)
    result: dict[int, PupilProgress] = {}
    if ids:
        history = class_history(ids)
        counts = event_counts(school_id, ids, history, [el.id for el in elements])
        school = db.session.get(School, school_id)
        planned = plan(elements)
        deadline = agreement_deadline(school, day) if school is not None else None
        for pid in ids:
            result[pid] = build(
                pid,
                planned,
                history.get(pid, []),
                counts,
                day,
                deadline=deadline,
                current_only=current_only,
            )
    cache[key] = result
    return result


def of_pupil(pupil: User, *, own_work: bool = False, today: dt.date | None = None) -> PupilProgress:
    """One pupil's progress over all grades of the timeline."""
    return of_pupils(pupil.school_id, [pupil.id], own_work=own_work, today=today)[pupil.id]


def forget() -> None:
    """Drop the request's cached progress (after a write that changes it)."""
    if has_app_context():
        g.pop("_progress", None)


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _progress_changes_with_writes(session, *args) -> None:
    forget()


# -- aggregates for staff overviews ------------------------------------------------------------
@dataclass(slots=True)
class StepTally:
    """How many pupils are how far with one step (an element in a half-year)."""

    element: StandardElement
    half: int | None
    counted: bool = False
    pupils: int = 0
    states: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    #: A transition agreement that should be signed by now (`awaits_signature`).
    awaits_signature: bool = False

    @property
    def name(self) -> str:
        return element_name(self.element)

    @property
    def half_label(self) -> str:
        return str(HALF_LABELS[self.half]) if self.half else ""

    @property
    def label(self) -> str:
        """Its name, with the half-year where it has one ("Beratung (1st half-year)")."""
        if not self.half:
            return self.name
        return _("%(step)s (%(half)s)", step=self.name, half=self.half_label)

    @property
    def done(self) -> int:
        return self.states[DONE]

    @property
    def in_progress(self) -> int:
        return self.states[IN_PROGRESS]

    @property
    def not_done(self) -> int:
        return self.pupils - self.done - self.in_progress

    @property
    def figure(self) -> Figure:
        """Pupils done of all pupils (the same `Figure` as a pupil's)."""
        return Figure(self.done, self.pupils, self.in_progress)


def tally(
    grade: str, summaries: Iterable[Summary | tuple[Summary, int]], elements
) -> list[StepTally]:
    """Per step of `grade`, how many of the pupils (their `Summary`) are in each state.

    An item may be (summary, n): n pupils with the same steps (counted in SQL)."""
    tallies = {
        (el.id, half): StepTally(el, half)
        for el in elements
        for step_grade, half in schedule(el)
        if step_grade == grade
    }
    for item in summaries:
        summary, n = item if isinstance(item, tuple) else (item, 1)
        if summary.grade != grade:
            continue
        for step in summary.steps:
            t = tallies.get((step.element_id, step.half))
            if t is None:
                continue
            t.pupils += n
            t.states[step.state] += n
            t.counted = t.counted or step.counted
    return list(tallies.values())


# -- what comes next -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NextStep:
    """One open step of the pupil's plans: what, by when, where it was agreed."""

    text: str
    due_on: dt.date | None
    source: str  # "transition agreement", "goal: ...", "guidance session"
    overdue: bool = False


def _due(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def upcoming_steps(
    *,
    agreement: tuple[dict, str] | None = None,
    goals: Iterable[tuple[dict, str]] = (),
    records: Iterable[tuple[list, str]] = (),
    today: dt.date | None = None,
) -> list[NextStep]:
    """The pupil's open steps, soonest first (overdue ones first of all, undated last).

    Each source comes as (stored data, source label). A goal's step has a done state: it
    is listed while it is open and the goal is neither reached nor dropped, and marked
    overdue once its date has passed. The steps of the newest agreement and of guidance
    sessions have no done state: they are listed from their date on (a past one is
    history, not a next step); undated only from the agreement and the newest session.
    The same text with the same date is listed once (where it was agreed first).
    """
    today = today or current_date()
    steps: list[NextStep | None] = []

    def add(item, source: str, *, tracked: bool, undated: bool) -> None:
        steps.append(_next_step(item, source, today, tracked=tracked, undated=undated))

    if agreement is not None:
        data, source = agreement
        for item in (data or {}).get("steps") or []:
            add(item, source, tracked=False, undated=True)
    for data, source in goals:
        if (data or {}).get("state") in ("reached", "dropped"):
            continue
        for item in (data or {}).get("steps") or []:
            add(item, source, tracked=True, undated=True)
    for n, (items, source) in enumerate(records):  # newest first
        for item in items or []:
            add(item, source, tracked=False, undated=n == 0)
    found: dict[tuple, NextStep] = {}
    for step in steps:  # the same step agreed in two places is listed once
        if step is not None:
            found.setdefault((" ".join(step.text.casefold().split()), step.due_on), step)
    return sorted(found.values(), key=lambda s: (s.due_on is None, s.due_on or dt.date.max))


def _next_step(item, source: str, today: dt.date, *, tracked: bool, undated: bool):
    """One stored step as a NextStep, or None when it is done, past or empty."""
    if not isinstance(item, dict) or not str(item.get("text") or "").strip():
        return None
    due_on = _due(item.get("due_on"))
    if tracked:
        if item.get("done") == "yes":
            return None
        return NextStep(item["text"], due_on, source, bool(due_on and due_on < today))
    if (due_on is None and undated) or (due_on is not None and due_on >= today):
        return NextStep(item["text"], due_on, source)
    return None


# -- the lists of the staff: per class and per pupil -----------------------------------------
# The lists of the StuBO, the class teacher and the counsellor count over hundreds of pupils.
# They read each pupil's `Summary` as portfolio/progress_store.py stores it (computed by
# `summary_of` from this model); tests/test_progress_property.py checks that they agree.


def current_half(year_second_half_on: dt.date | None, today: dt.date) -> int:
    """The half-year of `today` in a school year that splits on `year_second_half_on`."""
    return 2 if year_second_half_on is not None and today >= year_second_half_on else 1


def add_tallies(grade_tallies: Iterable[list[StepTally]]) -> list[StepTally]:
    """The tallies of several groups of the same grade, step by step, added up."""
    total: list[StepTally] = []
    for tallies in grade_tallies:
        if not total:
            total = [
                StepTally(t.element, t.half, awaits_signature=t.awaits_signature) for t in tallies
            ]
        for mine, t in zip(total, tallies, strict=True):
            mine.pupils += t.pupils
            mine.counted = mine.counted or t.counted
            for state, n in t.states.items():
                mine.states[state] += n
    return total


def awaits_signature(p: Planned, half: int) -> bool:
    """Whether a step of the current grade is a transition agreement that should be
    signed by now: its time has come, or the school's deadline applies to it."""
    return p.element.entry_kind == "agreement" and (_reached(0, p.half, half) or p.has_deadline)


class StepState(NamedTuple):
    """One step of the current grade as a list counts and shows it."""

    element_id: int
    half: int | None
    state: str
    counted: bool
    #: `Step.carried`: how the class overview's cell shows a step not started.
    carried: bool = False


@dataclass(frozen=True, slots=True)
class Summary:
    """What a list needs of a pupil to count, filter and sort, without `Step` objects: the
    figure, the keys of the due steps of the current grade (`PupilProgress.flagged`),
    whether a transition agreement of the current grade waits for its signatures, and
    the state of each step of the current grade (for the tallies per class)."""

    grade: str | None
    figure: Figure
    due: frozenset[str] = frozenset()
    unsigned_agreement: bool = False
    #: How many steps are due (an element due in both half-years counts twice).
    due_steps: int = 0
    #: Element keys of the steps of the current grade with something documented.
    documented: frozenset[str] = frozenset()
    steps: tuple[StepState, ...] = ()


def summary_of(mine: PupilProgress) -> Summary:
    """The `Summary` of a pupil's progress as `of_pupils` builds it."""
    current = mine.current
    steps = current.steps if current else []
    unsigned = any(
        s.element.entry_kind == "agreement" and s.state != DONE and (s.reached or s.due_by)
        for s in steps
    )
    return Summary(
        mine.grade,
        mine.figure,
        frozenset(s.key for s in mine.flagged),
        unsigned,
        len(mine.flagged),
        frozenset(s.key for s in steps if s.state in (DONE, IN_PROGRESS)),
        tuple(StepState(s.element.id, s.half, s.state, s.counted, s.carried) for s in steps),
    )


def cells_of(summary: Summary, elements: dict[int, StandardElement]) -> dict[str, list[Step]]:
    """Element key -> the steps of the current grade, from a stored `Summary`: what
    `GradeProgress.by_element` gives for the class overview's cells (state, half-year,
    carried, label), without the model's queries. `elements`: the school's, by id (steps
    of an element no longer there are left out). The steps carry no counts or deadlines:
    only the cells show them."""
    cells: dict[str, list[Step]] = defaultdict(list)
    for s in summary.steps:
        element = elements.get(s.element_id)
        if element is not None and summary.grade:
            cells[element.key].append(
                Step(element, summary.grade, s.half, s.state, s.counted, carried=s.carried)
            )
    return dict(cells)
