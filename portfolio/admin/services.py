"""Account lists and account changes for the school admin and the StuBO."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from portfolio import accounts
from portfolio.auth.services import end_all_sessions
from portfolio.collation import collated, name_order
from portfolio.extensions import db
from portfolio.models import (
    STAFF_ROLES,
    ClassMembership,
    CounsellorAssignment,
    GuardianLink,
    PupilStatus,
    Role,
    School,
    SchoolClass,
    SchoolYear,
    TeacherClass,
    User,
    UserRole,
)
from portfolio.pagination import Page, page_numbers
from portfolio.privacy import audit


@dataclass
class UserRow:
    user: User
    class_name: str | None = None
    #: Staff: classes taught this year. Guardians: children's names.
    related: list[str] = field(default_factory=list)


def _with_role(*roles: Role):
    return User.id.in_(
        sa.select(UserRole.user_id).where(UserRole.role.in_([r.value for r in roles]))
    )


def list_users(
    school: School,
    *,
    kind: str = "pupils",
    q: str = "",
    class_id: int | None = None,
    include_inactive: bool = False,
    page: int = 1,
) -> Page:
    """One page of the users of one kind (pupils, staff, guardians): `UserRow`s.

    Four queries whatever the length: how many there are, the users of the page (with
    their class), their roles, and the related names (classes taught or children).
    """
    year = accounts.current_year(school)
    query = (
        sa.select(User, SchoolClass.name)
        .outerjoin(
            ClassMembership,
            sa.and_(ClassMembership.pupil_id == User.id, ClassMembership.school_year_id == year.id),
        )
        .outerjoin(SchoolClass, SchoolClass.id == ClassMembership.class_id)
        .where(User.school_id == school.id)
    )
    if kind == "staff":
        query = query.where(_with_role(*STAFF_ROLES)).order_by(*name_order(User))
    elif kind == "guardians":
        query = query.where(_with_role(Role.GUARDIAN)).order_by(*name_order(User))
    else:
        query = query.where(_with_role(Role.PUPIL)).order_by(SchoolClass.name, *name_order(User))
        if class_id:
            query = query.where(SchoolClass.id == class_id)
    if not include_inactive:
        query = query.where(
            User.is_active_account.is_(True), User.status == PupilStatus.ACTIVE.value
        )
    words = (q or "").split()
    for word in words[:4]:
        pattern = f"%{word.casefold()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(User.first_name).like(pattern),
                sa.func.lower(User.last_name).like(pattern),
                User.username.like(pattern),
            )
        )
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    )
    number, pages = page_numbers(total or 0, page)
    chosen = Page([], number, pages, total or 0)
    found = db.session.execute(query.offset(chosen.offset).limit(chosen.per_page)).all()
    rows = [UserRow(user, class_name) for user, class_name in found]
    chosen.items = rows
    by_id = {r.user.id: r for r in rows}
    if by_id and kind == "staff":
        for teacher_id, name in db.session.execute(
            sa.select(TeacherClass.teacher_id, SchoolClass.name)
            .join(SchoolClass, SchoolClass.id == TeacherClass.class_id)
            .where(TeacherClass.teacher_id.in_(by_id), SchoolClass.school_year_id == year.id)
            .order_by(SchoolClass.name)
        ):
            by_id[teacher_id].related.append(name)
    elif by_id and kind == "guardians":
        child = aliased(User)
        for guardian_id, first, last in db.session.execute(
            sa.select(GuardianLink.guardian_id, child.first_name, child.last_name)
            .join(child, child.id == GuardianLink.pupil_id)
            .where(GuardianLink.guardian_id.in_(by_id))
            .order_by(collated(child.first_name), collated(child.last_name))
        ):
            by_id[guardian_id].related.append(f"{first} {last}")
    return chosen


def class_history(pupil: User) -> list[tuple[str, str]]:
    """(school year, class) of every year, newest first."""
    return [
        tuple(r)
        for r in db.session.execute(
            sa.select(SchoolYear.name, SchoolClass.name)
            .join(ClassMembership, ClassMembership.school_year_id == SchoolYear.id)
            .join(SchoolClass, SchoolClass.id == ClassMembership.class_id)
            .where(ClassMembership.pupil_id == pupil.id)
            .order_by(SchoolYear.starts_on.desc())
        )
    ]


def counsellors_of(pupil: User) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(CounsellorAssignment, CounsellorAssignment.counsellor_id == User.id)
            .where(CounsellorAssignment.pupil_id == pupil.id)
            .order_by(*name_order(User))
        )
    )


def school_counsellors(school: School) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.school_id == school.id,
                _with_role(Role.COUNSELLOR),
                User.is_active_account.is_(True),
            )
            .order_by(*name_order(User))
        )
    )


def classes_taught(teacher: User) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(SchoolClass.name)
            .join(TeacherClass, TeacherClass.class_id == SchoolClass.id)
            .join(SchoolYear, SchoolYear.id == SchoolClass.school_year_id)
            .where(TeacherClass.teacher_id == teacher.id, SchoolYear.is_current.is_(True))
            .order_by(SchoolClass.name)
        )
    )


def create_staff(
    school: School,
    *,
    first_name: str,
    last_name: str,
    username: str | None,
    email: str | None,
    roles: list[Role],
    class_ids: list[int],
) -> tuple[User, str]:
    """A staff account with an initial password (shown once). Raises AccountError."""
    classes = {c.id: c for c in accounts.year_classes(school)}
    user, password = accounts.create_user(
        school,
        roles=roles,
        first_name=first_name,
        last_name=last_name,
        username=username or None,
        email=email or None,
        must_change_password=True,
    )
    for class_id in class_ids:
        if class_id in classes:
            accounts.assign_teacher(user, classes[class_id])
    db.session.flush()
    return user, password


def set_active(user: User, active: bool, actor: User) -> None:
    """Deactivate (ends every login session) or reactivate an account; recorded."""
    if user.is_active_account == active:
        return
    user.is_active_account = active
    if not active:
        end_all_sessions(user)
    action = "reactivated" if active else "deactivated"
    if user.is_pupil:
        audit.account_event(actor, user, action)
    else:
        audit.record(actor, action, school_id=user.school_id, obj=user)
    db.session.flush()


def assign_counsellor(pupil: User, counsellor_id: int, actor: User) -> User | None:
    """Assign a counsellor of the school to the pupil; recorded."""
    counsellor = db.session.get(User, counsellor_id)
    if (
        counsellor is None
        or counsellor.school_id != pupil.school_id
        or not counsellor.has_role(Role.COUNSELLOR)
    ):
        return None
    if counsellor.id not in {c.id for c in counsellors_of(pupil)}:
        accounts.assign_counsellor(counsellor, pupil)
        audit.account_event(actor, pupil, "counsellor_assigned", other=counsellor)
    db.session.flush()
    return counsellor


def unassign_counsellor(pupil: User, counsellor_id: int, actor: User) -> bool:
    """End the counsellor's assignment to the pupil; recorded."""
    counsellor = db.session.get(User, counsellor_id)
    result = db.session.execute(
        sa.delete(CounsellorAssignment).where(
            CounsellorAssignment.pupil_id == pupil.id,
            CounsellorAssignment.counsellor_id == counsellor_id,
        )
    )
    if result.rowcount:
        audit.account_event(actor, pupil, "counsellor_unassigned", other=counsellor)
    db.session.flush()
    return bool(result.rowcount)


def class_sizes(school: School) -> list[tuple[SchoolClass, int]]:
    """This year's classes with the number of active pupils (one query)."""
    year = accounts.current_year(school)
    rows = [
        tuple(r)
        for r in db.session.execute(
            sa.select(SchoolClass, sa.func.count(User.id))
            .outerjoin(ClassMembership, ClassMembership.class_id == SchoolClass.id)
            .outerjoin(
                User,
                sa.and_(
                    User.id == ClassMembership.pupil_id, User.status == PupilStatus.ACTIVE.value
                ),
            )
            .where(SchoolClass.school_year_id == year.id)
            .group_by(SchoolClass.id)
        )
    ]
    return sorted(rows, key=lambda r: (r[0].grade_order, r[0].name))


def class_pupils(school_class: SchoolClass) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(ClassMembership, ClassMembership.pupil_id == User.id)
            .where(
                ClassMembership.class_id == school_class.id, User.status == PupilStatus.ACTIVE.value
            )
            .order_by(*name_order(User))
        )
    )


def children_of(guardian: User) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(GuardianLink, GuardianLink.pupil_id == User.id)
            .where(GuardianLink.guardian_id == guardian.id)
            .order_by(collated(User.first_name), User.id)
        )
    )
