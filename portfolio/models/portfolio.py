"""The pupil's portfolio: entries of every kind, comments, documents, agreements."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.kinds import (
    FEEDBACK_AUDIENCES,
    OPEN_ITEM_KINDS,
    SINGLE_ENTRY_KINDS,
    Audience,
    EntryStatus,
    ReviewState,
    Section,
    section_of,
)
from portfolio.models.base import Base, SchoolOwned, Timestamped, utcnow
from portfolio.models.user import User

__all__ = ["Audience"]  # defined with its labels in portfolio.kinds

#: The partial unique index that keeps single-entry kinds single (copies are numbered).
_SINGLE_ENTRY_WHERE = sa.text(
    "kind IN ({}) AND copy_no = 0".format(", ".join(f"'{k.value}'" for k in SINGLE_ENTRY_KINDS))
)


class _Shared:
    """`share_<audience>` columns: whom the pupil shows the row (none: private)."""

    share_class_teacher: Mapped[bool] = mapped_column(default=False)
    share_stubo: Mapped[bool] = mapped_column(default=False)
    share_counsellor: Mapped[bool] = mapped_column(default=False)
    share_guardians: Mapped[bool] = mapped_column(default=False)

    def is_shared_with(self, audience: Audience) -> bool:
        return bool(getattr(self, f"share_{Audience(audience).value}"))

    @property
    def shared_with(self) -> list[Audience]:
        """The audiences the row is shared with, in the order of `kinds.AUDIENCES`."""
        return [a for a in Audience if self.is_shared_with(a)]

    def set_shared(self, audiences) -> None:
        chosen = {Audience(a) for a in audiences}
        for audience in Audience:
            setattr(self, f"share_{audience.value}", audience in chosen)


class Entry(_Shared, SchoolOwned, Timestamped, Base):
    """One portfolio entry. Kind-specific fields live in `data` (JSON)."""

    __tablename__ = "entry"
    __table_args__ = (
        sa.Index("ix_entry_pupil_kind", "pupil_id", "kind"),
        sa.Index("ix_entry_school_review", "school_id", "review_state"),
        # One entry per pupil of a single-entry kind, even when two saves race.
        sa.Index(
            "uq_entry_single_kind",
            "pupil_id",
            "kind",
            unique=True,
            sqlite_where=_SINGLE_ENTRY_WHERE,
            postgresql_where=_SINGLE_ENTRY_WHERE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    #: Grade the pupil was in when the entry was made ("8", "9", "EF" ...).
    grade: Mapped[str | None] = mapped_column(sa.String(2), default=None)
    #: The entry's fields. On PostgreSQL JSONB: lists read single fields of many entries
    #: (review/actions.py), which JSON would parse again for every field.
    data: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON().with_variant(JSONB(), "postgresql"), default=dict
    )
    status: Mapped[str] = mapped_column(sa.String(12), default=EntryStatus.IN_PROGRESS)
    review_state: Mapped[str] = mapped_column(sa.String(12), default=ReviewState.NONE)
    #: Whom the pupil asked for feedback (the last time she asked); each is shared with.
    asked_class_teacher: Mapped[bool] = mapped_column(default=False)
    asked_stubo: Mapped[bool] = mapped_column(default=False)
    asked_counsellor: Mapped[bool] = mapped_column(default=False)
    #: Goals: the earliest due date of an open step (for "overdue" filters).
    next_due_on: Mapped[dt.date | None] = mapped_column(default=None)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: When the pupil last changed the content ("last saved"): a review, a comment, a
    #: change of sharing or of the state leave it alone (`updated_at` is any change).
    edited_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Optimistic lock: an UPDATE with a stale version fails instead of overwriting.
    version: Mapped[int] = mapped_column(default=1)
    #: 0 for every entry made now. 1, 2 ... number the extra entries of a single-entry
    #: kind that were saved twice before the database enforced one (kept, not merged).
    copy_no: Mapped[int] = mapped_column(default=0, server_default="0")

    __mapper_args__ = {"version_id_col": version}

    pupil: Mapped[User] = relationship()
    comments: Mapped[list[Comment]] = relationship(
        back_populates="entry", order_by="Comment.created_at", cascade="all, delete-orphan"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="entry", order_by="Document.created_at"
    )

    @classmethod
    def may_be_open_item(cls) -> sa.ColumnElement[bool]:
        """SQL: the entry is of a kind that can be an open item of the staff lists
        (review/actions.py: placements, goals) or waits for feedback. The values are
        constants in the SQL, so that the database can use the partial index
        `ix_entry_open_items`, whose condition this is: the lists read these few rows of a
        school instead of all its entries."""
        return sa.or_(
            cls.kind.in_([sa.literal_column(f"'{k.value}'") for k in OPEN_ITEM_KINDS]),
            cls.review_state == sa.literal_column(f"'{ReviewState.REQUESTED.value}'"),
        )

    def was_asked(self, audience: Audience) -> bool:
        """Whether the pupil asked this audience for feedback (the last time she asked)."""
        return bool(getattr(self, f"asked_{Audience(audience).value}", False))

    @property
    def asked(self) -> list[Audience]:
        """Whom the pending request for feedback asks (empty when none is pending)."""
        if self.review_state != ReviewState.REQUESTED:
            return []
        return [a for a in FEEDBACK_AUDIENCES if self.was_asked(a)]

    def set_asked(self, audiences) -> None:
        chosen = {Audience(a) for a in audiences}
        for audience in FEEDBACK_AUDIENCES:
            setattr(self, f"asked_{audience.value}", audience in chosen)

    @property
    def section(self) -> Section:
        return section_of(self.kind)


#: The entries of each pupil of a school that can be open items (`Entry.may_be_open_item`):
#: about a quarter of all, read by every class overview and caseload.
sa.Index(
    "ix_entry_open_items",
    Entry.school_id,
    Entry.pupil_id,
    sqlite_where=Entry.may_be_open_item(),
    postgresql_where=Entry.may_be_open_item(),
)


class Comment(SchoolOwned, Base):
    __tablename__ = "comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    entry: Mapped[Entry] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()


class Notification(SchoolOwned, Base):
    """A notice for a user (new comment, hand-in, signature due ...): shown on the News
    page and, by the user's choice, sent by e-mail (portfolio/notifications)."""

    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))  # comment, reviewed, revision, ...
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    #: The pupil the notice is about (the reader themself for a pupil's own news).
    pupil_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), default=None, index=True
    )
    entry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("entry.id", ondelete="CASCADE"), default=None
    )
    comment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("comment.id", ondelete="CASCADE"), default=None
    )
    document_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("document.id", ondelete="CASCADE"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: When the notice went out by e-mail (at once or in a digest); None: not (yet).
    mailed_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    pupil: Mapped[User | None] = relationship(foreign_keys=[pupil_id])
    entry: Mapped[Entry | None] = relationship()
    document: Mapped[Document | None] = relationship()


class DocumentCategory(enum.StrEnum):
    CERTIFICATE = "certificate"
    REPORT_CARD = "report_card"
    CV = "cv"
    APPLICATION = "application"
    OTHER = "other"


class Document(_Shared, SchoolOwned, Base):
    """An uploaded file. Stored outside static/ under a random key."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    entry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("entry.id", ondelete="SET NULL"), default=None, index=True
    )
    category: Mapped[str] = mapped_column(sa.String(20), default=DocumentCategory.OTHER)
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    filename: Mapped[str] = mapped_column(sa.String(200))  # sanitised original name
    storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    mime_type: Mapped[str] = mapped_column(sa.String(50))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    entry: Mapped[Entry | None] = relationship(back_populates="documents")
    pupil: Mapped[User] = relationship(foreign_keys=[pupil_id])


class AssessmentRequest(SchoolOwned, Base):
    """A Fremdeinschätzung request: a one-time link that expires."""

    __tablename__ = "assessment_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    #: SHA-256 of the token in the link; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    rater_name: Mapped[str] = mapped_column(sa.String(120))
    #: guardian, teacher, mentor, friend, other
    relation: Mapped[str] = mapped_column(sa.String(20))
    rater_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    grade: Mapped[str | None] = mapped_column(sa.String(2), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    answered_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: {quality_key: 1..4} and a free comment, as the rater gave them.
    answer: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, default=None)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    declined_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: The external_assessment entry created on acceptance.
    entry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("entry.id", ondelete="SET NULL"), default=None
    )


class TransitionDecision(enum.StrEnum):
    DUAL = "dual"  # duale Ausbildung
    BERUFSKOLLEG = "berufskolleg"  # vollzeitschulische Ausbildung / Berufskolleg
    UPPER_SECONDARY = "oberstufe"
    UNIVERSITY = "studium"
    VOLUNTARY_YEAR = "freiwilligendienst"
    OTHER = "other"


class Agreement(SchoolOwned, Timestamped, Base):
    """One version of the Anschlussvereinbarung. Locked once signed."""

    __tablename__ = "agreement"
    __table_args__ = (sa.UniqueConstraint("pupil_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(default=1)  # version 1, 2, ...
    grade: Mapped[str | None] = mapped_column(sa.String(2), default=None)
    decision: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    #: dream_job, next_step, fields [..], steps [{text, due_on, priority}], contacts [..]
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    share_guardians: Mapped[bool] = mapped_column(default=True)
    share_counsellor: Mapped[bool] = mapped_column(default=False)
    locked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: When its content was last changed ("last changed"): signing, locking and a change
    #: of sharing leave it alone (`updated_at` is any change).
    edited_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    pupil: Mapped[User] = relationship()
    signatures: Mapped[list[AgreementSignature]] = relationship(
        back_populates="agreement",
        order_by="AgreementSignature.signed_at",
        cascade="all, delete-orphan",
    )

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class AgreementSignature(SchoolOwned, Base):
    __tablename__ = "agreement_signature"
    __table_args__ = (sa.UniqueConstraint("agreement_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreement.id", ondelete="CASCADE"))
    #: pupil, guardian, teacher, counsellor
    role: Mapped[str] = mapped_column(sa.String(20))
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    #: Name as signed (kept if the account goes).
    name: Mapped[str] = mapped_column(sa.String(200))
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    agreement: Mapped[Agreement] = relationship(back_populates="signatures")


class GuidanceRecord(SchoolOwned, Timestamped, Base):
    """A guidance session (Beratung) recorded by staff; the pupil adds notes."""

    __tablename__ = "guidance_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    held_on: Mapped[dt.date]
    participants: Mapped[str] = mapped_column(sa.Text, default="")
    topics: Mapped[str] = mapped_column(sa.Text, default="")
    #: [{"text": ..., "due_on": "YYYY-MM-DD", "goal_entry_id": n}]
    next_steps: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    pupil_notes: Mapped[str] = mapped_column(sa.Text, default="")
    share_guardians: Mapped[bool] = mapped_column(default=False)
    #: The pupil lets the assigned counsellors read the record (its author always does).
    share_counsellor: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    pupil: Mapped[User] = relationship(foreign_keys=[pupil_id])
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
