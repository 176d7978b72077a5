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
import functools
from dataclasses import dataclass, field

import sqlalchemy as sa

from portfolio import collation, idlist, progress, progress_store
from portfolio.access import asked_clause, shared_clause
from portfolio.extensions import db
from portfolio.i18n import _l
from portfolio.models import (
    Audience,
    ClassMembership,
    Entry,
    EntryKind,
    EntryStatus,
    PupilStatus,
    School,
    User,
)

#: Filters of the class overview: key -> label. "due:<element key>" filters one element.
FILTERS: dict[str, object] = {
    "due": _l("Step due"),
    "feedback": _l("Waiting for feedback"),
    "placement": _l("Placement without evaluation"),
    "goal": _l("Goal overdue"),
}
DUE_PREFIX = "due:"
#: The values of the statements built once per shape (`_ranked_sql`, `_place_sql`,
#: `_rule_totals_sql`, `_open_items_sql`): the school, the day (also as ISO text); the
#: pupils are a parameter of their own (`idlist.ids_param`).
_SCHOOL = sa.bindparam("school_id", type_=sa.Integer)
_TODAY = sa.bindparam("today", type_=sa.Date)
_TODAY_TEXT = sa.bindparam("today_text", type_=sa.String)
#: How many statement shapes (order, filter, audiences, database) each process keeps per
#: statement: a few dozen are in use (three orders, two directions, a dozen filters).
_SHAPES = 256
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
        sa.or_(end == "", end < (_TODAY_TEXT if today is _TODAY else today.isoformat())),
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


@functools.lru_cache(maxsize=_SHAPES)
def _open_items_sql(dialect: str, audiences: frozenset[Audience]) -> tuple[sa.Select, sa.Select]:
    """The two statements of `open_items` for the viewer's audiences, built once per
    process (as `_ranked_sql`; parameters: `_values`)."""
    ids = idlist.ids_param("ids")
    waiting = (
        sa.select(Entry.pupil_id, Entry.kind, sa.func.count(Entry.id))
        .where(
            Entry.school_id == _SCHOOL,
            idlist.match(Entry.pupil_id, ids),
            asked_clause(audiences),
        )
        .group_by(Entry.pupil_id, Entry.kind)
    )
    # The rules in SQL: rows only for the pupils with something open, counted there.
    placement, goal = placement_lacks_evaluation(_TODAY), goal_overdue(_TODAY)
    flagged = (
        sa.select(
            Entry.pupil_id,
            sa.func.count().filter(placement),
            sa.func.count().filter(goal),
            sa.func.min(Entry.next_due_on).filter(goal),
        )
        .where(
            *_open_entries(ids, (placement, goal)),
            shared_clause(Entry, audiences),
        )
        .group_by(Entry.pupil_id)
    )
    return waiting, flagged


def open_items(
    school: School, pupil_ids: list[int], audiences: frozenset[Audience], today: dt.date
) -> dict[int, PupilActions]:
    """Entries waiting for feedback, placements without evaluation and overdue goals of each
    pupil (two queries; the due steps are the callers')."""
    result: dict[int, PupilActions] = {pid: PupilActions() for pid in pupil_ids}
    if not pupil_ids:
        return result
    waiting, flagged = _open_items_sql(idlist.dialect(), audiences)
    values = _values(school, today, pupil_ids)
    for pupil_id, kind, n in db.session.execute(waiting, values):
        result[pupil_id].waiting += n
        result[pupil_id].waiting_kinds.add(kind)
    for pupil_id, placements, goals, since in db.session.execute(flagged, values):
        item = result[pupil_id]
        item.placements_without_evaluation = placements
        item.goals_overdue = goals
        item.goal_overdue_since = since
    return result


def _in_class(class_id) -> sa.Select:
    """SELECT of the ids of the class's pupils, active or not (`class_id`: a value or a
    bound parameter)."""
    return sa.select(ClassMembership.pupil_id).where(ClassMembership.class_id == class_id)


def _active_in_class(class_id) -> tuple[sa.ColumnElement[bool], ...]:
    """WHERE on `User`: the class's active pupils."""
    return idlist.match_select(
        User.id, _in_class(class_id)
    ), User.status == PupilStatus.ACTIVE.value


def class_members(class_id: int) -> sa.Select:
    """SELECT of the class's active pupils: id, last name, first name."""
    return sa.select(User.id, User.last_name, User.first_name).where(*_active_in_class(class_id))


def _rules(audiences: frozenset[Audience], today: dt.date) -> tuple[sa.ColumnElement[bool], ...]:
    """SQL: an entry waits for feedback, is a placement without evaluation, is an overdue
    goal, as the viewer's `audiences` see it (the three filters besides "due")."""
    shared = shared_clause(Entry, audiences)
    return (
        asked_clause(audiences),
        sa.and_(shared, placement_lacks_evaluation(today)),
        sa.and_(shared, goal_overdue(today)),
    )


#: The filters of `_rules`, in their order.
_RULE_FILTERS = ("feedback", "placement", "goal")


def _open_entries(ids: sa.BindParameter, rules) -> tuple:
    """WHERE: the entries of the pupils `ids` of the school `_SCHOOL` that some rule flags
    (read through `ix_entry_open_items`)."""
    return (
        Entry.school_id == _SCHOOL,
        idlist.match(Entry.pupil_id, ids),
        Entry.may_be_open_item(),
        sa.or_(*rules),
    )


def due_totals(
    school: School, pupil_ids: list[int], today: dt.date
) -> tuple[dict[str, int], frozenset[str]]:
    """The counts of `totals` without the entries' rules (those stay 0): the pupils with
    a due step, per element, from the stored summaries counted per pattern
    (`progress_store.patterns`, which stores the missing ones first); and the elements
    any of them documented."""
    counts: dict[str, int] = dict.fromkeys(FILTERS, 0)
    documented: set[str] = set()
    for summary, n in progress_store.patterns(school.id, pupil_ids, today):
        counts["due"] += n if summary.due_steps else 0
        for element_key in summary.due:
            counts[DUE_PREFIX + element_key] = counts.get(DUE_PREFIX + element_key, 0) + n
        documented |= summary.documented
    return counts, frozenset(documented)


@functools.lru_cache(maxsize=_SHAPES)
def _rule_totals_sql(dialect: str, audiences: frozenset[Audience]) -> sa.Select:
    """The statement of `rule_totals`, built once per process (parameters: `_values`)."""
    rules = _rules(audiences, _TODAY)
    pupils = sa.distinct(Entry.pupil_id)
    return sa.select(*(sa.func.count(pupils).filter(rule) for rule in rules)).where(
        *_open_entries(idlist.ids_param("ids"), rules)
    )


def rule_totals(
    school: School, pupil_ids: list[int], audiences: frozenset[Audience], today: dt.date
) -> dict[str, int]:
    """Per rule filter ("feedback", "placement", "goal"), how many of the pupils it flags
    (one statement)."""
    row = db.session.execute(
        _rule_totals_sql(idlist.dialect(), audiences), _values(school, today, pupil_ids)
    ).one()
    return dict(zip(_RULE_FILTERS, row, strict=True))


def counted_totals(
    school: School, pupil_ids, audiences: frozenset[Audience], today: dt.date | None = None
) -> tuple[dict[str, int], frozenset[str]]:
    """What `totals` gives for the pupils' items, and the elements any of them documented,
    counted in SQL without items per pupil (a class of 1,500 in the order by name):
    `due_totals` and `rule_totals`. Three statements when every summary is stored."""
    today = today or progress.current_date()
    pupil_ids = list(pupil_ids)
    if not pupil_ids:
        return dict.fromkeys(FILTERS, 0), frozenset()
    counts, documented = due_totals(school, pupil_ids, today)
    counts.update(rule_totals(school, pupil_ids, audiences, today))
    return counts, documented


def _int_div(a, b) -> sa.ColumnElement[int]:
    """SQL: the whole part of a / b for integers, on both databases (`//` would be FLOOR(),
    which SQLite may lack); bound as tightly as `*`, so that `(x + 1) / 2` keeps its
    parentheses."""
    return a.op("/", precedence=8, return_type=sa.Integer)(b)


def _percent(done, total) -> sa.ColumnElement[int]:
    """SQL: `progress.Figure.percent` exactly: 100 * done / total rounded half to even, as
    Python's round() does (0 without a total), in integers on either database."""
    scaled = done * 100
    whole = _int_div(scaled, sa.func.nullif(total, 0))
    twice_rest = (scaled - whole * total) * 2
    return sa.case(
        (total == 0, 0),
        (twice_rest > total, whole + 1),
        (twice_rest == total, whole + whole % 2),
        else_=whole,
    )


@dataclass
class Ranked:
    """One page of pupils from `ranked`."""

    #: (id, last name, first name) of the page's pupils, in order.
    names: list[tuple[int, str, str]]
    #: How many pupils match the filter (on every page).
    shown: int
    #: `rule_totals` over every pupil, read with the page.
    rule_counts: dict[str, int]
    #: The open items of the page's pupils (`open_items`, read with the page).
    items: dict[int, PupilActions] = field(default_factory=dict)


def _listed(
    audiences: frozenset[Audience],
    filter_key: str | None,
    ids: sa.BindParameter | sa.Select,
    *,
    entries: bool = True,
    pupils: tuple[sa.ColumnElement[bool], ...] | None = None,
) -> tuple[sa.CTE, sa.ColumnElement[bool]]:
    """The CTE "listed" of `ranked` and `place`: one row per pupil with what the overview
    sorts and filters by (names, percent, done, open items, each rule's count, the due
    elements), and the SQL of `PupilActions.matches(filter_key)` over it. The school and
    the day are bound parameters (`_SCHOOL`, `_TODAY`, `_TODAY_TEXT`); the pupils (`ids`)
    one too (`idlist.ids_param`), or a SELECT of their ids. `pupils`, if given, chooses
    the listed pupils instead of `ids` (WHERE on `User`; `ids` may then hold more, whose
    entries are read but not listed).

    `entries=False` reads the stored summaries alone: the rules' counts are 0 and "open"
    counts the due steps only (for an order and filter that use neither)."""
    summary = progress_store.fresh_rows(_SCHOOL, _TODAY)
    graded = summary.c.grade.is_not(None)  # (a summary without a grade counts nothing)

    def of_summary(column):
        return sa.case((graded, column), else_=0)

    due_steps = of_summary(summary.c.due_steps)
    done, total = of_summary(summary.c.done), of_summary(summary.c.total)
    if entries:
        rules = _rules(audiences, _TODAY)
        waiting, _placement, goal = rules
        items = (
            sa.select(
                Entry.pupil_id,
                *(
                    sa.func.count().filter(rule).label(name)
                    for name, rule in zip(_RULE_FILTERS, rules, strict=True)
                ),
                # What `open_items` gives beside the counts: the kinds waiting, the oldest
                # goal.
                sa.func.aggregate_strings(Entry.kind, " ").filter(waiting).label("waiting_kinds"),
                sa.func.min(Entry.next_due_on).filter(goal).label("goal_since"),
            )
            .where(*_open_entries(ids, rules))
            .group_by(Entry.pupil_id)
            .subquery("items")
        )
        flagged = {name: sa.func.coalesce(items.c[name], 0) for name in _RULE_FILTERS}
        found = (items.c.waiting_kinds, items.c.goal_since)
    else:
        flagged = {name: sa.literal(0) for name in _RULE_FILTERS}
        found = (sa.null().label("waiting_kinds"), sa.null().label("goal_since"))
    listed = (
        sa.select(
            User.id,
            User.last_name,
            User.first_name,
            due_steps.label("due_steps"),
            sa.case((graded, summary.c.due), else_="").label("due"),
            _percent(done, total).label("percent"),
            done.label("done"),
            sum(flagged.values(), due_steps).label("open"),
            *(n.label(name) for name, n in flagged.items()),
            *found,
            summary.c.pupil_id.is_(None).label("unstored"),
        )
        .outerjoin(summary, summary.c.pupil_id == User.id)
        .where(*(pupils or (idlist.match(User.id, ids),)))
    )
    if entries:
        listed = listed.outerjoin(items, items.c.pupil_id == User.id)
    listed = listed.cte("listed")
    c = listed.c
    if filter_key and filter_key.startswith(DUE_PREFIX):
        key = filter_key[len(DUE_PREFIX) :]
        matching = (" " + c.due + " ").contains(f" {key} ", autoescape=True)
    elif filter_key == "due":
        matching = c.due_steps > 0
    elif filter_key in _RULE_FILTERS:
        matching = c[filter_key] > 0
    else:
        matching = sa.true()
    return listed, matching


def _values(school: School, today: dt.date, pupil_ids=None, **more) -> dict:
    """The parameters of the statements built once per shape (`_ranked_sql`, `_place_sql`,
    `_rule_totals_sql`, `_open_items_sql`): school, day, the pupils if given, and `more`."""
    values = {"school_id": school.id, "today": today, "today_text": today.isoformat(), **more}
    if pupil_ids is not None:
        values["ids"] = list(pupil_ids)
    return values


@functools.lru_cache(maxsize=_SHAPES)
def _ranked_sql(
    dialect: str,
    audiences: frozenset[Audience],
    filter_key: str | None,
    sort: str,
    descending: bool,
    per_page: int,
) -> sa.Select:
    """The statement of `ranked` for one shape, built once per process (building it and
    its cache key took 3.6 ms of CPU per request for a class of 1,500; it is the same
    each time). Parameters: `_values` and "page". (`dialect`: the ids' parameter differs.)"""
    listed, matching = _listed(audiences, filter_key, idlist.ids_param("ids"))
    c = listed.c
    # How many match, whether a summary is missing, the rules' pupils: one row, also
    # when nobody matches or the page asked for is beyond the last.
    totals_row = sa.select(
        sa.func.count().filter(matching).label("shown"),
        sa.func.count().filter(c.unstored).label("unstored"),
        *(sa.func.count().filter(c[name] > 0).label(name) for name in _RULE_FILTERS),
    ).cte("totals")
    t = totals_row.c
    # The page asked for, or the last one (as `pagination.page_numbers`), in SQL.
    page = sa.bindparam("page", type_=sa.Integer)
    pages = _int_div(t.shown + (per_page - 1), per_page)
    last = sa.case((pages < 1, 1), else_=pages)
    number = sa.case((last < page, last), else_=page)
    offset = sa.select((number - 1) * per_page).scalar_subquery()
    chosen = (
        sa.select(
            c.id,
            c.last_name,
            c.first_name,
            c.percent,
            c.done,
            c.open,
            *(c[name] for name in _RULE_FILTERS),
            c.waiting_kinds,
            c.goal_since,
        )
        .where(matching)
        .order_by(*ranking(c, sort, descending))
        .limit(per_page)
        .offset(offset)
        .subquery("chosen")
    )
    return (
        sa.select(
            t.shown,
            t.unstored,
            *(t[name] for name in _RULE_FILTERS),
            chosen.c.id,
            chosen.c.last_name,
            chosen.c.first_name,
            *(chosen.c[name].label(f"{name}_n") for name in _RULE_FILTERS),
            chosen.c.waiting_kinds,
            chosen.c.goal_since,
        )
        .select_from(totals_row.outerjoin(chosen, sa.true()))
        .order_by(*ranking(chosen.c, sort, descending))
    )


def ranked(
    school: School,
    pupil_ids: list[int],
    audiences: frozenset[Audience],
    today: dt.date,
    *,
    filter_key: str | None,
    sort: str,
    descending: bool,
    page: int,
    per_page: int,
) -> Ranked | None:
    """One page of the pupils, filtered and sorted in SQL as `PupilActions.matches` and
    `services.sort_listed` do in Python: page `page` of `per_page` pupils (the last one
    if there are fewer pages). Sorted by progress (percent, then done) or by the number
    of open items; equal ones, and the order by name, in German name order. One
    statement, which also counts the pupils shown and those each rule flags
    (`rule_totals`), and gives the page's pupils their open items (`open_items`; the due
    steps are the caller's).

    Reads the stored summaries of `today` (`progress_store.fresh_rows`: the caller has
    counted them with `due_totals` first, which stores the missing ones). None when a
    pupil has no stored row (a concurrent write, a row that could not be stored): the
    caller then sorts in Python, which computes it."""
    if not pupil_ids:
        return Ranked([], 0, dict.fromkeys(_RULE_FILTERS, 0))
    statement = _ranked_sql(idlist.dialect(), audiences, filter_key, sort, descending, per_page)
    rows = db.session.execute(statement, _values(school, today, pupil_ids, page=page)).all()
    first = rows[0]
    if first.unstored:
        return None
    page_rows = [r for r in rows if r.id is not None]
    return Ranked(
        [(r.id, r.last_name, r.first_name) for r in page_rows],
        first.shown,
        {name: first._mapping[name] for name in _RULE_FILTERS},
        {
            r.id: PupilActions(
                waiting=r.feedback_n,
                waiting_kinds=set((r.waiting_kinds or "").split()),
                placements_without_evaluation=r.placement_n,
                goals_overdue=r.goal_n,
                goal_overdue_since=r.goal_since,
            )
            for r in page_rows
        },
    )


@dataclass
class Place:
    """Where one pupil stands in the class overview's order and filter (`place`)."""

    #: Whether the pupil is in the list at all.
    found: bool
    #: (id, last name, first name) of the pupils shown before and after, if any.
    previous: tuple[int, str, str] | None = None
    next: tuple[int, str, str] | None = None
    #: 1-based place among the pupils shown; None when the pupil does not match.
    position: int | None = None
    #: How many pupils match the filter.
    shown: int = 0
    #: How many pupils the class has.
    listed: int = 0


@functools.lru_cache(maxsize=_SHAPES)
def _place_sql(
    dialect: str,
    audiences: frozenset[Audience],
    filter_key: str | None,
    sort: str,
    descending: bool,
) -> sa.Select:
    """The statement of `place` for one shape, built once per process (as `_ranked_sql`).
    Parameters: "school_id", "today", "today_text" (`_values`), "class_id", "pupil_id".
    The class's pupils are read in the statement (`class_members`), not sent with it."""
    class_id = sa.bindparam("class_id", type_=sa.Integer)
    pupils = _active_in_class(class_id)
    if sort == "name" and not filter_key:  # the names alone
        listed = (
            sa.select(User.id, User.last_name, User.first_name, sa.false().label("unstored"))
            .where(*pupils)
            .cte("listed")
        )
        matching = sa.true()
    else:
        # The entries' rules only where the order or the filter asks for them (of every
        # member: those of a pupil who left are not listed).
        entries = sort == "open" or filter_key in _RULE_FILTERS
        listed, matching = _listed(
            audiences, filter_key, _in_class(class_id), entries=entries, pupils=pupils
        )
    c = listed.c
    order = ranking(c, sort, descending)
    hit = sa.case((matching, 1), else_=0)
    ordered = sa.select(
        c.id,
        c.last_name,
        c.first_name,
        hit.label("hit"),
        sa.func.row_number().over(order_by=order).label("rn"),
        # How many of those shown come up to here: her place, if she is shown.
        sa.func.sum(hit).over(order_by=order, rows=(None, 0)).label("k"),
    ).cte("ordered")
    o = ordered.c

    # Her row number, and those of the nearest pupils shown before and after her (each
    # over an alias of its own: uncorrelated, computed once).
    pupil_id = sa.bindparam("pupil_id", type_=sa.Integer)
    me_, before_, after_ = (ordered.alias(name) for name in ("me", "before", "after"))
    mine = sa.select(me_.c.rn).where(me_.c.id == pupil_id).correlate(None).scalar_subquery()
    before = (
        sa.select(sa.func.max(before_.c.rn))
        .where(before_.c.hit == 1, before_.c.rn < mine)
        .correlate(None)
        .scalar_subquery()
    )
    after = (
        sa.select(sa.func.min(after_.c.rn))
        .where(after_.c.hit == 1, after_.c.rn > mine)
        .correlate(None)
        .scalar_subquery()
    )
    totals = sa.select(
        sa.func.count().label("listed"),
        sa.func.count().filter(matching).label("shown"),
        sa.func.count().filter(c.unstored).label("unstored"),
    ).cte("totals")
    t = totals.c
    return (
        sa.select(t.listed, t.shown, t.unstored, o.id, o.last_name, o.first_name, o.hit, o.rn, o.k)
        .select_from(
            totals.outerjoin(ordered, sa.or_(o.id == pupil_id, o.rn == before, o.rn == after))
        )
        .order_by(o.rn)
    )


def place(
    school: School,
    class_id: int,
    audiences: frozenset[Audience],
    today: dt.date,
    *,
    filter_key: str | None,
    sort: str,
    descending: bool,
    pupil_id: int,
) -> Place | None:
    """ "Next pupil" on a pupil's page: the pupils of the class shown before and after
    `pupil_id` in the order and filter of `ranked`, her place among them and how many
    there are, in one statement (window functions over the class, whose pupils it reads
    itself), without reading every pupil's items into Python. A pupil who no longer
    matches the filter (just reviewed) keeps her place in the whole order, so "next" goes
    on from there.

    None when a pupil has no stored summary of `today` (as `ranked`: the caller then
    orders in Python, which computes it)."""
    statement = _place_sql(idlist.dialect(), audiences, filter_key, sort, descending)
    rows = db.session.execute(
        statement, _values(school, today, class_id=class_id, pupil_id=pupil_id)
    ).all()
    first = rows[0]
    if first.unstored:
        return None
    me = next((r for r in rows if r.id == pupil_id), None)
    if me is None:
        return Place(False, shown=first.shown, listed=first.listed)

    def who(row):
        return (row.id, row.last_name, row.first_name) if row is not None else None

    return Place(
        True,
        who(next((r for r in rows if r.id is not None and r.rn < me.rn), None)),
        who(next((r for r in rows if r.id is not None and r.rn > me.rn), None)),
        me.k if me.hit else None,
        first.shown,
        first.listed,
    )


def ranking(columns, sort: str, descending: bool) -> list:
    """ORDER BY of the class overview over `columns`: those of `ranked` (percent, done,
    open and the names), or a person model in the order by name."""
    names = collation.name_order(columns)
    if sort not in ("progress", "open"):  # by name
        return [term.desc() for term in names] if descending else names
    keys = [columns.percent, columns.done] if sort == "progress" else [columns.open]
    # Equal ones stay in name order, as a stable sort leaves them.
    return [k.desc() if descending else k for k in keys] + names


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
