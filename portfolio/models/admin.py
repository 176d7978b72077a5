"""Consent records and the audit log."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.models.base import Base, SchoolOwned, utcnow
from portfolio.models.user import User


class ConsentPurpose(enum.StrEnum):
    COUNSELLOR_ACCESS = "counsellor_access"
    PA_TO_BERUFSBERATUNG = "pa_to_berufsberatung"
    APP_USE = "app_use"


class Consent(SchoolOwned, Base):
    """Who consented to what, when, and when it was withdrawn. Rows are never deleted."""

    __tablename__ = "consent"
    __table_args__ = (sa.Index("ix_consent_pupil_purpose", "pupil_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(sa.String(40))
    given_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    #: "pupil" or "guardian" (or "staff" when recorded from a paper form).
    given_by_role: Mapped[str] = mapped_column(sa.String(20))
    given_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    withdrawn_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )

    pupil: Mapped[User] = relationship(foreign_keys=[pupil_id])
    given_by: Mapped[User | None] = relationship(foreign_keys=[given_by_id])

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class AuditEvent(Base):
    """Append-only: every view, download or export of a pupil's content by someone else.

    `pupil_id` is a plain number, not a foreign key, so the record of who looked
    survives the pupil's deletion without keeping any content.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_pupil", "pupil_id", "created_at"),
        sa.Index("ix_audit_event_school", "school_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(index=False)
    actor_id: Mapped[int | None] = mapped_column(default=None)
    actor_name: Mapped[str] = mapped_column(sa.String(200), default="")
    actor_role: Mapped[str] = mapped_column(sa.String(20), default="")
    pupil_id: Mapped[int | None] = mapped_column(default=None)
    #: view, download, export, pdf, purge, import, ...
    action: Mapped[str] = mapped_column(sa.String(40))
    object_type: Mapped[str] = mapped_column(sa.String(40), default="")
    object_id: Mapped[int | None] = mapped_column(default=None)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
