"""The StuBO's school overview (with its CSV) and the counsellor's caseload.

Both take a fixed number of queries for any number of pupils.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import sqlalchemy as sa

from portfolio import access, progress
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import (
    GRADE_ORDER,
    Agreement,
    Audience,
    ClassMembership,
    PupilStatus,
    School,
    SchoolClass,
    SchoolYear,
    StandardElement,
    User,
)
from portfolio.reference import element_name
from portfolio.review.actions import PupilActions, action_items, agreement_due
from portfolio.review.services import PUPIL_LIST


@dataclass
class ElementStat:
    element: StandardElement
    done: int = 0
    in_progress: int = 0
    open: int = 0

    @property
    def total(self) -> int:
        return self.done + self.in_progress + self.open

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


@dataclass
class GroupStats:
    """One class, or a whole grade: per element how many pupils are how far."""

    label: str
    pupils: int
    stats: list[ElementStat]


@dataclass
class GradeBlock:
    grade: str
    total: GroupStats
    classes: list[GroupStats]


@dataclass
class MissingAgreement:
    pupil: User
    school_class: SchoolClass
    overdue: bool
    deadline: dt.date | None


def _stats(label: str, elements, pupil_ids, states) -> GroupStats:
    stats = [ElementStat(el) for el in elements]
    for pid in pupil_ids:
        for stat in stats:
            state = states.get(pid, {}).get(stat.element.key)
            value = state.state if state else progress.OPEN
            if value == progress.DONE:
                stat.done += 1
            elif value == progress.IN_PROGRESS:
                stat.in_progress += 1
            else:
                stat.open += 1
    return GroupStats(label, len(pupil_ids), stats)


def _members(school: School):
    """(pupil, class) of every active pupil in this school year's classes (one query)."""
    return db.session.execute(
        sa.select(User, SchoolClass)
        .join(ClassMembership, ClassMembership.pupil_id == User.id)
        .join(SchoolClass, SchoolClass.id == ClassMembership.class_id)
        .join(SchoolYear, SchoolYear.id == SchoolClass.school_year_id)
        .where(
            SchoolClass.school_id == school.id,
            SchoolYear.is_current.is_(True),
            User.status == PupilStatus.ACTIVE.value,
        )
        .order_by(User.last_name, User.first_name, User.id)
        .options(PUPIL_LIST)
    ).all()


def school_dashboard(school: School, today: dt.date | None = None):
    """Per grade and class, how far each element is; and who has no signed agreement."""
    today = today or dt.date.today()
    members = _members(school)
    classes = list(
        db.session.scalars(
            sa.select(SchoolClass)
            .join(SchoolYear, SchoolYear.id == SchoolClass.school_year_id)
            .where(SchoolClass.school_id == school.id, SchoolYear.is_current.is_(True))
        )
    )
    ids = [p.id for p, _c in members]
    states = progress.element_states(school.id, ids) if ids else {}
    by_class: dict[int, list[int]] = {c.id: [] for c in classes}
    for pupil, cls in members:
        by_class[cls.id].append(pupil.id)

    blocks = []
    for grade in sorted({c.grade for c in classes}, key=lambda g: GRADE_ORDER.get(g, 0)):
        elements = progress.elements_for_grade(school.id, grade)
        grade_classes = sorted((c for c in classes if c.grade == grade), key=lambda c: c.name)
        all_ids = [pid for c in grade_classes for pid in by_class[c.id]]
        blocks.append(
            GradeBlock(
                grade,
                _stats(grade, elements, all_ids, states),
                [_stats(c.name, elements, by_class[c.id], states) for c in grade_classes],
            )
        )

    signed = set(
        db.session.scalars(
            sa.select(Agreement.pupil_id)
            .distinct()
            .where(Agreement.school_id == school.id, Agreement.locked_at.is_not(None))
        )
    )
    missing = []
    for pupil, cls in members:
        if GRADE_ORDER.get(cls.grade, 0) >= 9 and pupil.id not in signed:
            overdue, deadline = agreement_due(school, cls.grade, today)
            missing.append(MissingAgreement(pupil, cls, overdue, deadline))
    missing.sort(
        key=lambda m: (
            GRADE_ORDER.get(m.school_class.grade, 0),
            m.school_class.name,
            m.pupil.last_name,
            m.pupil.first_name,
        )
    )
    return blocks, missing


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
                        _cell(element_name(stat.element)),
                        group.pupils,
                        stat.done,
                        stat.in_progress,
                        stat.open,
                        stat.percent,
                    ]
                )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# -- counsellor caseload ---------------------------------------------------------------------
@dataclass
class CaseRow:
    pupil: User
    school_class: SchoolClass | None
    percent: int
    actions: PupilActions


def caseload(counsellor: User, school: School, today: dt.date | None = None):
    """Assigned pupils with consent (with progress) and those without (names only)."""
    with_consent = access.counselled_pupils(counsellor, with_consent=True)
    pupils = list(
        db.session.scalars(
            sa.select(User)
            .where(User.id.in_(with_consent))
            .order_by(User.last_name, User.first_name)
            .options(PUPIL_LIST)
        )
    )
    no_consent = list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.id.in_(access.counselled_pupils(counsellor, with_consent=False)),
                User.id.not_in(with_consent),
            )
            .order_by(User.last_name, User.first_name)
            .options(PUPIL_LIST)
        )
    )
    ids = [p.id for p in pupils]
    classes = progress.current_classes(ids) if ids else {}
    states = progress.element_states(school.id, ids) if ids else {}
    grades = {pid: (classes[pid].grade if pid in classes else None) for pid in ids}
    items = action_items(school, grades, frozenset({Audience.COUNSELLOR}), today)
    rows = []
    for pupil in pupils:
        keys = [el.key for el in progress.elements_for_grade(school.id, grades[pupil.id])]
        rows.append(
            CaseRow(
                pupil,
                classes.get(pupil.id),
                progress.progress_percent(states.get(pupil.id, {}), keys),
                items[pupil.id],
            )
        )
    return rows, no_consent
