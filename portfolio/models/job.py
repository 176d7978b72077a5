"""Background jobs that produce a file for the user who asked (portfolio.jobs)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.models.base import Base, SchoolOwned, utcnow
from portfolio.models.user import User


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(SchoolOwned, Base):
    """One piece of heavy work (a class ZIP, a take-away package, login slips).

    The row is the truth about the job; the queue only carries its id. A worker claims
    a queued row, keeps `heartbeat_at` fresh while it works and commits the result with
    the state "done" in one transaction, so a crashed worker leaves a "running" row
    whose heartbeat goes stale and that is queued again (portfolio.jobs.services).
    """

    __tablename__ = "job"
    __table_args__ = (
        sa.Index("ix_job_user_created", "user_id", "created_at"),
        sa.Index("ix_job_state_heartbeat", "state", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who asked: the only one who sees the job and downloads its result.
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    #: The pupil the result is about, if one (deleting the pupil deletes the job).
    pupil_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), default=None, index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: Language of the asker when they asked: the fixed texts of the result use it.
    locale: Mapped[str] = mapped_column(sa.String(10), default="de")
    #: Address of the site as the asker used it (printed on login slips).
    base_url: Mapped[str] = mapped_column(sa.String(300), default="")
    state: Mapped[str] = mapped_column(sa.String(12), default=JobState.QUEUED)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    #: host:pid/run-token of the worker that holds the job while it runs.
    worker: Mapped[str | None] = mapped_column(sa.String(160), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: The result file under JOBS_RESULT_FOLDER (a random name), its download name.
    result_key: Mapped[str | None] = mapped_column(sa.String(80), default=None)
    result_name: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    result_size: Mapped[int | None] = mapped_column(default=None)
    #: Until when the result can be downloaded; then it is deleted.
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    downloaded_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: Why it failed: a key of the kind's messages (translated when shown), its values.
    error_code: Mapped[str | None] = mapped_column(sa.String(40), default=None)
    error_params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def is_active(self) -> bool:
        """Queued or running: the result is still to come."""
        return self.state in (JobState.QUEUED, JobState.RUNNING)

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or utcnow())

    @property
    def percent(self) -> int:
        if self.state == JobState.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(100 * self.progress_done / self.progress_total))
