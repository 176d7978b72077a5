"""Guidance records (Beratung): recording, editing, the pupil's notes, and the goals.

Each agreed next step of a record becomes a goal in the pupil's portfolio. The step
keeps the goal's id (`goal_entry_id`) and a stable `key`, so that saving the record
again never creates the same goal twice. A goal belongs to the pupil once it exists:
a later correction of the step reaches the goal only while the pupil has not changed it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale, format_date
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from portfolio import access
from portfolio.extensions import db
from portfolio.i18n import LANGUAGES, _
from portfolio.models import Audience, Entry, EntryKind, EntryStatus, GuidanceRecord, User
from portfolio.notifications import services as notifications
from portfolio.privacy import audit


class Conflict(Exception):
    """Someone saved the record since the form was opened."""

    def __init__(self, record: GuidanceRecord):
        super().__init__("guidance record changed meanwhile")
        self.record = record


@dataclass
class Step:
    text: str
    due_on: dt.date | None = None
    key: str | None = None


def _as_steps(steps: list[Step | dict[str, Any]]) -> list[Step]:
    return [s if isinstance(s, Step) else Step(**s) for s in steps]


# -- queries ------------------------------------------------------------------------------
def records_for(
    pupil_id: int, visible=None, *, guardians_only: bool = False
) -> list[GuidanceRecord]:
    """A pupil's records, newest first, with their authors (two queries).

    `visible`: the reader's filter, `PupilAccess.visible_clause(GuidanceRecord)`;
    `guardians_only`: those the pupil shared with the guardians (the family page).
    """
    if guardians_only:
        visible = access.shared_clause(GuidanceRecord, frozenset({Audience.GUARDIANS}))
    query = (
        sa.select(GuidanceRecord)
        .where(GuidanceRecord.pupil_id == pupil_id)
        # Authors by name only: their roles are not needed here (saves a query).
        .options(joinedload(GuidanceRecord.author).noload(User.role_rows))
        .order_by(GuidanceRecord.held_on.desc(), GuidanceRecord.id.desc())
    )
    if visible is not None:
        query = query.where(visible)
    return list(db.session.scalars(query))


def goals_of(record: GuidanceRecord) -> dict[int, Entry]:
    """The goal entries made from the record's steps that still exist, by id."""
    ids = [s["goal_entry_id"] for s in record.next_steps or [] if s.get("goal_entry_id")]
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(Entry).where(Entry.id.in_(ids), Entry.pupil_id == record.pupil_id)
    )
    return {e.id: e for e in rows}


# -- writes ------------------------------------------------------------------------------
def create_record(
    author: User,
    pupil: User,
    *,
    held_on: dt.date,
    participants: str,
    topics: str,
    steps: list[Step | dict[str, Any]],
    notify_pupil: bool = True,
) -> GuidanceRecord:
    """Record a session; every agreed next step becomes a goal of the pupil."""
    record = GuidanceRecord(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        author_id=author.id,
        held_on=held_on,
        participants=participants.strip(),
        topics=topics.strip(),
        next_steps=[],
    )
    db.session.add(record)
    db.session.flush()
    record.next_steps = _sync_goals(record, [], _as_steps(steps), held_on)
    if notify_pupil:
        goals = [s["goal_entry_id"] for s in record.next_steps]
        first_goal = db.session.get(Entry, goals[0]) if goals else None
        notifications.guidance_recorded(pupil, author, first_goal)
    db.session.flush()
    return record


def update_record(
    record: GuidanceRecord,
    *,
    expected_version: int | None,
    held_on: dt.date,
    participants: str,
    topics: str,
    steps: list[Step | dict[str, Any]],
) -> GuidanceRecord:
    """Save the staff part; Conflict when the record changed since `expected_version`."""
    _check_version(record, expected_version)
    old_steps, old_held_on = list(record.next_steps or []), record.held_on
    with _saving(record):
        record.held_on = held_on
        record.participants = participants.strip()
        record.topics = topics.strip()
        record.next_steps = _sync_goals(record, old_steps, _as_steps(steps), old_held_on)
    return record


def update_pupil_part(
    record: GuidanceRecord,
    *,
    expected_version: int | None,
    pupil_notes: str,
    share_guardians: bool,
    share_counsellor: bool | None = None,
) -> GuidanceRecord:
    """The pupil's notes and whether guardians (and the counsellor) see the record."""
    _check_version(record, expected_version)
    with _saving(record):
        record.pupil_notes = pupil_notes.strip()
        record.share_guardians = bool(share_guardians)
        if share_counsellor is not None:
            record.share_counsellor = bool(share_counsellor)
    return record


def record_view(viewer: User, record: GuidanceRecord, page: str = "show") -> None:
    """Audit: anyone but the pupil reading the record (with the pupil's notes), its
    author too; `page` says whether it was the record or its edit form."""
    audit.record(
        viewer,
        "view",
        pupil_id=record.pupil_id,
        school_id=record.school_id,
        obj=record,
        details={"page": page} if page != "show" else None,
    )


def _check_version(record: GuidanceRecord, expected: int | None) -> None:
    if expected is None or expected != record.version:
        raise Conflict(record)


@contextmanager
def _saving(record: GuidanceRecord):
    """Write the changes made in the block; Conflict if the row changed underneath."""
    record_id = record.id
    try:
        yield
        db.session.flush()
    except StaleDataError:
        # Another request saved between our check and our UPDATE.
        db.session.rollback()
        fresh = db.session.get(GuidanceRecord, record_id, populate_existing=True)
        raise Conflict(fresh) from None


# -- goals --------------------------------------------------------------------------------
def _sync_goals(
    record: GuidanceRecord, old: list[dict[str, Any]], new: list[Step], old_held_on: dt.date
) -> list[dict[str, Any]]:
    """The stored steps for `new`; makes goals for new steps, corrects untouched ones."""
    old_by_key = {s["key"]: s for s in old if s.get("key")}
    goals = goals_of(record) if old else {}
    pupil = record.pupil
    result = []
    for step in new:
        previous = old_by_key.get(step.key) if step.key else None
        stored = {
            "key": previous["key"] if previous else secrets.token_urlsafe(8),
            "text": step.text.strip(),
            "due_on": step.due_on.isoformat() if step.due_on else None,
            "goal_entry_id": previous.get("goal_entry_id") if previous else None,
        }
        if stored["goal_entry_id"] is None:
            stored["goal_entry_id"] = _make_goal(record, pupil, stored).id
        else:
            goal = goals.get(stored["goal_entry_id"])
            if goal is not None and previous and _untouched(goal, previous, old_held_on):
                _fill_goal(goal, record, stored)
        result.append(stored)
    return result


def _origin_note(held_on: dt.date, pupil: User) -> str:
    # The goal is the pupil's text: written in the language the pupil works in.
    locale = pupil.locale if pupil.locale in LANGUAGES else "de"
    with force_locale(locale):
        return _("Agreed in the guidance session of %(date)s.", date=format_date(held_on, "medium"))


def _goal_data(record: GuidanceRecord, step: dict[str, Any]) -> dict[str, Any]:
    return {
        "goal": step["text"],
        "why": _origin_note(record.held_on, record.pupil),
        "steps": [{"text": step["text"], "due_on": step["due_on"] or "", "done": "no"}],
        "state": "open",
        "origin": {
            "type": "guidance",
            "record_id": record.id,
            "held_on": record.held_on.isoformat(),
        },
    }


def _make_goal(record: GuidanceRecord, pupil: User, step: dict[str, Any]) -> Entry:
    from portfolio.progress import pupil_grade

    goal = Entry(
        school_id=record.school_id,
        pupil_id=pupil.id,
        kind=EntryKind.GOAL.value,
        grade=pupil_grade(pupil),
        status=EntryStatus.OPEN.value,
        data={},
    )
    _fill_goal(goal, record, step)
    db.session.add(goal)
    db.session.flush()
    return goal


def _fill_goal(goal: Entry, record: GuidanceRecord, step: dict[str, Any]) -> None:
    goal.data = _goal_data(record, step)
    goal.next_due_on = dt.date.fromisoformat(step["due_on"]) if step["due_on"] else None


def _untouched(goal: Entry, previous: dict[str, Any], old_held_on: dt.date) -> bool:
    """Whether the goal still says exactly what the step said when the goal was made."""
    data = goal.data or {}
    steps = data.get("steps") or []
    return (
        data.get("goal") == previous.get("text")
        and data.get("why") == _origin_note(old_held_on, goal.pupil)
        and data.get("state") == "open"
        and len(steps) == 1
        and steps[0].get("text") == previous.get("text")
        and (steps[0].get("due_on") or None) == previous.get("due_on")
        and steps[0].get("done") == "no"
    )
