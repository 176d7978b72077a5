"""Consents: who agreed to what, when, and when it was withdrawn.

Rows are never deleted or changed except to note a withdrawal; a new consent after a
withdrawal is a new row, so the history proves who decided what at which time.

Who decides (see ../shared/domain.md, "Data protection"): from the school's consent age
(`School.consent_age`, default 14) the pupil consents themself; below it, or when the
date of birth is unknown, a guardian does. Staff can record a consent or a withdrawal
that reached the school on paper; the row then says "staff" and who entered it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portfolio import clock
from portfolio.collation import name_order
from portfolio.extensions import db
from portfolio.i18n import _, _l
from portfolio.models import Consent, ConsentPurpose, School, User, utcnow
from portfolio.notifications import services as notifications

#: Purposes in the order they are shown, with a plain-language explanation.
PURPOSES: tuple[ConsentPurpose, ...] = (
    ConsentPurpose.APP_USE,
    ConsentPurpose.COUNSELLOR_ACCESS,
    ConsentPurpose.PA_TO_BERUFSBERATUNG,
)

PURPOSE_LABELS = {
    ConsentPurpose.APP_USE: _l("Using the digital Berufswahlpass"),
    ConsentPurpose.COUNSELLOR_ACCESS: _l("Access for the career counsellor"),
    ConsentPurpose.PA_TO_BERUFSBERATUNG: _l("Potenzialanalyse results for the Berufsberatung"),
}

PURPOSE_EXPLANATIONS = {
    ConsentPurpose.APP_USE: _l(
        "The school keeps your portfolio in this app instead of a paper binder. Your "
        "entries and files are stored on the school's server. You can take everything "
        "with you when you leave school."
    ),
    ConsentPurpose.COUNSELLOR_ACCESS: _l(
        "Your career counsellor (Berufsberatung of the Agentur für Arbeit or school "
        "social work) may read what you share with them and may write down guidance "
        "talks. Without this consent they see nothing of your portfolio."
    ),
    ConsentPurpose.PA_TO_BERUFSBERATUNG: _l(
        "Your career counsellor (Berufsberatung of the Agentur für Arbeit) may read your "
        "Potenzialanalyse entry and the files attached to it, so that they can advise you "
        "better. They read it only with this consent and the consent for counsellor "
        "access, and only if you share the entry with your counsellor."
    ),
}

ROLE_LABELS = {
    "pupil": _l("the pupil"),
    "guardian": _l("a parent or guardian"),
    "staff": _l("the school (from a paper form)"),
}


class ConsentError(ValueError):
    """A clear, user-facing reason why a consent cannot be given or withdrawn."""


def age_on(date_of_birth: dt.date, today: dt.date) -> int:
    """Completed years of life on `today`."""
    before_birthday = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - (1 if before_birthday else 0)


def consent_age_reached(pupil: User, school: School, today: dt.date | None = None) -> bool:
    """Whether the pupil is old enough to consent themself (False if the age is unknown)."""
    if pupil.date_of_birth is None:
        return False
    return age_on(pupil.date_of_birth, today or clock.today()) >= school.consent_age


def who_may_consent(pupil: User, school: School, today: dt.date | None = None) -> frozenset[str]:
    """The role that decides about the pupil's consents: {"pupil"} or {"guardian"}.

    Staff may always record what reached them on paper; that is not a decision of theirs
    and so not part of this answer.
    """
    return frozenset({"pupil"} if consent_age_reached(pupil, school, today) else {"guardian"})


def decider_role(viewer_access, school: School, today: dt.date | None = None) -> str | None:
    """The role ("pupil"/"guardian") in which the viewer may give or withdraw consents."""
    reached = consent_age_reached(viewer_access.pupil, school, today)
    if not viewer_access.can_give_consent(reached):
        return None
    role = "pupil" if viewer_access.is_self else "guardian"
    return role if role in who_may_consent(viewer_access.pupil, school, today) else None


# -- queries -------------------------------------------------------------------------------
def history(pupil_id: int) -> list[Consent]:
    """All consent rows of the pupil, newest first (with who gave them)."""
    return list(
        db.session.scalars(
            sa.select(Consent)
            .where(Consent.pupil_id == pupil_id)
            .options(selectinload(Consent.given_by))
            .order_by(Consent.given_at.desc(), Consent.id.desc())
        )
    )


def active_by_purpose(pupil_id: int) -> dict[ConsentPurpose, Consent]:
    """The pupil's consents that hold now, by purpose."""
    rows = db.session.scalars(
        sa.select(Consent)
        .where(Consent.pupil_id == pupil_id, Consent.withdrawn_at.is_(None))
        .order_by(Consent.given_at)
    )
    return {ConsentPurpose(c.purpose): c for c in rows}


def active_for_pupils(pupil_ids: list[int]) -> dict[int, set[str]]:
    """{pupil_id: {purpose, ...}} of consents that hold now, in one query."""
    result: dict[int, set[str]] = {pid: set() for pid in pupil_ids}
    if not pupil_ids:
        return result
    rows = db.session.execute(
        sa.select(Consent.pupil_id, Consent.purpose).where(
            Consent.pupil_id.in_(pupil_ids), Consent.withdrawn_at.is_(None)
        )
    )
    for pupil_id, purpose in rows:
        result[pupil_id].add(purpose)
    return result


def user_names(ids: set[int]) -> dict[int, str]:
    """Full names of users by id, in one query (for withdrawn_by)."""
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(User.id, User.first_name, User.last_name).where(User.id.in_(ids))
    )
    return {uid: f"{first} {last}" for uid, first, last in rows}


# -- writes --------------------------------------------------------------------------------
def _check_pupil(pupil: User, actor: User) -> None:
    if not pupil.is_pupil or pupil.school_id != actor.school_id:
        raise ConsentError(_("This person is not a pupil of your school."))


def give(pupil: User, purpose: ConsentPurpose, actor: User, role: str) -> Consent:
    """Record a consent given now by `actor` in `role` (pupil, guardian or staff).

    The caller has checked that the actor may do so (`decider_role` or, for staff,
    `PupilAccess.can_manage_account`).
    """
    if role not in ROLE_LABELS:
        raise ValueError(f"unknown consent role {role!r}")
    _check_pupil(pupil, actor)
    purpose = ConsentPurpose(purpose)
    # Lock the pupil's row so that two guardians clicking at once create one consent.
    _lock(pupil)
    if purpose in active_by_purpose(pupil.id):
        raise ConsentError(_("This consent has already been given."))
    consent = Consent(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        purpose=purpose.value,
        given_by_id=actor.id,
        given_by_role=role,
        given_at=utcnow(),
    )
    db.session.add(consent)
    notifications.consent_changed(pupil, purpose, actor, given=True)
    db.session.flush()
    return consent


def withdraw(pupil: User, purpose: ConsentPurpose, actor: User) -> int:
    """Withdraw the pupil's consent for `purpose` now. Effective at once.

    Returns the number of rows marked withdrawn (0 when nothing held).
    """
    _check_pupil(pupil, actor)
    purpose = ConsentPurpose(purpose)
    _lock(pupil)
    now = utcnow()
    result = db.session.execute(
        sa.update(Consent)
        .where(
            Consent.pupil_id == pupil.id,
            Consent.purpose == purpose.value,
            Consent.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=now, withdrawn_by_id=actor.id)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount == 0:
        db.session.rollback()
        raise ConsentError(_("There is no consent to withdraw."))
    notifications.consent_changed(pupil, purpose, actor, given=False)
    db.session.flush()
    return result.rowcount


def _lock(pupil: User) -> None:
    """Serialise consent changes of one pupil (row lock on PostgreSQL)."""
    db.session.execute(sa.select(User.id).where(User.id == pupil.id).with_for_update())


# -- the school's overview -----------------------------------------------------------------
OVERVIEW_PAGE_SIZE = 50


@dataclass
class OverviewRow:
    pupil: User
    class_name: str | None
    active: set[str]


def school_overview(
    school: School, *, q: str = "", class_id: int | None = None, page: int = 1
) -> tuple[list[OverviewRow], int, int]:
    """Active pupils with their current class and consents: (rows, page, pages), 3 queries."""
    from portfolio.models import (
        ClassMembership,
        PupilStatus,
        Role,
        SchoolClass,
        SchoolYear,
        UserRole,
    )

    current = (
        sa.select(
            ClassMembership.pupil_id,
            SchoolClass.id.label("class_id"),
            SchoolClass.name.label("class_name"),
        )
        .join(SchoolClass, SchoolClass.id == ClassMembership.class_id)
        .join(SchoolYear, SchoolYear.id == ClassMembership.school_year_id)
        .where(SchoolYear.is_current.is_(True), SchoolYear.school_id == school.id)
        .subquery()
    )
    conditions = [
        User.school_id == school.id,
        UserRole.role == Role.PUPIL.value,
        User.status == PupilStatus.ACTIVE.value,
    ]
    if class_id is not None:
        conditions.append(current.c.class_id == class_id)
    for word in q.lower().split()[:4]:
        like = "%" + word.replace("%", "").replace("_", "") + "%"
        conditions.append(
            sa.or_(
                sa.func.lower(User.first_name).like(like),
                sa.func.lower(User.last_name).like(like),
                User.username.like(like),
            )
        )
    base = (
        sa.select(User, current.c.class_name)
        .join(UserRole, UserRole.user_id == User.id)
        .outerjoin(current, current.c.pupil_id == User.id)
        .where(*conditions)
    )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // OVERVIEW_PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        base.order_by(current.c.class_name, *name_order(User))
        .offset((page - 1) * OVERVIEW_PAGE_SIZE)
        .limit(OVERVIEW_PAGE_SIZE)
    ).all()
    active = active_for_pupils([u.id for u, _name in rows])
    return [OverviewRow(u, name, active[u.id]) for u, name in rows], page, pages
