"""External assessment (Fremdeinschätzung): one-time links, answers, acceptance, comparison."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa

from portfolio import charts, progress
from portfolio.collation import name_order
from portfolio.extensions import db
from portfolio.kinds import RELATIONS
from portfolio.models import (
    AssessmentRequest,
    ClassMembership,
    Entry,
    EntryKind,
    EntryStatus,
    GuardianLink,
    SchoolYear,
    TeacherClass,
    User,
    utcnow,
)
from portfolio.notifications import services as notifications
from portfolio.reference import quality_name

LINK_DAYS = 14
RELATION_LABELS = dict(RELATIONS)


class LinkUnusable(Exception):
    """The link was used already or has expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "used" | "expired"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_request(
    pupil: User,
    rater_name: str,
    relation: str,
    rater_user_id: int | None = None,
    days: int = LINK_DAYS,
) -> tuple[AssessmentRequest, str]:
    """A new request; returns it with the token for the link (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    request = AssessmentRequest(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        token_hash=hash_token(token),
        rater_name=rater_name.strip(),
        relation=relation,
        rater_user_id=rater_user_id,
        grade=progress.pupil_grade(pupil),
        expires_at=utcnow() + dt.timedelta(days=days),
    )
    db.session.add(request)
    db.session.flush()
    return request, token


def find(token: str) -> AssessmentRequest | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(
        sa.select(AssessmentRequest).where(AssessmentRequest.token_hash == hash_token(token))
    )


def link_state(request: AssessmentRequest, now: dt.datetime | None = None) -> str:
    """open | used | expired."""
    if request.answered_at is not None:
        return "used"
    if request.expires_at <= (now or utcnow()):
        return "expired"
    return "open"


def submit_answer(request: AssessmentRequest, ratings: dict[str, int], comment: str) -> None:
    """Store the rater's answer once; a second or late submission changes nothing."""
    now = utcnow()
    state = link_state(request, now)
    if state != "open":
        raise LinkUnusable(state)
    # One conditional UPDATE, so two submissions at the same moment cannot both count.
    result = db.session.execute(
        sa.update(AssessmentRequest)
        .where(
            AssessmentRequest.id == request.id,
            AssessmentRequest.answered_at.is_(None),
            AssessmentRequest.expires_at > now,
        )
        .values(answered_at=now, answer={"ratings": ratings, "comment": comment.strip()})
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise LinkUnusable("used")
    notifications.assessment_answered(request)
    db.session.flush()


def requests_for(pupil: User) -> list[AssessmentRequest]:
    return list(
        db.session.scalars(
            sa.select(AssessmentRequest)
            .where(AssessmentRequest.pupil_id == pupil.id)
            .order_by(AssessmentRequest.created_at.desc(), AssessmentRequest.id.desc())
        )
    )


def pending_answers(requests: list[AssessmentRequest]) -> list[AssessmentRequest]:
    return [r for r in requests if r.answered_at and not r.accepted_at and not r.declined_at]


def accept(request: AssessmentRequest) -> Entry:
    """Put the answer into the portfolio as a private external-assessment entry."""
    if request.answer is None or request.accepted_at or request.declined_at:
        raise ValueError("nothing to accept")
    answer = request.answer
    entry = Entry(
        school_id=request.school_id,
        pupil_id=request.pupil_id,
        kind=EntryKind.EXTERNAL_ASSESSMENT.value,
        grade=request.grade,
        status=EntryStatus.DONE.value,
        data={
            "rater_name": request.rater_name,
            "relation": request.relation,
            "ratings": dict(answer.get("ratings") or {}),
            "comment": answer.get("comment", ""),
            "reflection": "",
        },
    )
    db.session.add(entry)
    db.session.flush()
    request.accepted_at = utcnow()
    request.entry_id = entry.id
    db.session.flush()
    return entry


def decline(request: AssessmentRequest) -> None:
    """The pupil does not want the answer: it is discarded, only the date stays."""
    if request.accepted_at or request.declined_at:
        raise ValueError("already decided")
    request.declined_at = utcnow()
    request.answer = None
    db.session.flush()


def withdraw(request: AssessmentRequest) -> None:
    """End an unanswered link now."""
    if request.answered_at is None:
        request.expires_at = utcnow()
        db.session.flush()


def rater_accounts(pupil: User) -> list[User]:
    """People with an account who could rate: the pupil's guardians and class teachers."""
    guardians = sa.select(GuardianLink.guardian_id).where(GuardianLink.pupil_id == pupil.id)
    teachers = (
        sa.select(TeacherClass.teacher_id)
        .join(ClassMembership, ClassMembership.class_id == TeacherClass.class_id)
        .join(SchoolYear, SchoolYear.id == ClassMembership.school_year_id)
        .where(ClassMembership.pupil_id == pupil.id, SchoolYear.is_current.is_(True))
    )
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.school_id == pupil.school_id,
                sa.or_(User.id.in_(guardians), User.id.in_(teachers)),
            )
            .order_by(*name_order(User))
        )
    )


# -- comparison: self and others per quality, over time ------------------------------------
@dataclass
class Comparison:
    qualities: list  # Quality rows
    series: list[charts.Series] = field(default_factory=list)
    #: (quality name, self label, [(other label, their scale value)]) where views differ.
    differences: list[tuple[str, int, list[tuple[str, int]]]] = field(default_factory=list)


def comparison(pupil: User, qualities: list, entries: list[Entry]) -> Comparison:
    """Self-assessments and accepted external ones as series, oldest first, and where
    others see the pupil two steps or more from her latest own view."""
    result = Comparison(qualities=qualities, series=charts.series_from_entries(entries))
    own = [s for s in result.series if s.is_self]
    if own:
        latest = own[-1]
        others = [s for s in result.series if not s.is_self]
        for q in qualities:
            mine = latest.values.get(q.key)
            if mine is None:
                continue
            diff = [
                (s.label, s.values[q.key])
                for s in others
                if q.key in s.values and abs(s.values[q.key] - mine) >= 2
            ]
            if diff:
                result.differences.append((quality_name(q), mine, diff))
    return result
