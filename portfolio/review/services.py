"""Queries and writes of the staff review: classes, class overview, pupil view, comments.

Every list here takes a fixed number of queries whatever the number of pupils.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import lazyload, selectinload

from portfolio import access, collation, progress, progress_store
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.kinds import SPECS, binder_order, entry_title, section_label
from portfolio.models import (
    Audience,
    ClassMembership,
    Comment,
    Document,
    Entry,
    EntryKind,
    PupilStatus,
    Quality,
    ReviewState,
    School,
    SchoolClass,
    Section,
    StandardElement,
    User,
    utcnow,
)
from portfolio.notifications import services as notifications
from portfolio.pagination import PER_PAGE, Page, page_arg, page_numbers, paginate
from portfolio.reference import element_name
from portfolio.review.actions import (
    DUE_PREFIX,
    FILTERS,
    Place,
    PupilActions,
    action_counts,
    class_members,
    counted_totals,
    due_totals,
    open_items,
    parse_filter,
    place,
    ranked,
    ranking,
    totals,
)

#: Pupils in lists are shown by name: their roles (otherwise a SELECT over every pupil's
#: roles with each list) are loaded only if something asks for them.
PUPIL_LIST = lazyload(User.role_rows)
SORTS = ("name", "progress", "open")


class ReviewError(ValueError):
    """A clear reason why a review action could not be done."""


# -- "My classes" ----------------------------------------------------------------------
@dataclass
class ClassSummary:
    school_class: SchoolClass
    pupils: int
    needs: dict[str, int]

    @property
    def needs_any(self) -> int:
        return sum(self.needs.values())


def class_summaries(user: User, school: School, today: dt.date | None = None) -> list[ClassSummary]:
    """The user's classes with how many pupils need each kind of action (a fixed number of
    queries: the counts come from one summary row per pupil, see `action_counts`)."""
    classes = list(
        db.session.scalars(
            access.overview_classes(user).order_by(SchoolClass.grade, SchoolClass.name)
        )
    )
    if not classes:
        return []
    by_id = {c.id: c for c in classes}
    rows = db.session.execute(
        sa.select(ClassMembership.pupil_id, ClassMembership.class_id)
        .join(User, User.id == ClassMembership.pupil_id)
        .where(ClassMembership.class_id.in_(list(by_id)), User.status == PupilStatus.ACTIVE.value)
    ).all()
    members: dict[int, list[int]] = {c.id: [] for c in classes}
    for pid, cid in rows:
        members[cid].append(pid)
    # What the user reads differs between classes they teach and the others (StuBO):
    # one set of queries per kind of class, at most two.
    by_audiences: dict[frozenset[Audience], list[int]] = {}
    for c in classes:
        by_audiences.setdefault(access.class_audiences(user, c.id), []).extend(members[c.id])
    items: dict[int, PupilActions] = {}
    for audiences, ids in by_audiences.items():
        items.update(action_counts(school, ids, audiences, today))
    return [
        ClassSummary(c, len(members[c.id]), totals(items[p] for p in members[c.id]))
        for c in classes
    ]


# -- class overview -----------------------------------------------------------------------
@dataclass
class PupilRow:
    pupil: User
    #: The pupil's progress as stored for the day (`progress_store.stored`).
    summary: progress.Summary
    actions: PupilActions
    #: Element key -> the pupil's steps of the class's grade (two for every half-year).
    cells: dict[str, list[progress.Step]] = field(default_factory=dict)
    waiting_elements: set[str] = field(default_factory=set)

    @property
    def figure(self) -> progress.Figure:
        return self.summary.figure


class Listed(NamedTuple):
    """A pupil of a list before the page is chosen: id and name, and what the list counts,
    filters and sorts by (no steps loaded)."""

    id: int
    last_name: str
    first_name: str
    actions: PupilActions

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def figure(self) -> progress.Figure:
        summary = self.actions.summary
        return summary.figure if summary else progress.Figure()


@dataclass
class ClassOverview:
    school_class: SchoolClass
    elements: list[StandardElement]
    #: The rows of the page shown: filtered, sorted, one page of them.
    rows: list[PupilRow]
    counts: dict[str, int]
    total: int
    page: Page = field(default_factory=Page)
    #: Every pupil of the class in the chosen order (for "next pupil" beyond the filter;
    #: empty on a page with rows, which comes from SQL: `_page_in_sql`).
    ordered: list[Listed] = field(default_factory=list)
    #: The ids of the pupils that match the filter, in the chosen order (every page;
    #: empty where `ordered` is).
    shown_ids: list[int] = field(default_factory=list)
    filter_key: str | None = None
    sort: str = "name"
    descending: bool = False
    #: Where one pupil stands, from SQL ("next pupil": `around`; `ordered` stays empty).
    place: Place | None = None

    def lists(self, pupil_id: int) -> bool:
        """Whether `pupil_id` is one of the class's pupils in this list."""
        if self.place is not None:
            return self.place.found
        return any(r.id == pupil_id for r in self.ordered)

    @property
    def args(self) -> dict[str, str]:
        """The URL arguments that bring back this view (filter, sort, direction, page)."""
        found = {"sort": self.sort, "dir": "desc" if self.descending else "asc"}
        if self.filter_key:
            found["filter"] = self.filter_key
        if self.page.page > 1:
            found["page"] = str(self.page.page)
        return found

    def args_at(self, pupil_id: int) -> dict[str, str]:
        """`args` with the page that lists `pupil_id` (the page in view if not shown)."""
        found = {k: v for k, v in self.args.items() if k != "page"}
        page = self.page.page
        position = self._position(pupil_id)
        if position:
            page = (position - 1) // self.page.per_page + 1
        if page > 1:
            found["page"] = str(page)
        return found

    def neighbours(self, pupil_id: int) -> Neighbours:
        """The pupils before and after `pupil_id` among those shown (on every page), in
        the shown order.

        A pupil who no longer matches the filter (just reviewed) keeps their place in
        the class's order, so "next" goes on from there.
        """
        if self.place is not None:  # from SQL (`actions.place`)
            p = self.place
            return Neighbours(
                Listed(*p.previous, _NOT_READ) if p.previous else None,
                Listed(*p.next, _NOT_READ) if p.next else None,
                p.position if p.found else None,
                p.shown,
            )
        shown = set(self.shown_ids)
        ids = [r.id for r in self.ordered]
        if pupil_id not in ids:
            return Neighbours(None, None, None, len(self.shown_ids))
        i = ids.index(pupil_id)
        before = [r for r in self.ordered[:i] if r.id in shown]
        after = [r for r in self.ordered[i + 1 :] if r.id in shown]
        position = self.shown_ids.index(pupil_id) + 1 if pupil_id in shown else None
        return Neighbours(
            before[-1] if before else None,
            after[0] if after else None,
            position,
            len(self.shown_ids),
        )

    def _position(self, pupil_id: int) -> int | None:
        """1-based place of `pupil_id` among the pupils shown (None: not shown)."""
        if self.place is not None:
            return self.place.position if self.place.found else None
        if pupil_id in self.shown_ids:
            return self.shown_ids.index(pupil_id) + 1
        return None

    @property
    def due_filters(self) -> list[tuple[str, StandardElement, int]]:
        """(filter key, element, pupils) for each element with a due step in the class."""
        found = []
        for el in self.elements:
            n = self.counts.get(DUE_PREFIX + el.key, 0)
            if n:
                found.append((DUE_PREFIX + el.key, el, n))
        return found

    @property
    def shown(self) -> int:
        """How many pupils match the filter (on all pages)."""
        return self.page.total

    def filter_label(self, key: str) -> str:
        if key in FILTERS:
            return str(FILTERS[key])
        element = next(el for el in self.elements if DUE_PREFIX + el.key == key)
        return _("%(step)s due, nothing documented", step=element_name(element))


@dataclass
class Neighbours:
    previous: Listed | None
    next: Listed | None
    #: 1-based place among the pupils shown, None when the pupil is not among them.
    position: int | None
    count: int


#: The items of the pupils a list in the order by name does not show: not read, and
#: shared by all of them (never changed; the page's rows get items of their own).
_NOT_READ = PupilActions()


def sort_listed(rows: list[Listed], sort: str, descending: bool) -> list[Listed]:
    """Rows in name order (`collation.name_order`, as the query gives them) sorted by
    progress, open items or the name (equal ones stay in name order)."""
    rows = list(rows)
    if sort == "progress":
        rows.sort(key=lambda r: (r.figure.percent, r.figure.done), reverse=descending)
    elif sort == "open":
        rows.sort(key=lambda r: r.actions.count, reverse=descending)
    elif descending:
        rows.reverse()
    return rows


def class_overview(
    cls: SchoolClass,
    school: School,
    *,
    audiences: frozenset[Audience],
    filter_key: str | None = None,
    sort: str = "name",
    descending: bool = False,
    page: int = 1,
    today: dt.date | None = None,
    with_rows: bool = True,
    around: int | None = None,
) -> ClassOverview:
    """Pupils x the school's standard elements of the class's grade, with open items of
    what the pupils shared with the viewer's `audiences` (access.class_audiences).

    The page with rows comes from SQL (`_page_in_sql`): the counts over every pupil, the
    page's 50 pupils filtered, sorted and cut there, then their open items and steps. A
    fixed number of queries for any class size.

    `with_rows=False` leaves the rows out (no steps loaded) and gives the whole order
    and the filter instead (`ordered`, `shown_ids`), for "next pupil" on a pupil's page:
    every pupil's items from one summary row each (`action_counts`), ordered in Python
    (`sort_listed`, `PupilActions.matches`): the same order as SQL's, and the way back
    when a summary is missing. In the order by name without a filter, the open items are
    not read and the counts stay empty. With `around` (a pupil's id), only where that
    pupil stands comes from SQL instead (`actions.place`, in `place`), when it can.
    """
    today = today or progress.current_date()
    members = class_members(cls.id)
    elements = progress.elements_for_grade(school.id, cls.grade)
    if with_rows:
        found = _page_in_sql(
            cls, school, members, elements, audiences, filter_key, sort, descending, page, today
        )
        if found is not None:
            return found
    elif around is not None:

        def where_is():
            return place(
                school,
                cls.id,
                audiences,
                today,
                filter_key=filter_key,
                sort=sort,
                descending=descending,
                pupil_id=around,
            )

        where = where_is()
        if where is None:  # a summary of the day is missing: store it (`stored`), ask again
            progress_store.stored(school.id, _member_ids(members), today)
            where = where_is()
        if where is not None:
            number, pages = page_numbers(where.shown, page)
            return ClassOverview(
                cls,
                elements,
                [],
                {},
                where.listed,
                Page([], number, pages, where.shown),
                filter_key=filter_key,
                sort=sort,
                descending=descending,
                place=where,
            )
    names = db.session.execute(members.order_by(*collation.name_order(User))).all()
    ids = [pid for pid, _last, _first in names]
    if sort == "name" and not filter_key:  # for "next pupil": the order alone
        items = dict.fromkeys(ids, _NOT_READ)
        counts, documented = totals([]), frozenset()
    else:  # sorting and filtering read every pupil's items
        items = action_counts(school, ids, audiences, today)
        counts = totals(items.values())
        documented = frozenset().union(*(i.summary.documented for i in items.values() if i.summary))
    listed = [Listed(pid, last, first, items[pid]) for pid, last, first in names]
    columns = _columns(elements, documented)
    ordered = sort_listed(listed, sort, descending)
    shown = [r for r in ordered if r.actions.matches(filter_key)]
    chosen = paginate(shown, page)
    rows = _rows(school, chosen.items, items, elements, today) if with_rows else []
    return ClassOverview(
        cls,
        columns,
        rows,
        counts,
        len(listed),
        chosen,
        ordered,
        [r.id for r in shown],
        filter_key,
        sort,
        descending,
    )


def _member_ids(members: sa.Select) -> list[int]:
    """The ids of the class's pupils (Core, not the ORM: 1,500 plain ids need no ORM
    result machinery)."""
    return db.session.connection().execute(members.with_only_columns(User.id)).scalars().all()


def _columns(elements: list[StandardElement], documented) -> list[StandardElement]:
    """The overview's columns: optional elements only when somebody in the class takes part."""
    return [el for el in elements if el.mandatory or el.key in documented]


def _page_in_sql(
    cls: SchoolClass,
    school: School,
    members: sa.Select,
    elements: list[StandardElement],
    audiences: frozenset[Audience],
    filter_key: str | None,
    sort: str,
    descending: bool,
    page: int,
    today: dt.date,
) -> ClassOverview | None:
    """The page of the overview with its rows, from SQL: the counts over every pupil
    (`due_totals` first, which also stores any missing summary of the day), the page's
    pupils filtered, sorted and cut (`actions.ranked`, which counts the rules' pupils on
    the way; in the order by name without a filter, the names alone and
    `counted_totals`), then the rows of those 50. A class of 1,500 reads 50 names, not
    1,500 (`ordered` and `shown_ids` stay empty: nobody reads them here). None when a
    summary could not be read from the database (sorted in Python then)."""
    ids = _member_ids(members)
    if sort == "name" and not filter_key:
        counts, documented = counted_totals(school, ids, audiences, today)
        number, pages = page_numbers(len(ids), page)
        names = db.session.execute(
            members.order_by(*ranking(User, "name", descending))
            .limit(PER_PAGE)
            .offset((number - 1) * PER_PAGE)
        ).all()
        shown = len(ids)
    else:
        counts, documented = due_totals(school, ids, today)
        found = ranked(
            school,
            ids,
            audiences,
            today,
            filter_key=filter_key,
            sort=sort,
            descending=descending,
            page=page,
            per_page=PER_PAGE,
        )
        if found is None:
            return None
        counts.update(found.rule_counts)
        names, shown, items = found.names, found.shown, found.items
        number, pages = page_numbers(shown, page)
    chosen = Page(
        [Listed(pid, last, first, _NOT_READ) for pid, last, first in names], number, pages, shown
    )
    if sort == "name" and not filter_key:
        items = open_items(school, [r.id for r in chosen.items], audiences, today)
    columns = _columns(elements, documented)
    return ClassOverview(
        cls,
        columns,
        _rows(school, chosen.items, items, elements, today),
        counts,
        len(ids),
        chosen,
        filter_key=filter_key,
        sort=sort,
        descending=descending,
    )


def _rows(school: School, chosen: list[Listed], items, elements, today) -> list[PupilRow]:
    """The full rows of the pupils on the page: their steps and due items."""
    ids = [r.id for r in chosen]
    if not ids:
        return []
    users = {
        u.id: u
        for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)).options(PUPIL_LIST))
    }
    # The steps as stored for the day (the counts above read the same rows): one statement,
    # not the progress model's three and its Python for 50 pupils.
    stored = progress_store.stored(school.id, ids, today)
    by_id = {el.id: el for el in progress.elements_for_school(school.id)}
    kind_to_key = {el.entry_kind or el.key: el.key for el in elements}
    rows = []
    for r in chosen:
        summary = stored[r.id]
        actions = items[r.id]
        actions.summary, actions.due = summary, []
        waiting = {kind_to_key[k] for k in actions.waiting_kinds if k in kind_to_key}
        rows.append(
            PupilRow(users[r.id], summary, actions, progress.cells_of(summary, by_id), waiting)
        )
    return rows


def overview_from_args(
    cls: SchoolClass,
    school: School,
    args,
    audiences: frozenset[Audience],
    *,
    with_rows: bool = True,
    around: int | None = None,
) -> ClassOverview:
    """The class overview as the URL arguments ask for it (unknown values: the defaults),
    with what the pupils shared with the viewer's `audiences` (access.class_audiences)."""
    element_keys = {el.key for el in progress.elements_for_grade(school.id, cls.grade)}
    filter_key = parse_filter(args.get("filter"), element_keys)
    sort = args.get("sort") if args.get("sort") in SORTS else "name"
    return class_overview(
        cls,
        school,
        audiences=audiences,
        filter_key=filter_key,
        sort=sort,
        descending=args.get("dir") == "desc",
        page=page_arg(args.get("page")),
        with_rows=with_rows,
        around=around,
    )


# -- the staff pupil view ------------------------------------------------------------------
def shared_entries(pupil_access: access.PupilAccess) -> list[Entry]:
    """What the pupil shared with the viewer, in Berufswahlpass order, comments loaded."""
    entries = db.session.scalars(
        sa.select(Entry)
        .where(Entry.pupil_id == pupil_access.pupil.id, pupil_access.visible_clause(Entry))
        .options(
            # The authors' names only: their roles (loaded with a user by default) are not
            # shown, and reading them cost a statement whenever another person commented.
            selectinload(Entry.comments).joinedload(Comment.author).lazyload(User.role_rows),
            selectinload(Entry.documents),
        )
    ).all()

    def key(e: Entry):
        return (*binder_order(e.kind), e.created_at, e.id)

    return sorted(entries, key=key)


def shared_documents_count(pupil_access: access.PupilAccess) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(Document.id)).where(
                Document.pupil_id == pupil_access.pupil.id, pupil_access.visible_clause(Document)
            )
        )
        or 0
    )


def pupil_progress(pupil: User) -> progress.PupilProgress:
    """The pupil's progress as staff see it: the elements the school organises."""
    return progress.of_pupil(pupil)


def mark_pupil_news_read(viewer: User, pupil: User) -> None:
    """Staff who open a pupil's page have seen the news about that pupil's entries (not
    what waits elsewhere, such as a signature)."""
    notifications.mark_read(viewer, pupil_id=pupil.id, targets=("entry", "pupil"))


# -- comments and reviews --------------------------------------------------------------------
def add_comment(entry: Entry, author: User, body: str) -> Comment:
    body = (body or "").strip()
    if not body:
        raise ReviewError("empty")
    comment = Comment(school_id=entry.school_id, entry_id=entry.id, author_id=author.id, body=body)
    db.session.add(comment)
    db.session.flush()
    notifications.comment_added(comment, author)
    return comment


def set_review(entry: Entry, reviewer: User, state: ReviewState, body: str = "") -> Comment | None:
    """Mark the entry reviewed or ask for a revision, with an optional comment.

    A revision request needs a comment that says what to revise. The pupil gets
    one notification for the whole action. Raises StaleDataError when the pupil
    changed the entry meanwhile.
    """
    if state not in (ReviewState.REVIEWED, ReviewState.REVISION):
        raise ReviewError("state")
    body = (body or "").strip()
    if state == ReviewState.REVISION and not body:
        raise ReviewError("revision-needs-comment")
    entry.review_state = state.value
    entry.reviewed_at = utcnow()
    comment = None
    if body:
        comment = Comment(
            school_id=entry.school_id, entry_id=entry.id, author_id=reviewer.id, body=body
        )
        db.session.add(comment)
    db.session.flush()
    notifications.entry_reviewed(entry, reviewer, state, comment)
    return comment


# -- the pupil view: shared entries in binder sections ----------------------------------------
@dataclass
class EntryView:
    entry: Entry
    kind_label: str
    title: str


def school_qualities(school_id: int) -> list[Quality]:
    return list(
        db.session.scalars(
            sa.select(Quality)
            .where(Quality.school_id == school_id, Quality.active.is_(True))
            .order_by(Quality.position)
        )
    )


def grouped_entries(entries: list[Entry]) -> list[tuple[str, list[EntryView]]]:
    """Entries grouped by Berufswahlpass section, in the order given."""
    groups: dict[Section, list[EntryView]] = {}
    for entry in entries:
        spec = SPECS.get(EntryKind(entry.kind))
        groups.setdefault(entry.section, []).append(
            EntryView(entry, str(spec.label) if spec else entry.kind, entry_title(entry))
        )
    return [(section_label(s), views) for s, views in groups.items()]
