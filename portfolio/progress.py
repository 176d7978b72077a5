"""How far pupils are with the standard elements: the timeline, overviews, dashboards.

Computed with a fixed number of queries for any number of pupils: one statement with
grouped counts over entries, agreements and guidance records (and the elements,
cached per request).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from portfolio.extensions import db
from portfolio.models import (
    GRADE_ORDER,
    Agreement,
    ClassMembership,
    Entry,
    EntryStatus,
    GuidanceRecord,
    ReviewState,
    SchoolClass,
    SchoolYear,
    StandardElement,
    User,
)

OPEN = "open"
IN_PROGRESS = "in_progress"
DONE = "done"
_RANK = {OPEN: 0, IN_PROGRESS: 1, DONE: 2}


@dataclass(slots=True)
class ElementState:
    state: str = OPEN
    feedback_requested: bool = False
    count: int = 0

    def raise_to(self, state: str) -> None:
        if _RANK[state] > _RANK[self.state]:
            self.state = state


def elements_for_school(school_id: int) -> list[StandardElement]:
    """The school's active standard elements in order (cached for the request)."""
    cache = g.setdefault("_elements", {})
    if school_id not in cache:
        cache[school_id] = list(
            db.session.scalars(
                sa.select(StandardElement)
                .where(StandardElement.school_id == school_id, StandardElement.active.is_(True))
                .order_by(StandardElement.position, StandardElement.id)
            )
        )
    return cache[school_id]


def elements_for_grade(school_id: int, grade: str | None) -> list[StandardElement]:
    return [el for el in elements_for_school(school_id) if grade is None or grade in el.grade_list]


def element_states(school_id: int, pupil_ids) -> dict[int, dict[str, ElementState]]:
    """State of every active element for each pupil: {pupil_id: {element_key: ElementState}}.

    Cached for the request when asked for a list of ids (a page that shows progress
    twice, e.g. summary and timeline, asks the database once).
    """
    if isinstance(pupil_ids, sa.Select):
        return _element_states(school_id, pupil_ids)
    ids = tuple(pupil_ids)
    cache = g.setdefault("_element_states", {})
    if (school_id, ids) not in cache:
        cache[(school_id, ids)] = _element_states(school_id, list(ids))
    return cache[(school_id, ids)]


def forget_states() -> None:
    """Drop the request's cached states (after a write that changes them)."""
    g.pop("_element_states", None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _states_change_with_writes(session, *args) -> None:
    if has_app_context():
        forget_states()


def _element_states(school_id: int, pupil_ids) -> dict[int, dict[str, ElementState]]:
    pupil_ids = list(pupil_ids) if not isinstance(pupil_ids, sa.Select) else pupil_ids
    elements = elements_for_school(school_id)
    result: dict[int, dict[str, ElementState]] = defaultdict(dict)
    if isinstance(pupil_ids, list):
        for pid in pupil_ids:
            result[pid] = {}
        if not pupil_ids:
            return {}
    ids_filter = pupil_ids

    # One statement: entries counted per pupil, kind, status and review state; agreements
    # (drafts and locked versions) and guidance records counted per pupil.
    entries = (
        sa.select(
            sa.literal("entry").label("source"),
            Entry.pupil_id,
            Entry.kind,
            Entry.status,
            Entry.review_state,
            sa.func.count(Entry.id).label("n"),
            sa.literal(0).label("locked"),
        )
        .where(Entry.school_id == school_id, Entry.pupil_id.in_(ids_filter))
        .group_by(Entry.pupil_id, Entry.kind, Entry.status, Entry.review_state)
    )
    agreements = (
        sa.select(
            sa.literal("agreement"),
            Agreement.pupil_id,
            sa.literal("agreement"),
            sa.null(),
            sa.null(),
            sa.func.count(Agreement.id),
            sa.func.count(Agreement.locked_at),
        )
        .where(Agreement.school_id == school_id, Agreement.pupil_id.in_(ids_filter))
        .group_by(Agreement.pupil_id)
    )
    guidance = (
        sa.select(
            sa.literal("guidance"),
            GuidanceRecord.pupil_id,
            sa.literal("guidance"),
            sa.null(),
            sa.null(),
            sa.func.count(GuidanceRecord.id),
            sa.literal(0),
        )
        .where(GuidanceRecord.school_id == school_id, GuidanceRecord.pupil_id.in_(ids_filter))
        .group_by(GuidanceRecord.pupil_id)
    )
    per_kind: dict[tuple[int, str], ElementState] = {}
    for source, pupil_id, kind, status, review_state, n, locked in db.session.execute(
        sa.union_all(entries, agreements, guidance)
    ):
        if source == "agreement":
            # A draft means in progress, a locked (signed) version done.
            per_kind[(pupil_id, "agreement")] = ElementState(
                state=DONE if locked else IN_PROGRESS, count=n
            )
        elif source == "guidance":
            # At least one session recorded counts as done.
            per_kind[(pupil_id, "guidance")] = ElementState(state=DONE, count=n)
        else:
            st = per_kind.setdefault((pupil_id, kind), ElementState())
            st.count += n
            st.raise_to(DONE if status == EntryStatus.DONE else IN_PROGRESS)
            if review_state == ReviewState.REQUESTED:
                st.feedback_requested = True

    # Plain tuples: attribute access on ORM objects is slow in a pupils × elements loop.
    keys = [(el.key, el.entry_kind or el.key) for el in elements]
    pupils = set(result) | {pid for pid, _kind in per_kind}
    for pid in pupils:
        states = result[pid]
        for key, kind in keys:
            found = per_kind.get((pid, kind))
            states[key] = (
                ElementState(found.state, found.feedback_requested, found.count)
                if found
                else ElementState()
            )
    return dict(result)


def progress_percent(states: dict[str, ElementState], keys: list[str] | None = None) -> int:
    """Share of elements done (in progress counts half), as a whole percentage."""
    relevant = [states[k] for k in (keys if keys is not None else states) if k in states]
    if not relevant:
        return 0
    score = sum(
        1.0 if s.state == DONE else 0.5 if s.state == IN_PROGRESS else 0.0 for s in relevant
    )
    return round(100 * score / len(relevant))


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


def grades_up_to(grade: str | None) -> list[str]:
    """The career-orientation grades from 8 up to the given one (for the timeline)."""
    sek1 = ["8", "9", "10"]
    sek2 = ["EF", "Q1", "Q2"]
    if grade in sek2:
        return sek1 + sek2[: sek2.index(grade) + 1]
    if grade in ("11", "12", "13"):
        return sek1 + ["11", "12", "13"][: ["11", "12", "13"].index(grade) + 1]
    if grade is None:
        return sek1
    order = GRADE_ORDER.get(grade, 8)
    return [g for g in sek1 if GRADE_ORDER[g] <= max(order, 8)] or ["8"]
