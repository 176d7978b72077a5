"""The pupil's portfolio: loading, writing and sharing entries (testable without HTTP)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from babel.lists import format_list
from flask_babel import get_locale
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from portfolio import access, clock, progress
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.kinds import (
    AUDIENCES,
    FEEDBACK_AUDIENCES,
    SPECS,
    KindSpec,
    binder_order,
    offered_in,
    spec_for,
)
from portfolio.models import (
    SINGLE_ENTRY_KINDS,
    Audience,
    Entry,
    EntryKind,
    EntryStatus,
    ReviewState,
    Section,
    User,
    utcnow,
)
from portfolio.notifications import services as notifications

#: Accepted external assessments only come from a rater's answer, never from a form.
NOT_CREATABLE = (EntryKind.EXTERNAL_ASSESSMENT,)


class EditConflict(Exception):
    """The entry was changed elsewhere since the form was opened."""

    def __init__(self, stored: Entry) -> None:
        super().__init__("entry changed elsewhere")
        self.stored = stored


class NobodyAsked(ValueError):
    """A request for feedback names nobody who can give it."""


# -- which kinds a pupil is offered ------------------------------------------------------
def offered_kinds(grade: str | None, section: Section | None = Section.MY_WAY) -> list[KindSpec]:
    """Kinds offered to a pupil of this grade (kinds.offered_in), of one section or all."""
    return [
        s
        for s in SPECS.values()
        if (section is None or s.section == section) and offered_in(s, grade)
    ]


def can_create(spec: KindSpec, grade: str | None = None) -> bool:
    """Whether the pupil may start a new entry of the kind in her grade."""
    return spec.pupil_editable and spec.kind not in NOT_CREATABLE and offered_in(spec, grade)


# -- loading -----------------------------------------------------------------------------
def entries_for(
    pupil: User,
    audiences: Iterable[Audience] | None = None,
    *,
    kinds: Iterable[str] | None = None,
    with_comments: bool = False,
) -> list[Entry]:
    """A pupil's entries in section and kind order, oldest first within a kind.

    With `audiences`, only entries shared with one of them. One query (two with comments).
    """
    query = sa.select(Entry).where(Entry.pupil_id == pupil.id, Entry.school_id == pupil.school_id)
    if audiences is not None:
        query = query.where(access.shared_clause(Entry, frozenset(audiences)))
    if kinds is not None:
        query = query.where(Entry.kind.in_([str(k) for k in kinds]))
    if with_comments:
        query = query.options(selectinload(Entry.comments))
    entries = list(db.session.scalars(query.order_by(Entry.created_at, Entry.id)))
    entries.sort(key=lambda e: binder_order(e.kind))
    return entries


def entries_by_kind(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    grouped: dict[str, list[Entry]] = {}
    for entry in entries:
        grouped.setdefault(entry.kind, []).append(entry)
    return grouped


# -- writing -----------------------------------------------------------------------------
def next_due(data: dict) -> dt.date | None:
    """Earliest due date of a goal step that is not done."""
    dates = []
    for step in data.get("steps") or []:
        if step.get("done") == "yes" or not step.get("due_on"):
            continue
        try:
            dates.append(dt.date.fromisoformat(step["due_on"]))
        except (TypeError, ValueError):
            continue
    return min(dates) if dates else None


def overdue_steps(entry: Entry, today: dt.date | None = None) -> list[dict]:
    """Goal steps past their date and not done."""
    if entry.kind != EntryKind.GOAL:
        return []
    today = today or clock.today()
    late = []
    for step in (entry.data or {}).get("steps") or []:
        if step.get("done") == "yes" or not step.get("due_on"):
            continue
        try:
            if dt.date.fromisoformat(step["due_on"]) < today:
                late.append(step)
        except ValueError:
            continue
    return late


def apply_data(entry: Entry, data: dict) -> None:
    """Put the pupil's new content on the entry (a new dict, so the JSON column sees the
    change); it is her last edit ("last saved")."""
    entry.data = dict(data)
    entry.edited_at = utcnow()
    if entry.kind == EntryKind.GOAL:
        entry.next_due_on = next_due(entry.data)


def single_entry(pupil_id: int, kind: str) -> Entry | None:
    """The pupil's entry of a single-entry kind (the first, if older copies exist)."""
    return db.session.scalar(
        sa.select(Entry)
        .where(Entry.pupil_id == pupil_id, Entry.kind == str(kind))
        .order_by(Entry.copy_no, Entry.created_at, Entry.id)
        .limit(1)
    )


def create_entry(pupil: User, kind: str, data: dict) -> Entry:
    """A new entry of the pupil, in the pupil's current grade, private.

    A pupil has one entry of a single-entry kind (the CV ...): when it exists already,
    e.g. saved in another tab or at the same moment, raises EditConflict with it and
    saves nothing.
    """
    pupil_id, single = pupil.id, EntryKind(kind) in SINGLE_ENTRY_KINDS
    if single and (stored := single_entry(pupil_id, kind)) is not None:
        raise EditConflict(stored)
    entry = Entry(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        kind=EntryKind(kind).value,
        grade=progress.pupil_grade(pupil),
        status=EntryStatus.IN_PROGRESS.value,
        review_state=ReviewState.NONE.value,
        data={},
    )
    apply_data(entry, data)
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError:
        # Saved at the same moment elsewhere: the database's rule (uq_entry_single_kind)
        # let the other one in. On PostgreSQL the transaction is unusable now.
        db.session.rollback()
        stored = single_entry(pupil_id, kind) if single else None
        if stored is None:
            raise
        raise EditConflict(stored) from None
    return entry


def update_entry(entry: Entry, data: dict, expected_version: int | None) -> Entry:
    """Save the pupil's changes unless the entry changed since the form was opened.

    Raises EditConflict with the stored entry; nothing is overwritten then.
    """
    if expected_version is None or entry.version != expected_version:
        raise EditConflict(entry)
    _write(entry, data)
    return entry


def _write(entry: Entry, data: dict) -> None:
    """Put the data on the entry and flush; EditConflict if someone saved in between."""
    entry_id = entry.id
    apply_data(entry, data)
    try:
        db.session.flush()
    except StaleDataError:
        # Someone saved between our check and our UPDATE (version_id_col caught it).
        db.session.rollback()
        stored = db.session.get(Entry, entry_id, populate_existing=True)
        raise EditConflict(stored) from None


class NoSuchStep(LookupError):
    """The entry is not a goal, or the goal has no step at that position."""


def set_step_done(entry: Entry, index: int, done: bool, expected_version: int | None) -> Entry:
    """Tick a goal's step done (or not done again), for the version the pupil saw.

    Raises EditConflict when the goal changed since (nothing is changed then) and
    NoSuchStep for a step that is not there. Ticking the first step of a goal that
    was not started puts the goal in progress. Flushes; the request commits.
    """
    if entry.kind != EntryKind.GOAL:
        raise NoSuchStep(index)
    if expected_version is None or entry.version != expected_version:
        raise EditConflict(entry)
    data = dict(entry.data or {})
    steps = list(data.get("steps") or [])
    if not 0 <= index < len(steps) or not isinstance(steps[index], dict):
        raise NoSuchStep(index)
    steps[index] = {**steps[index], "done": "yes" if done else "no"}
    data["steps"] = steps
    if done and data.get("state") in (None, "", "open"):
        data["state"] = "in_progress"
    _write(entry, data)
    return entry


def set_status(entry: Entry, done: bool) -> None:
    entry.status = (EntryStatus.DONE if done else EntryStatus.IN_PROGRESS).value
    db.session.flush()


def set_sharing(entry: Entry, audiences: Iterable[Audience]) -> set[Audience]:
    """Share the entry with exactly these audiences (none: private); returns the
    audiences it is newly shared with.

    Whoever no longer sees it is no longer asked for feedback (a request that then asks
    nobody is withdrawn) and loses the news about it. Those newly shared with are told.
    """
    chosen = set(audiences)
    added = chosen - set(entry.shared_with)
    removed = set(entry.shared_with) - chosen
    entry.set_shared(chosen)
    entry.set_asked(a for a in FEEDBACK_AUDIENCES if entry.was_asked(a) and a in chosen)
    if entry.review_state == ReviewState.REQUESTED and not entry.asked:
        entry.review_state = ReviewState.NONE.value
        entry.submitted_at = None
    db.session.flush()
    if removed:
        notifications.forget_unseeable(entry)
    notifications.entry_shared(entry, entry.pupil, added)
    db.session.flush()
    return added


def ask_for_feedback(entry: Entry, audiences: Iterable[Audience]) -> set[Audience]:
    """Ask these staff audiences for feedback: the entry is shared with them (returns
    those it is newly shared with), they are told, and it waits for their feedback.

    Raises NobodyAsked when none of the audiences can give feedback.
    """
    asked = [a for a in FEEDBACK_AUDIENCES if a in set(audiences)]
    if not asked:
        raise NobodyAsked()
    added = set(asked) - set(entry.shared_with)
    entry.set_shared([*entry.shared_with, *asked])
    entry.set_asked(asked)
    entry.review_state = ReviewState.REQUESTED.value
    entry.submitted_at = utcnow()
    notifications.entry_handed_in(entry, entry.pupil, asked)
    db.session.flush()
    return added


def withdraw_hand_in(entry: Entry) -> None:
    """The pupil takes back her request for feedback (the entry stays shared)."""
    if entry.review_state == ReviewState.REQUESTED:
        entry.review_state = ReviewState.NONE.value
        entry.submitted_at = None
        entry.set_asked(())
        db.session.flush()


def delete_entry(entry: Entry) -> None:
    db.session.delete(entry)
    db.session.flush()


def visible_to(obj) -> list[str]:
    """Whom an entry or document is shared with, as words for the pupil (empty: only her)."""
    return [str(AUDIENCES[a].pupil_label) for a in obj.shared_with]


def visibility_text(obj) -> str:
    names = visible_to(obj)
    if not names:
        return _("Only you can see this.")
    return _("Visible to: %(names)s", names=format_list(names, locale=get_locale()))


def asked_text(entry: Entry) -> str:
    """Whom the pending request for feedback asks, as words for the pupil."""
    names = [str(AUDIENCES[a].pupil_label) for a in entry.asked]
    return format_list(names, locale=get_locale())


def spec_or_none(kind: str) -> KindSpec | None:
    try:
        return spec_for(kind)
    except (KeyError, ValueError):
        return None


def qualities_for(school_id: int) -> list:
    """The school's active qualities in order (cached for the request)."""
    from flask import g

    from portfolio.models import Quality

    cache = g.setdefault("_qualities", {})
    if school_id not in cache:
        cache[school_id] = list(
            db.session.scalars(
                sa.select(Quality)
                .where(Quality.school_id == school_id, Quality.active.is_(True))
                .order_by(Quality.position, Quality.id)
            )
        )
    return cache[school_id]
