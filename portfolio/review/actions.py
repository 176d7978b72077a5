"""What needs action for a pupil: the quality gaps staff follow up.

Computed for any number of pupils with three queries. The gaps look at all of a
pupil's entries (whether a placement has an evaluation, whether a goal is overdue)
but never show their content: like the progress states, they say only that
something is missing. Waiting-for-feedback counts only entries shared with the
viewer's audiences, because only those can be answered.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from portfolio.access import shared_clause
from portfolio.accounts import school_year_start
from portfolio.extensions import db
from portfolio.i18n import _l
from portfolio.models import (
    GRADE_ORDER,
    Agreement,
    Audience,
    Entry,
    EntryKind,
    EntryStatus,
    ReviewState,
    School,
)

#: Filters of the class overview: key -> label.
FILTERS: dict[str, object] = {
    "feedback": _l("Waiting for feedback"),
    "placement": _l("Placement without evaluation"),
    "agreement": _l("Agreement missing"),
    "goal": _l("Goal overdue"),
}
#: Default deadline (month, day) for grade 9 when the school has set none.
DEFAULT_AGREEMENT_DEADLINE = (5, 31)
#: Goal states that end a goal: it cannot be overdue any more.
_GOAL_FINISHED = {"reached", "dropped"}


@dataclass
class PupilActions:
    """The open items of one pupil."""

    waiting: int = 0
    waiting_kinds: set[str] = field(default_factory=set)
    placements_without_evaluation: int = 0
    agreement_missing: bool = False
    #: The deadline that passed, when the pupil is in grade 9 (None: due since grade 9).
    agreement_due_on: dt.date | None = None
    goals_overdue: int = 0
    goal_overdue_since: dt.date | None = None

    @property
    def count(self) -> int:
        """Number of open items (each overdue goal and each waiting entry counts)."""
        return (
            self.waiting
            + self.placements_without_evaluation
            + int(self.agreement_missing)
            + self.goals_overdue
        )

    def matches(self, key: str | None) -> bool:
        if not key:
            return True
        return {
            "feedback": self.waiting > 0,
            "placement": self.placements_without_evaluation > 0,
            "agreement": self.agreement_missing,
            "goal": self.goals_overdue > 0,
        }.get(key, True)


def agreement_deadline(school: School, today: dt.date) -> dt.date:
    """The school's grade-9 deadline (month and day) in the current school year."""
    if school.agreement_deadline is not None:
        month, day = school.agreement_deadline.month, school.agreement_deadline.day
    else:
        month, day = DEFAULT_AGREEMENT_DEADLINE
    start = school_year_start(today)
    year = start if month >= 8 else start + 1
    try:
        return dt.date(year, month, day)
    except ValueError:  # 29 February in a common year
        return dt.date(year, month, 28)


def agreement_due(school: School, grade: str | None, today: dt.date) -> tuple[bool, dt.date | None]:
    """Whether a signed agreement is due for a pupil in `grade`, and the deadline passed.

    Grade 9 after the school's deadline, and every grade after 9.
    """
    order = GRADE_ORDER.get(grade or "", 0)
    if order < 9:
        return False, None
    if order == 9:
        deadline = agreement_deadline(school, today)
        return (today > deadline), deadline
    return True, None


def placement_lacks_evaluation(data: dict | None, today: dt.date) -> bool:
    """A placement that has ended (or has no end date) but no evaluation written.

    The evaluation is missing when both "what it was really like" and "what I
    learned" are empty; a placement still running is not flagged.
    """
    data = data or {}
    end = str(data.get("end") or "")
    if end and end >= today.isoformat():
        return False
    return not str(data.get("reality") or "").strip() and not str(data.get("learned") or "").strip()


def action_items(
    school: School,
    grades: dict[int, str | None],
    audiences: frozenset[Audience],
    today: dt.date | None = None,
) -> dict[int, PupilActions]:
    """Open items of each pupil in `grades` ({pupil_id: grade}), in three queries."""
    today = today or dt.date.today()
    pupil_ids = list(grades)
    result: dict[int, PupilActions] = {pid: PupilActions() for pid in pupil_ids}
    if not pupil_ids:
        return result

    rows = db.session.execute(
        sa.select(Entry.pupil_id, Entry.kind, sa.func.count(Entry.id))
        .where(
            Entry.school_id == school.id,
            Entry.pupil_id.in_(pupil_ids),
            Entry.review_state == ReviewState.REQUESTED.value,
            shared_clause(Entry, audiences),
        )
        .group_by(Entry.pupil_id, Entry.kind)
    )
    for pupil_id, kind, n in rows:
        result[pupil_id].waiting += n
        result[pupil_id].waiting_kinds.add(kind)

    rows = db.session.execute(
        sa.select(Entry.pupil_id, Entry.kind, Entry.data, Entry.next_due_on, Entry.status).where(
            Entry.school_id == school.id,
            Entry.pupil_id.in_(pupil_ids),
            sa.or_(
                Entry.kind == EntryKind.PRAKTIKUM.value,
                sa.and_(Entry.kind == EntryKind.GOAL.value, Entry.next_due_on < today),
            ),
        )
    )
    for pupil_id, kind, data, due_on, status in rows:
        item = result[pupil_id]
        if kind == EntryKind.PRAKTIKUM.value:
            if placement_lacks_evaluation(data, today):
                item.placements_without_evaluation += 1
        elif status != EntryStatus.DONE.value and (data or {}).get("state") not in _GOAL_FINISHED:
            item.goals_overdue += 1
            if item.goal_overdue_since is None or due_on < item.goal_overdue_since:
                item.goal_overdue_since = due_on

    signed = set(
        db.session.scalars(
            sa.select(Agreement.pupil_id)
            .distinct()
            .where(
                Agreement.school_id == school.id,
                Agreement.pupil_id.in_(pupil_ids),
                Agreement.locked_at.is_not(None),
            )
        )
    )
    for pupil_id, grade in grades.items():
        due, deadline = agreement_due(school, grade, today)
        if due and pupil_id not in signed:
            result[pupil_id].agreement_missing = True
            result[pupil_id].agreement_due_on = deadline
    return result


def totals(items) -> dict[str, int]:
    """Per filter, how many pupils need that action (for class lists and filter links)."""
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        for key in FILTERS:
            if item.matches(key):
                counts[key] += 1
    return {key: counts.get(key, 0) for key in FILTERS}
