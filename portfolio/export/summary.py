"""The one-page family summary: where the child stands, what was agreed, what comes next."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
class FamilySummary:
    pupil: User
    school_class: SchoolClass | None
    exported_on: str
    progress: progress.PupilProgress  # the elements the school organises
    agreement: Agreement | None  # shown as display.agreement_view(brief=True)
    steps: list[progress.NextStep] = field(default_factory=list)
    more_steps: int = 0
    rtl: bool = False


def _steps(access: PupilAccess, agreement: Agreement | None) -> list[progress.NextStep]:
    """The open steps the viewer may see (progress.upcoming_steps), texts shortened."""
    pupil = access.pupil
    goals = db.session.scalars(
        sa.select(Entry).where(
            Entry.pupil_id == pupil.id,
            Entry.kind == EntryKind.GOAL.value,
            access.visible_clause(Entry),
        )
    )
    records = db.session.scalars(
        sa.select(GuidanceRecord)
        .where(GuidanceRecord.pupil_id == pupil.id, access.visible_clause(GuidanceRecord))
        .order_by(GuidanceRecord.held_on.desc(), GuidanceRecord.id.desc())
    )
    steps = progress.upcoming_steps(
        agreement=(agreement.data, _("Transition agreement")) if agreement is not None else None,
        goals=[
            (g.data, _("Goal: %(goal)s", goal=shorten((g.data or {}).get("goal"), 30)))
            for g in goals
        ],
        records=[(r.next_steps, _("Guidance session")) for r in records],
    )
    return [replace(s, text=shorten(s.text, STEP_LIMIT)) for s in steps]


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
