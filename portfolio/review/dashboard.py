"""The StuBO's school overview (with its CSV and the list of pupils behind it) and the
counsellor's caseload.

A school of 1,500 pupils is read in a fixed number of queries, and the work does not
grow with the pupils in Python beyond counting: the overview counts per class and step
over one stored row per pupil (`progress_store.class_tallies`), and pupils are listed on
demand, one page at a time, filtered on those rows (`progress_store.summaries`); only the
pupils of the shown page get their steps loaded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import load_only

from portfolio import access, collation, idlist, progress, progress_store
from portfolio.extensions import db
from portfolio.i18n import _, _l, ngettext
from portfolio.models import (
    GRADE_ORDER,
    Audience,
    ClassMembership,
    PupilStatus,
    School,
    SchoolClass,
    SchoolYear,
    User,
)
from portfolio.pagination import Page, paginate
from portfolio.review.actions import PupilActions, action_counts, action_items
from portfolio.review.services import PUPIL_LIST


@dataclass
class GroupStats:
    """One class, or a whole grade: per step how many pupils are how far."""

    label: str
    pupils: int
    stats: list[progress.StepTally]
    school_class: SchoolClass | None = None

    @property
    def unsigned(self) -> int | None:
        """Pupils whose transition agreement of this grade waits for signatures (None when
        no agreement is due in the grade). The schedule has one agreement step a grade."""
        awaiting = [t for t in self.stats if t.awaits_signature]
        if not awaiting:
            return None
        return max(t.pupils - t.done for t in awaiting)


@dataclass
class GradeBlock:
    grade: str
    total: GroupStats
    classes: list[GroupStats]


def current_classes(school: School) -> list[SchoolClass]:
    """This school year's classes, by grade and name."""
    classes = db.session.scalars(
        sa.select(SchoolClass)
        .join(SchoolYear, SchoolYear.id == SchoolClass.school_year_id)
        .where(SchoolClass.school_id == school.id, SchoolYear.is_current.is_(True))
    )
    return sorted(classes, key=lambda c: (GRADE_ORDER.get(c.grade, 0), c.grade, c.name))


def school_dashboard(school: School, today: dt.date | None = None) -> list[GradeBlock]:
    """Per grade and class, how far each step is (three queries for any school size)."""
    classes = current_classes(school)
    tallies = progress_store.class_tallies(school.id, classes, today)
    blocks = []
    for grade in dict.fromkeys(c.grade for c in classes):
        in_grade = [c for c in classes if c.grade == grade]
        groups = [GroupStats(c.name, _pupils(tallies[c.id]), tallies[c.id], c) for c in in_grade]
        total = progress.add_tallies(g.stats for g in groups)
        blocks.append(
            GradeBlock(grade, GroupStats(grade, sum(g.pupils for g in groups), total), groups)
        )
    return blocks


def _pupils(tallies: list[progress.StepTally]) -> int:
    return tallies[0].pupils if tallies else 0


class CellTexts:
    """The texts of the overview's cells, translated once per page: a school of 1,500
    pupils has some 500 cells, and a translation per cell and text in the template costs
    more than the whole rest of the page. Plain strings, escaped where they are shown."""

    def __init__(self) -> None:
        self.done_of = _("%(done)d of %(total)d done (%(percent)d %%)")
        self.done_of_plain = _("%(done)d of %(total)d done")
        self.progress_due = _("%(progress)d in progress · %(open)d due")
        self.not_yet = _("not yet due")
        self.optional = _("optional")
        self.cell = _("%(element)s, %(group)s")
        self.whole_grade = _("Whole grade")
        self.class_name = _("Class %(name)s")
        self._took_part: dict[int, str] = {}

    def took_part(self, n: int) -> str:
        if n not in self._took_part:
            self._took_part[n] = ngettext("%(num)d pupil took part", "%(num)d pupils took part", n)
        return self._took_part[n]

    def row(self, group: GroupStats, whole: bool) -> str:
        return self.whole_grade if whole else self.class_name % {"name": group.label}

    def done(self, s: progress.StepTally) -> str:
        values = {"done": s.done, "total": s.pupils, "percent": s.figure.percent}
        return (self.done_of if s.counted else self.done_of_plain) % values

    def progress(self, s: progress.StepTally) -> str:
        if not s.counted:
            return self.not_yet
        return self.progress_due % {"progress": s.in_progress, "open": s.not_done}


# -- CSV for Excel -----------------------------------------------------------------------------
def _cell(value) -> str:
    """A CSV cell that Excel does not run as a formula."""
    text = str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def dashboard_csv(blocks: list[GradeBlock]) -> bytes:
    """The overview as CSV for Excel: UTF-8 with BOM, ';', CRLF, quoted where needed."""
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=";", quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n"
    )
    writer.writerow(
        [
            _("Grade"),
            _("Class"),
            _("Standard element"),
            _("Pupils"),
            _("Done"),
            _("In progress"),
            _("Open"),
            _("Done (%)"),
        ]
    )
    for block in blocks:
        for group, class_name in [(block.total, _("all classes"))] + [
            (c, c.label) for c in block.classes
        ]:
            for stat in group.stats:
                writer.writerow(
                    [
                        _cell(block.grade),
                        _cell(class_name),
                        _cell(stat.label),
                        group.pupils,
                        stat.done,
                        stat.in_progress,
                        stat.not_done,
                        stat.figure.percent if stat.counted else "",
                    ]
                )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# -- pupils on demand: the school's pupils, filtered, one page at a time -----------------------
#: What the StuBO's pupil list can show besides everybody: key -> label.
PUPIL_FILTERS: dict[str, object] = {
    "agreement": _l("Without a signed transition agreement"),
    "due": _l("Step due"),
}
DUE_PREFIX = "due:"


@dataclass
class ListedPupil:
    pupil: User
    school_class: SchoolClass
    progress: progress.PupilProgress
    actions: PupilActions

    @property
    def figure(self) -> progress.Figure:
        return self.progress.figure

    @property
    def agreement(self) -> progress.Step | None:
        """The agreement step of the current grade that waits for signatures, if any."""
        current = self.progress.current
        for step in current.steps if current else []:
            if step.element.entry_kind == "agreement" and step.state != progress.DONE:
                if step.reached or step.due_by:
                    return step
        return None


def parse_pupil_filter(value: str | None, element_keys) -> str | None:
    if value in PUPIL_FILTERS:
        return value
    if value and value.startswith(DUE_PREFIX) and value[len(DUE_PREFIX) :] in element_keys:
        return value
    return None


def _matches(summary: progress.Summary, show: str | None) -> bool:
    if not show:
        return True
    if show == "agreement":
        return summary.unsigned_agreement
    if show == "due":
        return bool(summary.due)
    return show[len(DUE_PREFIX) :] in summary.due


def _name_filter(query, q: str):
    """Every word of `q` in the first name, last name or username (case-insensitive)."""
    for word in (q or "").split()[:4]:
        pattern = f"%{word.casefold()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(User.first_name).like(pattern),
                sa.func.lower(User.last_name).like(pattern),
                sa.func.lower(User.username).like(pattern),
            )
        )
    return query


def school_pupils(
    school: School,
    *,
    class_id: int | None = None,
    grade: str | None = None,
    show: str | None = None,
    q: str = "",
    page: int = 1,
    today: dt.date | None = None,
) -> Page:
    """The school's pupils of this school year by class and name, filtered by class, grade,
    name and what is open (`PUPIL_FILTERS`, "due:<element>"); one page of `ListedPupil`."""
    query = (
        sa.select(User.id, SchoolClass.id)
        .join(ClassMembership, ClassMembership.pupil_id == User.id)
        .join(SchoolClass, SchoolClass.id == ClassMembership.class_id)
        .join(SchoolYear, SchoolYear.id == ClassMembership.school_year_id)
        .where(
            SchoolClass.school_id == school.id,
            SchoolYear.is_current.is_(True),
            User.status == PupilStatus.ACTIVE.value,
        )
        .order_by(
            sa.case(GRADE_ORDER, value=SchoolClass.grade, else_=99),
            SchoolClass.name,
            *collation.name_order(User),
        )
    )
    if class_id:
        query = query.where(SchoolClass.id == class_id)
    if grade:
        query = query.where(SchoolClass.grade == grade)
    found = db.session.execute(_name_filter(query, q)).all()
    if show:
        summaries = progress_store.summaries(school.id, [pid for pid, _cid in found], today)
        found = [
            (pid, cid) for pid, cid in found if pid in summaries and _matches(summaries[pid], show)
        ]
    chosen = paginate(found, page)
    ids = [pid for pid, _cid in chosen.items]
    if not ids:
        return chosen
    users = {
        u.id: u
        for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)).options(PUPIL_LIST))
    }
    classes = {
        c.id: c
        for c in db.session.scalars(
            sa.select(SchoolClass).where(SchoolClass.id.in_({cid for _p, cid in chosen.items}))
        )
    }
    states = progress.of_pupils(school.id, ids, current_only=True, today=today)
    items = action_items(school, ids, STUBO_AUDIENCE, today)
    chosen.items = [
        ListedPupil(users[pid], classes[cid], states[pid], items[pid]) for pid, cid in chosen.items
    ]
    return chosen


# -- counsellor caseload ---------------------------------------------------------------------
@dataclass
class CaseRow:
    pupil: User
    school_class: SchoolClass | None
    progress: progress.PupilProgress
    actions: PupilActions

    @property
    def figure(self) -> progress.Figure:
        return self.progress.figure


COUNSELLOR_AUDIENCE = frozenset({Audience.COUNSELLOR})
#: The StuBO's pupil list: what the pupils shared with the StuBO.
STUBO_AUDIENCE = frozenset({Audience.STUBO})


def caseload(
    counsellor: User,
    school: School,
    *,
    q: str = "",
    class_id: int | None = None,
    show: str | None = None,
    page: int = 1,
    today: dt.date | None = None,
) -> tuple[Page, list[User]]:
    """Assigned pupils with consent, one page of `CaseRow` (with progress), filtered by name,
    class and open items; and those without consent (names only)."""
    with_consent = access.counselled_pupils(counsellor, with_consent=True)
    query = (
        sa.select(User.id)
        .where(idlist.match_select(User.id, with_consent))
        .order_by(*collation.name_order(User))
    )
    if class_id:
        query = query.where(
            User.id.in_(
                sa.select(ClassMembership.pupil_id).where(ClassMembership.class_id == class_id)
            )
        )
    ids = list(db.session.scalars(_name_filter(query, q)))
    if show:
        items = action_counts(school, ids, COUNSELLOR_AUDIENCE, today)
        ids = [pid for pid in ids if items[pid].matches(show)]
    chosen = paginate(ids, page)
    no_consent = list(
        db.session.scalars(
            sa.select(User)
            .where(
                idlist.match_select(
                    User.id, access.counselled_pupils(counsellor, with_consent=False)
                )
            )
            .order_by(*collation.name_order(User))
            # (names only: the page lists them, a few hundred in a large caseload)
            .options(PUPIL_LIST, load_only(User.id, User.last_name, User.first_name))
        )
    )
    if chosen.items:
        page_ids = chosen.items
        users = {
            u.id: u
            for u in db.session.scalars(
                sa.select(User).where(User.id.in_(page_ids)).options(PUPIL_LIST)
            )
        }
        classes = progress.current_classes(page_ids)
        states = progress.of_pupils(school.id, page_ids, current_only=True, today=today)
        items = action_items(school, page_ids, COUNSELLOR_AUDIENCE, today)
        chosen.items = [CaseRow(users[p], classes.get(p), states[p], items[p]) for p in page_ids]
    return chosen, no_consent


def caseload_classes(counsellor: User) -> list[SchoolClass]:
    """The classes of this school year with pupils of the counsellor's caseload (a filter)."""
    return list(
        db.session.scalars(
            sa.select(SchoolClass)
            .join(ClassMembership, ClassMembership.class_id == SchoolClass.id)
            .join(SchoolYear, SchoolYear.id == SchoolClass.school_year_id)
            .where(
                idlist.match_select(
                    ClassMembership.pupil_id,
                    access.counselled_pupils(counsellor, with_consent=True),
                ),
                SchoolYear.is_current.is_(True),
            )
            .distinct()
            .order_by(SchoolClass.grade, SchoolClass.name)
        )
    )
