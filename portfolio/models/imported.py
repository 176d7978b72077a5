"""Portfolios brought in from another school: the packages imported, and what they claimed.

A take-away package is a file anybody can edit, so what it says about other people's
acts (signatures, locks, comments, review states) is kept as a record of what the
package claimed: shown read-only, never turned into a signature, a comment or a review
of this school (portfolio.privacy.portability).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from portfolio.models.base import Base, SchoolOwned, utcnow


class ImportedPackage(SchoolOwned, Base):
    """One take-away package imported into this school (one per package: a second
    import of the same package is refused by these unique keys)."""

    __tablename__ = "imported_package"
    __table_args__ = (
        sa.UniqueConstraint("school_id", "package_id", name="uq_imported_package_package_id"),
        sa.UniqueConstraint(
            "school_id", "content_sha256", name="uq_imported_package_content_sha256"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    #: The package's own id (format version 2); None for packages of version 1.
    package_id: Mapped[str | None] = mapped_column(sa.String(36), default=None)
    #: SHA-256 of the portfolio it holds (`package_check.content_fingerprint`).
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    format_version: Mapped[int]
    #: whole-portfolio | shared-with-family
    scope: Mapped[str] = mapped_column(sa.String(30))
    source_school: Mapped[str] = mapped_column(sa.String(200), default="")
    source_schulnummer: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    #: Who made the package, as it says: pupil | guardian | school.
    made_by_role: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    made_by_name: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    exported_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    #: What was left out and why: {"refused_files": [[name, reason], ...], ...}.
    report: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class HistoryKind(enum.StrEnum):
    SIGNATURE = "signature"  # role, name, happened_at
    LOCKED = "locked"  # happened_at
    COMMENT = "comment"  # name (author), body, happened_at
    REVIEW = "review"  # role (the review state), happened_at (reviewed_at)
    SUBMITTED = "submitted"  # happened_at (handed in for feedback)


class ImportedRecord(SchoolOwned, Base):
    """What a package said happened to an entry or an agreement at another school.

    Shown read-only as "imported, not signed at this school"; never counted as a
    signature or a review and never locking anything.
    """

    __tablename__ = "imported_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_row_id: Mapped[int] = mapped_column(
        sa.ForeignKey("imported_package.id", ondelete="CASCADE"), index=True
    )
    pupil_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    entry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("entry.id", ondelete="CASCADE"), default=None, index=True
    )
    agreement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agreement.id", ondelete="CASCADE"), default=None, index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: The signer's role (pupil, guardian, teacher, counsellor) or the review state.
    role: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    #: The signer or author as the package names them.
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: When the package says it happened.
    happened_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: The school where the package says it happened.
    source_school: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    package: Mapped[ImportedPackage] = relationship()
    # Declared here (not on Entry/Agreement) so the portfolio models stay as they are;
    # deleting an entry or agreement deletes its records.
    entry = relationship(
        "Entry",
        backref=backref(
            "imported_history",
            order_by="ImportedRecord.id",
            cascade="all, delete-orphan",
            passive_deletes=True,
        ),
    )
    agreement = relationship(
        "Agreement",
        backref=backref(
            "imported_history",
            order_by="ImportedRecord.id",
            cascade="all, delete-orphan",
            passive_deletes=True,
        ),
    )
