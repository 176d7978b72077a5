"""The one-page family summary: where the child stands, what was agreed, what comes next."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import format_date
from sqlalchemy.orm import selectinload

from portfolio import progress
from portfolio.access import PupilAccess
from portfolio.extensions import db
from portfolio.i18n import _, is_rtl
from portfolio.models import Agreement, Entry, EntryKind, GuidanceRecord, SchoolClass, User, utcnow

#: Long texts are cut so that the summary stays on one page; the portfolio PDF has them whole.
TEXT_LIMIT = 180
STEP_LIMIT = 100
MAX_STEPS = 5


def shorten(text: str | None, limit: int = TEXT_LIMIT) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass
class Step:
    text: str
    due_on: dt.date | None
    source: str

    @property
    def overdue(self) -> bool:
        return self.due_on is not None and self.due_on < dt.date.today()


@dataclass
class FamilySummary:
    pupil: User
    school_class: SchoolClass | None
    exported_on: str
    progress: progress.PupilProgress  # the elements the school organises
    agreement: Agreement | None  # shown as display.agreement_view(brief=True)
    steps: list[Step] = field(default_factory=list)
    more_steps: int = 0
    rtl: bool = False


def _date(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _steps(access: PupilAccess, agreement: Agreement | None) -> list[Step]:
    pupil = access.pupil
    steps: list[Step] = []
    if agreement is not None:
        for item in (agreement.data or {}).get("steps") or []:
            if isinstance(item, dict) and item.get("text"):
                steps.append(
                    Step(
                        shorten(item["text"], STEP_LIMIT),
                        _date(item.get("due_on")),
                        _("Transition agreement"),
                    )
                )
    goals = db.session.scalars(
        sa.select(Entry).where(
            Entry.pupil_id == pupil.id,
            Entry.kind == EntryKind.GOAL.value,
            access.visible_clause(Entry),
        )
    )
    for goal in goals:
        data = goal.data or {}
        if data.get("state") in ("reached", "dropped"):
            continue
        for item in data.get("steps") or []:
            if isinstance(item, dict) and item.get("text") and item.get("done") != "yes":
                steps.append(
                    Step(
                        shorten(item["text"], STEP_LIMIT),
                        _date(item.get("due_on")),
                        _("Goal: %(goal)s", goal=shorten(data.get("goal"), 30)),
                    )
                )
    records = db.session.scalars(
        sa.select(GuidanceRecord).where(
            GuidanceRecord.pupil_id == pupil.id, access.visible_clause(GuidanceRecord)
        )
    )
    for record in records:
        for item in record.next_steps or []:
            if isinstance(item, dict) and item.get("text"):
                steps.append(
                    Step(
                        shorten(item["text"], STEP_LIMIT),
                        _date(item.get("due_on")),
                        _("Guidance session"),
                    )
                )
    steps.sort(key=lambda s: (s.due_on is None, s.due_on or dt.date.max))
    return steps


def family_summary(access: PupilAccess) -> FamilySummary:
    """The summary as the viewer may see it (goals and records only when shared)."""
    pupil = access.pupil
    school_class = progress.current_class(pupil)

    agreement = db.session.scalar(
        sa.select(Agreement)
        .where(Agreement.pupil_id == pupil.id, access.visible_clause(Agreement))
        .options(selectinload(Agreement.signatures))
        .order_by(Agreement.number.desc())
        .limit(1)
    )
    summary = FamilySummary(
        pupil=pupil,
        school_class=school_class,
        exported_on=format_date(utcnow(), "long"),
        progress=progress.of_pupil(pupil),
        agreement=agreement,
        rtl=is_rtl(),
    )
    steps = _steps(access, agreement)
    summary.steps, summary.more_steps = steps[:MAX_STEPS], max(0, len(steps) - MAX_STEPS)
    return summary
