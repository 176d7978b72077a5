"""People and how they relate: roles, class membership, guardians, counsellors."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from portfolio.models.base import Base, SchoolOwned, Timestamped, utcnow
from portfolio.models.school import School, SchoolClass, SchoolYear


class Role(enum.StrEnum):
    PUPIL = "pupil"
    GUARDIAN = "guardian"
    TEACHER = "teacher"
    STUBO = "stubo"
    COUNSELLOR = "counsellor"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.TEACHER, Role.STUBO, Role.COUNSELLOR, Role.ADMIN})


class PupilStatus(enum.StrEnum):
    ACTIVE = "active"
    LEFT = "left"


class User(UserMixin, SchoolOwned, Timestamped, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    #: When the owner of `email` followed the confirmation link; None: not confirmed, and
    #: no mail goes to the address (portfolio/notifications/preferences.py).
    email_confirmed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: E-mail about news: "immediate", "digest" or "never"; None: the default of the role.
    mail_frequency: Mapped[str | None] = mapped_column(sa.String(10), default=None)
    #: When the last daily digest went out (at most one a day, however often it runs).
    mail_digest_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: A worker sending this user's mail holds it until then (one sender at a time; a
    #: crashed worker's hold runs out).
    mail_lock_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: Preferred language (de, en, tr, ar, ru, uk, pl); None: from the browser.
    locale: Mapped[str | None] = mapped_column(sa.String(10), default=None)
    # Pupils only:
    date_of_birth: Mapped[dt.date | None] = mapped_column(default=None)
    #: ID of the pupil in SchILD-NRW (matching key of the roster import).
    external_id: Mapped[str | None] = mapped_column(sa.String(40), default=None, index=True)
    gender: Mapped[str | None] = mapped_column(sa.String(10), default=None)
    status: Mapped[str] = mapped_column(sa.String(10), default=PupilStatus.ACTIVE)
    left_on: Mapped[dt.date | None] = mapped_column(default=None)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    school: Mapped[School] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )

    #: Token of the login session this object was loaded for (not a column).
    session_token = None  # type: str | None
    #: Figures read with the login session (auth.services.preloaded; not columns).
    preloaded = None  # type: dict | None

    # -- roles -------------------------------------------------------------------
    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def add_role(self, role: Role) -> None:
        if role not in self.roles:
            self.role_rows.append(UserRole(role=role.value, school_id=self.school_id))

    @property
    def is_pupil(self) -> bool:
        return Role.PUPIL in self.roles

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    # -- names -------------------------------------------------------------------
    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def sort_name(self) -> str:
        return f"{self.last_name}, {self.first_name}"

    # -- passwords ---------------------------------------------------------------
    def set_password(self, password: str) -> None:
        from flask import current_app

        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # -- Flask-Login ---------------------------------------------------------------
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.is_active_account

    def get_id(self) -> str:
        # The cookie holds the server-side login session, not the user id, so that
        # logging out (or a password reset) ends the session for copied cookies too.
        if not self.session_token:
            raise RuntimeError("user has no login session")
        return self.session_token

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserRole(SchoolOwned, Base):
    __tablename__ = "user_role"
    __table_args__ = (sa.UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(20))

    user: Mapped[User] = relationship(back_populates="role_rows")


class LoginSession(Base):
    """A server-side record of one login; the cookie only names it."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()


class Submission(Base):
    """A form submission that committed, by the key its form carried (portfolio/transaction.py).

    Stored in the same transaction as the submission's writes, so a replay of the same
    form (a resent POST, a double click, the retry after a lost connection) is answered
    with `outcome` instead of running again. Kept for a day (`flask purge-expired`).
    """

    __tablename__ = "submission"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), default=None, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    #: What the first run answered: status, redirect target, flashed messages, session values.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, default=None)


class ClassMembership(SchoolOwned, Base):
    """A pupil in a class for one school year; rows are kept as history."""

    __tablename__ = "class_membership"
    __table_args__ = (
        sa.UniqueConstraint("pupil_id", "school_year_id"),
        sa.Index("ix_class_membership_class", "class_id", "pupil_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("school_class.id", ondelete="CASCADE"))
    school_year_id: Mapped[int] = mapped_column(sa.ForeignKey("school_year.id", ondelete="CASCADE"))

    pupil: Mapped[User] = relationship()
    school_class: Mapped[SchoolClass] = relationship()
    school_year: Mapped[SchoolYear] = relationship()


class TeacherClass(SchoolOwned, Base):
    __tablename__ = "teacher_class"
    __table_args__ = (sa.UniqueConstraint("teacher_id", "class_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    class_id: Mapped[int] = mapped_column(
        sa.ForeignKey("school_class.id", ondelete="CASCADE"), index=True
    )

    teacher: Mapped[User] = relationship()
    school_class: Mapped[SchoolClass] = relationship()


class GuardianLink(SchoolOwned, Base):
    __tablename__ = "guardian_link"
    __table_args__ = (sa.UniqueConstraint("guardian_id", "pupil_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    pupil_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    guardian: Mapped[User] = relationship(foreign_keys=[guardian_id])
    pupil: Mapped[User] = relationship(foreign_keys=[pupil_id])


class CounsellorAssignment(SchoolOwned, Base):
    """A counsellor assigned to a pupil. Access also needs the pupil's consent."""

    __tablename__ = "counsellor_assignment"
    __table_args__ = (sa.UniqueConstraint("counsellor_id", "pupil_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    counsellor_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    pupil_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    counsellor: Mapped[User] = relationship(foreign_keys=[counsellor_id])
    pupil: Mapped[User] = relationship(foreign_keys=[pupil_id])


class GuardianCode(SchoolOwned, Base):
    """A one-time registration code from the guardians' letter."""

    __tablename__ = "guardian_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    #: SHA-256 of the normalised code; the code itself is shown once, on the letter.
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    locale: Mapped[str | None] = mapped_column(sa.String(10), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    used_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )

    pupil: Mapped[User] = relationship(foreign_keys=[pupil_id])
