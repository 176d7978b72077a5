"""The staff lists' progress: each pupil's `progress.Summary`, stored and kept true.

The StuBO's overview of a school of 1,500 pupils, the coordination report, the class
overview and the caseload count over every pupil. Rebuilding the model (portfolio/progress.py)
for each of them on every page view costs about 0.1 ms per pupil and step in Python, so
the lists read one stored row per pupil instead (`ProgressSummary`): the pupil's
`Summary` exactly as `progress.summary_of` computed it, valid for one day.

Keeping the rows true:

* **Writes invalidate, in the writer's transaction.** A flush that adds, changes or
  deletes what the model reads (entries, agreements, guidance records, class
  memberships: the pupil's row; the school's standard elements, school years, classes,
  settings: every row of the school) raises the row's `version` and clears its `day`,
  in the same transaction as the write (`_invalidate_on_flush`). Bulk UPDATE and
  DELETE statements on those tables clear every row (`_invalidate_on_bulk`).
* **Readers store only what is still true.** A reader reads the rows (and their
  versions) first, computes the missing or outdated ones with `progress.of_pupils`,
  and stores each only where the version is still the one it read (an UPDATE ... WHERE
  version = read), or inserts a row only where none exists yet (ON CONFLICT DO
  NOTHING; a writer creates the row when it invalidates one that did not exist). So a
  reader that computed from data a concurrent writer has changed since cannot store
  its figure over the writer's invalidation: it is always computed again.
* **One day.** The figures depend on the date (half-years, the agreement deadline): a
  row holds for its `day` only. `flask progress-refresh` (and the workers at night)
  computes the rows for the new day before the staff arrive (`refresh_task`).

tests/test_progress_property.py checks that the stored figures agree with the model after
random writes; tests/test_progress_store.py checks the invalidation and the races.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Iterable

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portfolio import idlist, progress, transaction
from portfolio.extensions import db
from portfolio.jobs import queue
from portfolio.models import (
    Agreement,
    ClassMembership,
    Entry,
    GuidanceRecord,
    ProgressSummary,
    PupilStatus,
    School,
    SchoolClass,
    SchoolYear,
    StandardElement,
    User,
)
from portfolio.progress import Figure, StepState, StepTally, Summary

log = logging.getLogger(__name__)

_TABLE = ProgressSummary.__table__
_C = _TABLE.c

# -- what invalidates ------------------------------------------------------------------------
#: Per model whose rows the progress model reads for a pupil: the attributes it reads
#: (a change of any other attribute, a shared flag or the text, changes no figure).
_PUPIL_ATTRS: dict[type, frozenset[str] | None] = {
    Entry: frozenset(
        {"pupil_id", "school_id", "kind", "grade", "created_at", "status", "review_state"}
    ),
    Agreement: frozenset({"pupil_id", "school_id", "grade", "created_at", "locked_at"}),
    GuidanceRecord: frozenset({"pupil_id", "school_id", "held_on"}),
    ClassMembership: None,  # any change
}
#: Per model of the school's settings the model reads: the attributes (None: any).
_SCHOOL_ATTRS: dict[type, frozenset[str] | None] = {
    StandardElement: None,
    SchoolYear: None,
    SchoolClass: frozenset({"grade", "school_year_id", "school_id"}),
    School: None,
}
_PUPIL_TABLES = frozenset(m.__table__.name for m in _PUPIL_ATTRS)
_WATCHED_TABLES = _PUPIL_TABLES | {m.__table__.name for m in _SCHOOL_ATTRS}
#: Columns a bulk UPDATE may set without changing any figure.
_HARMLESS_BULK = frozenset(
    {
        "share_class_teacher",
        "share_stubo",
        "share_counsellor",
        "share_guardians",
        "asked_class_teacher",
        "asked_stubo",
        "asked_counsellor",
    }
)


def _changed(obj, attrs: frozenset[str] | None) -> bool:
    if attrs is None:
        return True
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in attrs)


def _values_of(obj, name: str) -> set[int]:
    """The attribute's value now and before the flush (a record moved to another pupil
    or school), read without loading anything."""
    state = sa.inspect(obj)
    found = {state.dict.get(name), *state.attrs[name].history.deleted}
    return {v for v in found if v is not None}


@event.listens_for(Session, "after_flush")
def _invalidate_on_flush(session: Session, _context) -> None:
    forget()
    pupils: set[int] = set()
    schools: set[int] = set()
    gone = {obj.id for obj in session.deleted if type(obj) is User}
    for obj in itertools.chain(session.new, session.deleted, session.dirty):
        kind = type(obj)
        if kind in _PUPIL_ATTRS:
            if obj in session.dirty and not _changed(obj, _PUPIL_ATTRS[kind]):
                continue
            pupils |= _values_of(obj, "pupil_id")
        elif kind in _SCHOOL_ATTRS:
            if obj in session.dirty and not _changed(obj, _SCHOOL_ATTRS[kind]):
                continue
            schools |= _values_of(obj, "id" if kind is School else "school_id")
    pupils -= gone
    if not pupils and not schools and not gone:
        return
    conn = session.connection()
    if gone:  # (SQLite does not cascade: the row must not outlive its pupil)
        conn.execute(sa.delete(_TABLE).where(_C.pupil_id.in_(sorted(gone))))
    if pupils:
        conn.execute(_bump_pupils(conn.dialect.name, sorted(pupils)))
    if schools:
        conn.execute(_bump_schools(sorted(schools)))


def _insert(dialect: str):
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _bump_pupils(dialect: str, pupil_ids: list[int]):
    """INSERT a row for each existing pupil, or raise its version and clear its day."""
    statement = _insert(dialect)(_TABLE).from_select(
        ["pupil_id", "version"],
        sa.select(User.id, sa.literal(1)).where(idlist.match(User.id, pupil_ids)),
    )
    return statement.on_conflict_do_update(
        index_elements=[_C.pupil_id], set_={"version": _C.version + 1, "day": None}
    )


@event.listens_for(Session, "do_orm_execute")
def _invalidate_on_bulk(state) -> None:
    """Bulk INSERT, UPDATE or DELETE statements on what the model reads: the rows of the
    pupils (or schools) an INSERT names, every row for the rest."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name not in _WATCHED_TABLES:
        return
    if state.is_update:
        values = getattr(state.statement, "_values", None) or {}
        names = {getattr(k, "key", k) for k in values}
        if names and names <= _HARMLESS_BULK:
            return
    forget()
    conn = state.session.connection()
    rows = state.parameters
    rows = [rows] if isinstance(rows, dict) else list(rows or [])
    key = "pupil_id" if name in _PUPIL_TABLES else "school_id"
    if state.is_insert and rows and all(row.get(key) for row in rows):
        ids = sorted({row[key] for row in rows})
        if key == "pupil_id":
            conn.execute(_bump_pupils(conn.dialect.name, ids))
        else:
            conn.execute(_bump_schools(ids))
        return
    conn.execute(
        sa.update(_TABLE).where(_C.day.is_not(None)).values(version=_C.version + 1, day=None)
    )


def _bump_schools(school_ids: list[int]):
    return (
        sa.update(_TABLE)
        .where(_C.school_id.in_(school_ids))
        .values(version=_C.version + 1, day=None)
    )


def forget() -> None:
    """Drop the request's summaries read so far (after a write)."""
    if has_app_context():
        g.pop("_summaries", None)


# -- reading, and storing what was computed -------------------------------------------------
_READ: dict[str, sa.Select] = {}  # per dialect: the rows of a list of pupils
_STORE = (
    sa.update(_TABLE)
    .where(_C.pupil_id == sa.bindparam("b_pupil"), _C.version == sa.bindparam("b_version"))
    .values(
        {
            name: sa.bindparam(name)
            for name in (
                "school_id",
                "day",
                "grade",
                "done",
                "total",
                "in_progress",
                "due_steps",
                "unsigned_agreement",
                "due",
                "documented",
                "steps",
            )
        }
    )
)
#: How long a reader waits for a row a writer holds before it gives up storing (PostgreSQL).
LOCK_TIMEOUT_MS = 200
_STEPS: dict[str, tuple[StepState, ...]] = {}  # parsed steps texts (few distinct ones)


def _steps_text(steps: Iterable[StepState]) -> str:
    return " ".join(
        f"{s.element_id}:{s.half or 0}:{s.state}:{int(s.counted)}:{int(s.carried)}" for s in steps
    )


def _parse_steps(text: str) -> tuple[StepState, ...]:
    found = _STEPS.get(text)
    if found is None:
        if len(_STEPS) > 4096:
            _STEPS.clear()
        # (Rows stored before `carried` have four fields: migration d3a7c1e9f5b2 made
        # them all outdated, so only the class tallies of an older process could read one.)
        found = _STEPS[text] = tuple(
            StepState(int(el), int(half) or None, state, counted == "1", carried == "1")
            for el, half, state, counted, carried, *_more in (
                (token + ":0").split(":") for token in text.split()
            )
        )
    return found


_SUMMARIES: dict[tuple, Summary] = {}  # many pupils have the same figures and steps


def _summary(row) -> Summary:
    key = tuple(row[3:])  # after pupil_id, school_id, version: day, grade ... steps
    found = _SUMMARIES.get(key)
    if found is None:
        if len(_SUMMARIES) > 4096:
            _SUMMARIES.clear()
        found = _SUMMARIES[key] = _build_summary(row)
    return found


def _build_summary(row) -> Summary:
    return Summary(
        row.grade,
        Figure(row.done, row.total, row.in_progress),
        frozenset(row.due.split()),
        row.unsigned_agreement,
        row.due_steps,
        frozenset(row.documented.split()),
        _parse_steps(row.steps),
    )


def _values(school_id: int, day: dt.date, s: Summary) -> dict:
    return {
        "school_id": school_id,
        "day": day,
        "grade": s.grade,
        "done": s.figure.done,
        "total": s.figure.total,
        "in_progress": s.figure.in_progress,
        "due_steps": s.due_steps,
        "unsigned_agreement": s.unsigned_agreement,
        "due": " ".join(sorted(s.due)),
        "documented": " ".join(sorted(s.documented)),
        "steps": _steps_text(s.steps),
    }


def _store(school_id: int, day: dt.date, computed: dict[int, Summary], read: dict[int, int]):
    """Store the computed summaries where nobody invalidated them since they were read
        (`read`: pupil -> the version read; a pupil without a row gets one only if no writer
        has made one meanwhile). A failure to store (a lock, a deadlock) loses nothing but
        time: the next reader computes again. A reader never waits long for a writer: a row
    another transaction holds (a long import, a job) is not stored this time."""
    update = [
        {"b_pupil": pid, "b_version": read[pid], **_values(school_id, day, s)}
        for pid, s in sorted(computed.items())
        if pid in read
    ]
    insert = [
        {"pupil_id": pid, "version": 0, **_values(school_id, day, s)}
        for pid, s in sorted(computed.items())
        if pid not in read
    ]
    dialect = db.session.get_bind().dialect.name
    try:
        with db.session.begin_nested():
            # (Settings through the connection: not statements of unknown tables, which
            # `transaction.has_writes` would take for writes to anything.)
            if dialect == "postgresql":  # a writer holding a row: do not wait for it
                db.session.connection().exec_driver_sql(
                    f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'"
                )
            if update:
                db.session.execute(_STORE, update)
            if insert:
                db.session.execute(
                    _insert(dialect)(_TABLE).on_conflict_do_nothing(index_elements=["pupil_id"]),
                    insert,
                )
            if dialect == "postgresql":
                db.session.connection().exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
    except sa.exc.DBAPIError as error:  # a lock, a deadlock: computed again next time
        log.warning("progress summaries not stored: %s", error.orig)


def stored(school_id: int, pupil_ids: Iterable[int], today: dt.date | None = None):
    """{pupil_id: Summary} of the pupils of `school_id` (a pupil without a class of this
    school year has grade None): the stored rows of `today`, the others computed by the
    model and stored. Two statements when every row is stored; a few more for the rest."""
    day = today or progress.current_date()
    ids = list(dict.fromkeys(pupil_ids))
    cache = g.setdefault("_summaries", {}).setdefault((school_id, day), {})
    wanted = [pid for pid in ids if pid not in cache]
    if wanted:
        read: dict[int, int] = {}
        dialect = idlist.dialect()
        if dialect not in _READ:
            _READ[dialect] = sa.select(_TABLE).where(
                idlist.match(_C.pupil_id, idlist.ids_param("ids"))
            )
        for row in db.session.execute(_READ[dialect], {"ids": wanted}):
            if row.day == day and row.school_id == school_id:
                cache[row.pupil_id] = _summary(row)
            else:
                read[row.pupil_id] = row.version
        missing = [pid for pid in wanted if pid not in cache]
        if missing:
            states = progress.of_pupils(school_id, missing, current_only=True, today=day)
            computed = {pid: progress.summary_of(states[pid]) for pid in missing}
            _store(school_id, day, computed, read)
            cache.update(computed)
    return {pid: cache[pid] for pid in ids}


def summaries(
    school_id: int, pupil_ids: Iterable[int], today: dt.date | None = None
) -> dict[int, Summary]:
    """The `Summary` of each pupil in a class of this school year (`stored`)."""
    return {pid: s for pid, s in stored(school_id, pupil_ids, today).items() if s.grade}


def patterns(
    school_id: int, pupil_ids: Iterable[int], today: dt.date | None = None
) -> list[tuple[Summary, int]]:
    """The `summaries` of the pupils counted per pattern, for lists that count without
    rows per pupil: (a Summary with the grade, the due steps and the documented elements
    alone, how many pupils have it). Counted in SQL over the rows stored for `today`
    (GROUP BY: a few dozen patterns for any number of pupils); the pupils whose row is
    missing or old are computed and stored first (`stored`), each counted once.
    Two statements when every row is stored."""
    day = today or progress.current_date()
    ids = list(dict.fromkeys(pupil_ids))
    if not ids:
        return []
    matching = idlist.match(_C.pupil_id, ids)
    found = db.session.execute(
        sa.select(_C.grade, _C.due, _C.due_steps, _C.documented, sa.func.count())
        .where(matching, _fresh(school_id, day))
        .group_by(_C.grade, _C.due, _C.due_steps, _C.documented)
    ).all()
    result = [
        (
            Summary(
                grade, Figure(), frozenset(due.split()), False, due_steps, frozenset(docs.split())
            ),
            n,
        )
        for grade, due, due_steps, docs, n in found
    ]
    if sum(n for *_row, n in found) < len(ids):  # some rows are missing or of another day
        fresh = set(
            db.session.scalars(sa.select(_C.pupil_id).where(matching, _fresh(school_id, day)))
        )
        stale = [pid for pid in ids if pid not in fresh]
        result += [(summary, 1) for summary in stored(school_id, stale, day).values()]
    return [(summary, n) for summary, n in result if summary.grade]


def fresh_rows(school_id, day=None) -> sa.Subquery:
    """The stored rows of `day` of the pupils of `school_id`, as a subquery to join (lists
    that sort and filter in SQL; `patterns` or `stored` first, so that the rows exist). A
    pupil without such a row has no summary of the day: callers check for it. School and
    day may be bound parameters (a statement built once: review/actions.py)."""
    if day is None:
        day = progress.current_date()
    return sa.select(_TABLE).where(_fresh(school_id, day)).subquery("summary")


# -- per class -------------------------------------------------------------------------------
def _current_school_year(school_id: int) -> SchoolYear | None:
    cache = g.setdefault("_current_year", {})
    if school_id not in cache:
        cache[school_id] = db.session.scalar(
            sa.select(SchoolYear).where(
                SchoolYear.school_id == school_id, SchoolYear.is_current.is_(True)
            )
        )
    return cache[school_id]


def _members(class_ids: list[int]) -> sa.Select:
    """class_id, pupil_id of the active pupils in the classes (this school year)."""
    return (
        sa.select(ClassMembership.class_id, ClassMembership.pupil_id)
        .join(SchoolYear, SchoolYear.id == ClassMembership.school_year_id)
        .join(User, User.id == ClassMembership.pupil_id)
        .where(
            ClassMembership.class_id.in_(class_ids),
            SchoolYear.is_current.is_(True),
            User.status == PupilStatus.ACTIVE.value,
        )
    )


def _fresh(school_id: int, day: dt.date):
    return sa.and_(_C.day == day, _C.school_id == school_id)


def class_tallies(
    school_id: int, classes: Iterable[SchoolClass], today: dt.date | None = None
) -> dict[int, list[StepTally]]:
    """Per class of this school year, per step of its grade, how many of its active
    pupils are in each state: `progress.tally` over the pupils' stored summaries, counted
    in SQL (GROUP BY class and the steps' states: a school of 1,500 pupils gives a few
    hundred rows), after the rows that are not stored for `today` have been computed.
    Two statements when every row is stored, for any number of pupils."""
    day = today or progress.current_date()
    classes = list(classes)
    if not classes:
        return {}
    class_ids = [c.id for c in classes]
    members = _members(class_ids).subquery("m")
    # 1. The pupils whose row is missing or not of today: computed and stored now.
    rows = db.session.execute(
        sa.select(members.c.class_id, members.c.pupil_id, _C.version)
        .select_from(members)
        .outerjoin(_TABLE, _C.pupil_id == members.c.pupil_id)
        .where(
            sa.or_(_C.pupil_id.is_(None), sa.not_(sa.func.coalesce(_fresh(school_id, day), False)))
        )
    ).all()
    computed: dict[int, list[Summary]] = {cid: [] for cid in class_ids}
    if rows:
        found = stored(school_id, [pid for _cid, pid, _v in rows], day)
        for class_id, pupil_id, _version in rows:
            computed[class_id].append(found[pupil_id])
    # 2. Everybody else: their stored steps, counted per class and pattern in SQL.
    patterns = db.session.execute(
        sa.select(members.c.class_id, _C.grade, _C.steps, sa.func.count())
        .select_from(members)
        .join(_TABLE, _C.pupil_id == members.c.pupil_id)
        .where(_fresh(school_id, day), members.c.pupil_id.not_in([pid for _c, pid, _v in rows]))
        .group_by(members.c.class_id, _C.grade, _C.steps)
    )
    weighted: dict[int, list[tuple[Summary, int]]] = {cid: [] for cid in class_ids}
    for class_id, grade, steps, n in patterns:
        weighted[class_id].append((Summary(grade, Figure(), steps=_parse_steps(steps)), n))
    for class_id, found in computed.items():
        weighted[class_id].extend((summary, 1) for summary in found)

    elements = progress.visible_elements(school_id)
    year = _current_school_year(school_id)
    half = progress.current_half(year.second_half_on if year else None, day)
    awaiting = {
        (p.element_id, p.half): progress.awaits_signature(p, half)
        for steps in progress.plan(elements).values()
        for p in steps
    }
    result: dict[int, list[StepTally]] = {}
    for cls in classes:
        tallies = progress.tally(cls.grade, weighted[cls.id], elements)
        for t in tallies:
            t.awaits_signature = awaiting.get((t.element.id, t.half), False)
        result[cls.id] = tallies
    return result


# -- ahead of the staff: the rows of a new day ---------------------------------------------------
def refresh(school_id: int, today: dt.date | None = None, batch: int = 500) -> int:
    """Compute and store the rows of every pupil in a class of this school year of the
    school that are not stored for `today`; how many pupils were looked at."""
    ids = list(
        db.session.scalars(
            sa.select(ClassMembership.pupil_id)
            .join(SchoolYear, SchoolYear.id == ClassMembership.school_year_id)
            .where(SchoolYear.school_id == school_id, SchoolYear.is_current.is_(True))
            .order_by(ClassMembership.pupil_id)
        )
    )
    for start in range(0, len(ids), batch):
        stored(school_id, ids[start : start + batch], today)
        forget()
    return len(ids)


@queue.periodic("progress.refresh", queue.crontab(hour="4", minute="0"), own_transactions=True)
def refresh_task() -> None:
    """Every night: the rows of the new day, school by school (one transaction each)."""
    for school_id in list(db.session.scalars(sa.select(School.id).order_by(School.id))):
        with transaction.atomic():
            refresh(school_id)
