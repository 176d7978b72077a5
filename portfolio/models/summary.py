"""Stored progress figures: what the staff lists read (portfolio.progress_store)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.models.base import Base


class ProgressSummary(Base):
    """One pupil's progress in her current grade as portfolio/progress.py computes it,
    stored so that a list of 1,500 pupils reads rows instead of rebuilding the model.

    The row is valid for `day` only (the figures depend on the date: half-years,
    deadlines). Every write that can change them sets `day` to NULL and raises `version`
    in the writer's transaction; a reader stores a figure only if `version` is still the
    one it read before it computed (portfolio.progress_store)."""

    __tablename__ = "progress_summary"

    pupil_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("school.id", ondelete="CASCADE"), index=True, default=None
    )
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    #: The day the figures hold for; NULL: to be computed again.
    day: Mapped[dt.date | None] = mapped_column(default=None)
    grade: Mapped[str | None] = mapped_column(sa.String(8), default=None)
    done: Mapped[int] = mapped_column(default=0, server_default="0")
    total: Mapped[int] = mapped_column(default=0, server_default="0")
    in_progress: Mapped[int] = mapped_column(default=0, server_default="0")
    due_steps: Mapped[int] = mapped_column(default=0, server_default="0")
    unsigned_agreement: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: Element keys, space-separated: the due steps, and those with something documented.
    due: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    documented: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    #: The steps of the current grade: "element_id:half:state:counted:carried",
    #: space-separated.
    steps: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
