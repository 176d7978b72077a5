"""Work on several pupils of a class at once: mark waiting entries reviewed, remind.

Who may do what is portfolio/access.py's answer (`class_access`, `can_review`); each
entry is changed under its own optimistic lock (the version the teacher saw), in a
savepoint of its own, so that one entry changed meanwhile is skipped and the others are
done. The result says what was done and what was skipped, and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from portfolio import access, collation
from portfolio.extensions import db
from portfolio.i18n import _l
from portfolio.kinds import entry_title
from portfolio.models import ClassMembership, Entry, ReviewState, SchoolClass, User
from portfolio.notifications.services import remind_due_steps
from portfolio.review import services
from portfolio.review.actions import action_items
from portfolio.review.services import PUPIL_LIST

#: Why an entry or a pupil was skipped: reason -> text for the summary.
SKIPPED = {
    "changed": _l("changed by the pupil since you looked"),
    "answered": _l("no longer waiting for feedback"),
    "gone": _l("no longer shared with you"),
    "nothing_due": _l("nothing due"),
    "already_reminded": _l("an earlier reminder is still unread"),
}


@dataclass
class Skipped:
    pupil: User
    what: str  # entry title, or "" for a pupil
    reason: str

    @property
    def reason_text(self) -> str:
        return str(SKIPPED[self.reason])


@dataclass
class BulkResult:
    done: list[tuple[User, str]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def pupils_done(self) -> int:
        return len({p.id for p, _what in self.done})


def chosen_pupils(school_class: SchoolClass, pupil_ids) -> list[User]:
    """The chosen pupils who are members of the class, in German name order (one query)."""
    ids = {int(i) for i in pupil_ids}
    if not ids:
        return []
    pupils = db.session.scalars(
        sa.select(User)
        .join(ClassMembership, ClassMembership.pupil_id == User.id)
        .where(ClassMembership.class_id == school_class.id, User.id.in_(ids))
        .options(PUPIL_LIST)
    ).all()
    return collation.by_name(pupils)


@dataclass
class Waiting:
    pupil: User
    entries: list[tuple[Entry, str]]  # (entry, title)


def waiting_entries(user: User, school_class: SchoolClass, pupils: list[User]) -> list[Waiting]:
    """Per chosen pupil, the entries waiting for feedback that the user may review."""
    accesses = access.class_access(user, school_class, pupils)
    if not accesses:
        return []
    audiences = next(iter(accesses.values())).audiences
    entries = db.session.scalars(
        sa.select(Entry)
        .where(
            Entry.pupil_id.in_(list(accesses)),
            Entry.review_state == ReviewState.REQUESTED.value,
            access.shared_clause(Entry, audiences),
        )
        .order_by(Entry.created_at, Entry.id)
    ).all()
    by_pupil: dict[int, list[tuple[Entry, str]]] = {}
    for entry in entries:
        if accesses[entry.pupil_id].can_review(entry):
            by_pupil.setdefault(entry.pupil_id, []).append((entry, entry_title(entry)))
    return [Waiting(p, by_pupil[p.id]) for p in pupils if p.id in by_pupil]


def mark_reviewed(user: User, school_class: SchoolClass, versions: dict[int, int]) -> BulkResult:
    """Mark the entries (id -> the version the user saw) reviewed; flushes, never commits."""
    result = BulkResult()
    entries = db.session.scalars(sa.select(Entry).where(Entry.id.in_(list(versions)))).all()
    pupils = chosen_pupils(school_class, {e.pupil_id for e in entries})
    accesses = access.class_access(user, school_class, pupils)
    by_id = {p.id: p for p in pupils}
    for entry in sorted(entries, key=lambda e: (collation.name_key(e.pupil), e.id)):
        pupil_access = accesses.get(entry.pupil_id)
        if pupil_access is None:
            continue  # not a pupil of this class: nothing to say about it
        title = entry_title(entry)
        pupil = by_id[entry.pupil_id]
        if not pupil_access.can_review(entry):
            result.skipped.append(Skipped(pupil, title, "gone"))
        elif entry.review_state != ReviewState.REQUESTED.value:
            result.skipped.append(Skipped(pupil, title, "answered"))
        elif entry.version != versions[entry.id]:
            result.skipped.append(Skipped(pupil, title, "changed"))
        else:
            try:
                with db.session.begin_nested():
                    services.set_review(entry, user, ReviewState.REVIEWED)
            except StaleDataError:
                result.skipped.append(Skipped(pupil, title, "changed"))
            else:
                result.done.append((pupil, title))
    return result


def remind(user: User, school_class: SchoolClass, pupils: list[User]) -> BulkResult:
    """Remind each chosen pupil with due steps of them (one notice each); flushes."""
    result = BulkResult()
    accesses = access.class_access(user, school_class, pupils)
    if not accesses:
        return result
    actions = action_items(
        user.school, list(accesses), access.class_audiences(user, school_class.id)
    )
    for pupil in pupils:
        if pupil.id not in accesses:
            continue
        if not actions[pupil.id].due:
            result.skipped.append(Skipped(pupil, "", "nothing_due"))
        elif remind_due_steps(pupil, user) is None:
            result.skipped.append(Skipped(pupil, "", "already_reminded"))
        else:
            result.done.append((pupil, ""))
    db.session.flush()
    return result
