"""Anonymous counts for the municipal coordination office.

Transition decisions: the latest signed (locked) Anschlussvereinbarung of each pupil,
counted by school, grade (the grade in which it was made) and decision. Participation:
per grade of this school year, how many pupils have done each standard element that is
due, the same numbers as the StuBO's school overview (both read portfolio/progress.py).
No names, no ids.

Disclosure control, as documented on the report page:
* Primary suppression: every count from 1 to 4, totals included, is shown as "< 5".
* Secondary suppression: a row or column (totals count as part of it) must never
  hold exactly one withheld number, or it could be worked out by subtraction; nor
  may its withheld numbers all be small ones whose sum is known and that could only
  be all 1 or all 4. In that case one more number of that line is withheld ("×"):
  the smallest count above zero, else the line's total. This repeats until no line
  needs more.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.kinds import AGREEMENT_DECISIONS
from portfolio.models import GRADE_ORDER, Agreement, School
from portfolio.review.dashboard import school_dashboard

THRESHOLD = 5
PRIMARY = "primary"
SECONDARY = "secondary"
NOT_STATED = "none"


@dataclass
class Cell:
    value: int
    suppressed: str | None = None  # PRIMARY, SECONDARY or None

    @property
    def display(self) -> str:
        if self.suppressed == PRIMARY:
            return f"< {THRESHOLD}"
        if self.suppressed == SECONDARY:
            return "×"
        return str(self.value)


@dataclass
class StepParticipation:
    """One due step of one grade: pupils done, not done, all (small counts withheld)."""

    name: str
    done: Cell
    not_done: Cell
    pupils: Cell


@dataclass
class GradeParticipation:
    grade: str
    steps: list[StepParticipation]


@dataclass
class SchoolReport:
    school: School
    grades: list[str]  # row labels; the last row is the total
    decisions: list[str]  # column keys; the last column is the total
    cells: list[list[Cell]]  # (len(grades) + 1) x (len(decisions) + 1)
    participation: list[GradeParticipation] = field(default_factory=list)

    @property
    def rows(self):
        labels = self.grades + [None]
        return list(zip(labels, self.cells, strict=False))


def decision_label(key: str) -> str:
    labels = dict(AGREEMENT_DECISIONS)
    if key == NOT_STATED:
        return _("Not stated")
    return str(labels.get(key, key))


def _needs_more(cells: list[list[Cell]], line: list[tuple[int, int]]) -> bool:
    """Whether a hidden count of the row or column could be worked out from the rest."""

    def at(pos) -> Cell:
        return cells[pos[0]][pos[1]]

    hidden = [p for p in line if at(p).suppressed]
    if len(hidden) == 1:
        return True
    total, inner = line[-1], line[:-1]
    if not hidden or at(total).suppressed:
        return False
    if any(at(p).suppressed != PRIMARY for p in hidden):
        return False
    # Only small counts hidden and the total known: their sum is known too.
    rest = at(total).value - sum(at(p).value for p in inner if not at(p).suppressed)
    return rest in (len(hidden), (THRESHOLD - 1) * len(hidden))


def _pick(cells: list[list[Cell]], line: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The cell to withhold as well: the smallest positive count, else the total."""

    def at(pos) -> Cell:
        return cells[pos[0]][pos[1]]

    total, inner = line[-1], line[:-1]
    open_inner = [p for p in inner if not at(p).suppressed]
    positive = sorted((p for p in open_inner if at(p).value > 0), key=lambda p: at(p).value)
    if positive:
        return positive[0]
    if not at(total).suppressed:
        return total
    return open_inner[0] if open_inner else None


def suppress(matrix: list[list[int]]) -> list[list[Cell]]:
    """The table with row and column totals added and small counts withheld."""
    n_rows, n_cols = len(matrix), len(matrix[0]) if matrix else 0
    full = [list(row) + [sum(row)] for row in matrix]
    full.append([sum(row[j] for row in full) for j in range(n_cols + 1)])
    cells = [[Cell(v, PRIMARY if 0 < v < THRESHOLD else None) for v in row] for row in full]
    lines = [[(i, j) for j in range(n_cols + 1)] for i in range(n_rows + 1)]
    lines += [[(i, j) for i in range(n_rows + 1)] for j in range(n_cols + 1)]
    changed = True
    while changed:
        changed = False
        for line in lines:
            chosen = _pick(cells, line) if _needs_more(cells, line) else None
            if chosen is not None:
                cells[chosen[0]][chosen[1]].suppressed = SECONDARY
                changed = True
    return cells


def decision_counts(school_ids: list[int]) -> dict[int, dict[tuple[str, str], int]]:
    """{school_id: {(grade, decision): n}} from each pupil's latest signed agreement."""
    latest = (
        sa.select(Agreement.pupil_id, sa.func.max(Agreement.number).label("number"))
        .where(Agreement.locked_at.is_not(None), Agreement.school_id.in_(school_ids))
        .group_by(Agreement.pupil_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            Agreement.school_id, Agreement.grade, Agreement.decision, sa.func.count(Agreement.id)
        )
        .join(
            latest,
            sa.and_(latest.c.pupil_id == Agreement.pupil_id, latest.c.number == Agreement.number),
        )
        .group_by(Agreement.school_id, Agreement.grade, Agreement.decision)
    )
    result: dict[int, dict[tuple[str, str], int]] = {sid: {} for sid in school_ids}
    for school_id, grade, decision, n in rows:
        key = (grade or "?", decision or NOT_STATED)
        result[school_id][key] = result[school_id].get(key, 0) + n
    return result


def participation(school: School) -> list[GradeParticipation]:
    """Per grade of this school year, the due steps the school organises and how many
    pupils have done them: the school overview's numbers, small counts withheld."""
    blocks = school_dashboard(school)
    result = []
    for block in blocks:
        steps = []
        for tally in block.total.stats:
            if not tally.counted:
                continue
            (done, not_done, pupils), _totals = suppress([[tally.done, tally.pupils - tally.done]])
            name = tally.name
            if tally.half:
                name = _("%(step)s (%(half)s)", step=name, half=tally.half_label)
            steps.append(StepParticipation(name, done, not_done, pupils))
        if steps:
            result.append(GradeParticipation(block.grade, steps))
    return result


def build_reports(schools: list[School]) -> list[SchoolReport]:
    counts = decision_counts([s.id for s in schools])
    reports = []
    for school in schools:
        data = counts.get(school.id, {})
        grades = sorted({g for g, _d in data}, key=lambda g: (GRADE_ORDER.get(g, 99), g))
        decisions = [key for key, _label in AGREEMENT_DECISIONS]
        if any(d == NOT_STATED for _g, d in data):
            decisions.append(NOT_STATED)
        extra = sorted({d for _g, d in data} - set(decisions))
        decisions += extra
        matrix = [[data.get((g, d), 0) for d in decisions] for g in grades]
        cells = suppress(matrix) if grades else []
        reports.append(SchoolReport(school, grades, decisions, cells, participation(school)))
    return reports


def report_csv(reports: list[SchoolReport]) -> bytes:
    """The reports as one CSV for Excel (UTF-8 with BOM, ';', CRLF)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    decisions = list(reports[0].decisions) if reports else [k for k, _l in AGREEMENT_DECISIONS]
    for report in reports[1:]:
        decisions += [d for d in report.decisions if d not in decisions]
    writer.writerow(
        [_("Schulnummer"), _("School"), _("Municipality"), _("Grade")]
        + [decision_label(d) for d in decisions]
        + [_("Total")]
    )
    for report in reports:
        for label, row in report.rows:
            by_key = dict(zip(report.decisions + ["__total"], row, strict=False))
            writer.writerow(
                [
                    report.school.schulnummer,
                    report.school.name,
                    report.school.municipality,
                    label if label is not None else _("all grades"),
                ]
                + [by_key[d].display if d in by_key else "0" for d in decisions]
                + [by_key["__total"].display]
            )
    writer.writerow([])
    writer.writerow(
        [_("Schulnummer"), _("School"), _("Municipality"), _("Grade")]
        + [_("Standard element"), _("Pupils"), _("Done"), _("Not done")]
    )
    for report in reports:
        for grade in report.participation:
            for step in grade.steps:
                writer.writerow(
                    [report.school.schulnummer, report.school.name, report.school.municipality]
                    + [grade.grade, step.name, step.pupils.display]
                    + [step.done.display, step.not_done.display]
                )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
