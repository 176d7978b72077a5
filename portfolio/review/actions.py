"""What needs action for a pupil: the open items staff follow up.

Computed for any number of pupils with a fixed number of queries. The items are:
* steps due: standard elements the school organises whose time has come in the pupil's
  current grade and of which nothing is documented (from portfolio/progress.py, so the
  flags agree with every progress figure);
* entries waiting for feedback: those the pupil asked the viewer's audiences for (and
  still shares with them);
* overdue goals and placements without an evaluation: only entries shared with the
  viewer's audiences. A goal is the pupil's own work and the evaluation of a placement
  is her own reflection: what she has not shared is invisible to staff even as a state
  (her entry page says so). Taking part in the placement itself is the school's
  knowledge and shows in the progress steps.

`audiences` are the viewer's (access.class_audiences, or the counsellor's).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from portfolio import idlist, progress, progress_store
from portfolio.access import asked_clause, shared_clause
from portfolio.extensions import db
from portfolio.i18n import _l
from portfolio.models import (
    Audience,
    Entry,
    EntryKind,
    EntryStatus,
    School,
)

#: Filters of the class overview: key -> label. "due:<element key>" filters one element.
FILTERS: dict[str, object] = {
    "due": _l("Step due"),
    "feedback": _l("Waiting for feedback"),
    "placement": _l("Placement without evaluation"),
    "goal": _l("Goal overdue"),
}
DUE_PREFIX = "due:"
#: Goal states that end a goal: it cannot be overdue any more.
_GOAL_FINISHED = {"reached", "dropped"}


@dataclass
class PupilActions:
    """The open items of one pupil."""

    waiting: int = 0
    waiting_kinds: set[str] = field(default_factory=set)
    placements_without_evaluation: int = 0
    goals_overdue: int = 0
    goal_overdue_since: dt.date | None = None
    #: Steps of the current grade that are due and of which nothing is documented.
    due: list[progress.Step] = field(default_factory=list)
    #: For lists that count, filter and sort without loading the steps: the due steps
    #: from the pupil's `progress.Summary` (None: from `due`).
    summary: progress.Summary | None = None

    @property
    def due_keys(self) -> frozenset[str]:
        if self.summary is not None and not self.due:
            return self.summary.due
        return frozenset(step.key for step in self.due)

    @property
    def due_count(self) -> int:
        if self.summary is not None and not self.due:
            return self.summary.due_steps
        return len(self.due)

    @property
    def count(self) -> int:
        """Number of open items (each due step, overdue goal and waiting entry counts)."""
        return (
            self.due_count + self.waiting + self.placements_without_evaluation + self.goals_overdue
        )

    def matches(self, key: str | None) -> bool:
        if not key:
            return True
        if key.startswith(DUE_PREFIX):
            return key[len(DUE_PREFIX) :] in self.due_keys
        return {
            "due": bool(self.due_count),
            "feedback": self.waiting > 0,
            "placement": self.placements_without_evaluation > 0,
            "goal": self.goals_overdue > 0,
        }.get(key, True)


def parse_filter(value: str | None, element_keys) -> str | None:
    """The filter asked for in the URL, if it is one the page knows (else none)."""
    if value in FILTERS:
        return value
    if value and value.startswith(DUE_PREFIX) and value[len(DUE_PREFIX) :] in element_keys:
        return value
    return None


#: What counts as empty in an evaluation's text: blanks, tabs, line breaks.
_BLANKS = " \t\r\n"


def _text(name: str) -> sa.ColumnElement[str]:
    """The entry's field `name` as text, without blanks around it ("" when missing)."""
    return sa.func.trim(sa.func.coalesce(Entry.data[name].as_string(), ""), _BLANKS)


def placement_lacks_evaluation(today: dt.date) -> sa.ColumnElement[bool]:
    """SQL: a placement that has ended (or has no end date) but no evaluation written.

    The evaluation is missing when both "what it was really like" and "what I learned"
    are empty; a placement still running is not flagged. (The end is an ISO date: its
    text orders as the date does.)
    """
    end = sa.func.coalesce(Entry.data["end"].as_string(), "")
    return sa.and_(
        Entry.kind == EntryKind.PRAKTIKUM.value,
        sa.or_(end == "", end < today.isoformat()),
        _text("reality") == "",
        _text("learned") == "",
    )


def goal_overdue(today: dt.date) -> sa.ColumnElement[bool]:
    """SQL: a goal with a step due before `today` that is neither done, reached nor dropped."""
    return sa.and_(
        Entry.kind == EntryKind.GOAL.value,
        Entry.next_due_on < today,
        Entry.status != EntryStatus.DONE.value,
        _text("state").not_in(sorted(_GOAL_FINISHED)),
    )


def action_items(
    school: School,
    pupil_ids,
    audiences: frozenset[Audience],
    today: dt.date | None = None,
) -> dict[int, PupilActions]:
    """Open items of each pupil, with the due steps, in a fixed number of queries (for the
    rows a page shows)."""
    today = today or progress.current_date()
    pupil_ids = list(pupil_ids)
    result = open_items(school, pupil_ids, audiences, today)
    if pupil_ids:
        states = progress.of_pupils(school.id, pupil_ids, current_only=True, today=today)
        for pupil_id, item in result.items():
            item.due = states[pupil_id].flagged
    return result


def action_counts(
    school: School,
    pupil_ids,
    audiences: frozenset[Audience],
    today: dt.date | None = None,
) -> dict[int, PupilActions]:
    """Open items of each pupil for counting, filtering and sorting a whole list: the due
    steps come from `progress_store.summaries` (one stored row per pupil), not from loaded steps."""
    today = today or progress.current_date()
    pupil_ids = list(pupil_ids)
    result = open_items(school, pupil_ids, audiences, today)
    if pupil_ids:
        summaries = progress_store.summaries(school.id, pupil_ids, today)
        for pupil_id, item in result.items():
            item.summary = summaries.get(pupil_id, progress.Summary(None, progress.Figure()))
    return result


def open_items(
    school: School, pupil_ids: list[int], audiences: frozenset[Audience], today: dt.date
) -> dict[int, PupilActions]:
    """Entries waiting for feedback, placements without evaluation and overdue goals of each
    pupil (two queries; the due steps are the callers')."""
    result: dict[int, PupilActions] = {pid: PupilActions() for pid in pupil_ids}
    if not pupil_ids:
        return result
    rows = db.session.execute(
        sa.select(Entry.pupil_id, Entry.kind, sa.func.count(Entry.id))
        .where(
            Entry.school_id == school.id,
            idlist.match(Entry.pupil_id, pupil_ids),
            asked_clause(audiences),
        )
        .group_by(Entry.pupil_id, Entry.kind)
    )
    for pupil_id, kind, n in rows:
        result[pupil_id].waiting += n
        result[pupil_id].waiting_kinds.add(kind)

    # The rules in SQL: rows only for the pupils with something open, counted there.
    placement, goal = placement_lacks_evaluation(today), goal_overdue(today)
    rows = db.session.execute(
        sa.select(
            Entry.pupil_id,
            sa.func.count().filter(placement),
            sa.func.count().filter(goal),
            sa.func.min(Entry.next_due_on).filter(goal),
        )
        .where(
            Entry.school_id == school.id,
            idlist.match(Entry.pupil_id, pupil_ids),
            Entry.may_be_open_item(),
            shared_clause(Entry, audiences),
            sa.or_(placement, goal),
        )
        .group_by(Entry.pupil_id)
    )
    for pupil_id, placements, goals, since in rows:
        item = result[pupil_id]
        item.placements_without_evaluation = placements
        item.goals_overdue = goals
        item.goal_overdue_since = since
    return result


def counted_totals(
    school: School, pupil_ids, audiences: frozenset[Audience], today: dt.date | None = None
) -> tuple[dict[str, int], frozenset[str]]:
    """What `totals` gives for the pupils' items, and the elements any of them documented,
    counted in SQL without items per pupil (a class of 1,500 in the order by name): the due
    steps per pattern of the stored summaries (`progress_store.patterns`), the open items
    per rule as numbers of distinct pupils. Three statements when every summary is stored."""
    today = today or progress.current_date()
    pupil_ids = list(pupil_ids)
    counts: dict[str, int] = dict.fromkeys(FILTERS, 0)
    documented: set[str] = set()
    if not pupil_ids:
        return counts, frozenset()
    for summary, n in progress_store.patterns(school.id, pupil_ids, today):
        counts["due"] += n if summary.due_steps else 0
        for element_key in summary.due:
            counts[DUE_PREFIX + element_key] = counts.get(DUE_PREFIX + element_key, 0) + n
        documented |= summary.documented
    waiting = asked_clause(audiences)
    shared = shared_clause(Entry, audiences)
    placement = sa.and_(shared, placement_lacks_evaluation(today))
    goal = sa.and_(shared, goal_overdue(today))
    pupils = sa.distinct(Entry.pupil_id)
    row = db.session.execute(
        sa.select(
            sa.func.count(pupils).filter(waiting),
            sa.func.count(pupils).filter(placement),
            sa.func.count(pupils).filter(goal),
        ).where(
            Entry.school_id == school.id,
            idlist.match(Entry.pupil_id, pupil_ids),
            Entry.may_be_open_item(),
            sa.or_(waiting, placement, goal),
        )
    ).one()
    counts["feedback"], counts["placement"], counts["goal"] = row
    return counts, frozenset(documented)


def totals(items) -> dict[str, int]:
    """Per filter, how many pupils need that action (for class lists and filter links);
    "due:<element key>" per element with a due step."""
    counts: dict[str, int] = dict.fromkeys(FILTERS, 0)
    for item in items:
        # What `matches` asks for each filter, read once per pupil (lists of 1,500).
        due_keys = item.due_keys
        counts["due"] += item.due_count > 0
        counts["feedback"] += item.waiting > 0
        counts["placement"] += item.placements_without_evaluation > 0
        counts["goal"] += item.goals_overdue > 0
        for element_key in due_keys:
            counts[DUE_PREFIX + element_key] = counts.get(DUE_PREFIX + element_key, 0) + 1
    return counts
