"""The StuBO's school overview (with its CSV) and the counsellor's caseload.

Both take a fixed number of queries for any number of pupils.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import sqlalchemy as sa

from portfolio import access, collation, progress
from portfolio.extensions import db
from portfolio.i18n import _
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
from portfolio.review.actions import PupilActions, action_items
from portfolio.review.services import PUPIL_LIST


@dataclass
class GroupStats:
    """One class, or a whole grade: per step how many pupils are how far."""

    label: str
    pupils: int
    stats: list[progress.StepTally]


@dataclass
class GradeBlock:
    grade: str
    total: GroupStats
    classes: list[GroupStats]


@dataclass
class MissingAgreement:
    """A pupil whose transition agreement of the current grade is not signed yet."""

    pupil: User
    school_class: SchoolClass
    step: progress.Step

    @property
    def overdue(self) -> bool:
        return self.step.overdue

    @property
    def deadline(self) -> dt.date | None:
        return self.step.due_by


def _stats(label: str, grade: str, elements, pupil_ids, states) -> GroupStats:
    return GroupStats(
        label, len(pupil_ids), progress.tally(grade, (states[p] for p in pupil_ids), elements)
    )


def _unsigned_agreement(pupil_progress: progress.PupilProgress) -> progress.Step | None:
    """The current grade's agreement step, if it is not signed and due or has a deadline."""
    current = pupil_progress.current
    for step in current.steps if current else []:
        if step.element.entry_kind == "agreement" and step.state != progress.DONE:
            if step.reached or step.due_by:
                return step
    return None


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
        .order_by(*collation.name_order(User))
        .options(PUPIL_LIST)
    ).all()


def school_dashboard(school: School, today: dt.date | None = None):
    """Per grade and class, how far each step is; and whose agreement is not signed."""
    today = today or progress.current_date()
    members = _members(school)
    classes = list(
        db.session.scalars(
            sa.select(SchoolClass)
            .join(SchoolYear, SchoolYear.id == SchoolClass.school_year_id)
            .where(SchoolClass.school_id == school.id, SchoolYear.is_current.is_(True))
        )
    )
    ids = [p.id for p, _c in members]
    states = progress.of_pupils(school.id, ids, current_only=True, today=today)
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
                _stats(grade, grade, elements, all_ids, states),
                [_stats(c.name, grade, elements, by_class[c.id], states) for c in grade_classes],
            )
        )

    missing = []
    for pupil, cls in members:
        step = _unsigned_agreement(states[pupil.id])
        if step is not None:
            missing.append(MissingAgreement(pupil, cls, step))
    missing.sort(
        key=lambda m: (
            GRADE_ORDER.get(m.school_class.grade, 0),
            m.school_class.name,
            collation.name_key(m.pupil),
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
                name = stat.name
                if stat.half:
                    name = _("%(step)s (%(half)s)", step=name, half=stat.half_label)
                writer.writerow(
                    [
                        _cell(block.grade),
                        _cell(class_name),
                        _cell(name),
                        group.pupils,
                        stat.done,
                        stat.in_progress,
                        stat.not_done,
                        stat.figure.percent if stat.counted else "",
                    ]
                )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


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


def caseload(counsellor: User, school: School, today: dt.date | None = None):
    """Assigned pupils with consent (with progress) and those without (names only)."""
    with_consent = access.counselled_pupils(counsellor, with_consent=True)
    pupils = list(
        db.session.scalars(
            sa.select(User)
            .where(User.id.in_(with_consent))
            .order_by(*collation.name_order(User))
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
            .order_by(*collation.name_order(User))
            .options(PUPIL_LIST)
        )
    )
    ids = [p.id for p in pupils]
    classes = progress.current_classes(ids) if ids else {}
    states = progress.of_pupils(school.id, ids, current_only=True, today=today)
    items = action_items(school, ids, frozenset({Audience.COUNSELLOR}), today)
    rows = [CaseRow(p, classes.get(p.id), states[p.id], items[p.id]) for p in pupils]
    return rows, no_consent
