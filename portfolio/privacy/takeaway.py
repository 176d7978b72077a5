"""The take-away package as a background job: PDF, JSON and files of one portfolio.

The pupil gets everything; a guardian what the pupil shared with the family (the
rule of `lifecycle.write_takeaway`). A guardian's package is recorded in the audit log
when it is made, in the job's transaction.
"""

from __future__ import annotations

from flask import url_for

from portfolio import access
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.jobs.services import JobContext, JobKind, register, start
from portfolio.models import Job, User
from portfolio.privacy import audit, lifecycle

TAKEAWAY = "takeaway"


def start_takeaway(user: User, pupil: User) -> Job:
    """Queue the take-away package of `pupil` for `user` (flushes; sent after the commit)."""
    return start(TAKEAWAY, user, params={"name": pupil.full_name}, pupil_id=pupil.id)


def _viewer(user: User, job: Job) -> access.PupilAccess | None:
    pupil = db.session.get(User, job.pupil_id) if job.pupil_id else None
    if pupil is None or not pupil.is_pupil:
        return None
    viewer = access.access_to(user, pupil)
    return viewer if viewer.can_take_away() else None


def _run(ctx: JobContext) -> None:
    viewer = _viewer(ctx.user, ctx.job)
    if viewer is None:
        ctx.fail("gone")
    pupil = viewer.pupil
    ctx.progress(0, 1)
    with ctx.result(lifecycle.takeaway_filename(pupil)) as out:
        lifecycle.write_takeaway(pupil, out, viewer)
    ctx.progress(1, 1)
    # Recorded for guardians (record() skips the pupil's own package).
    audit.record(ctx.user, "takeaway", pupil_id=pupil.id, school_id=pupil.school_id)


def _title(job: Job) -> str:
    if job.pupil_id == job.user_id:
        return _("My take-away package (ZIP)")
    return _("Take-away package of %(name)s (ZIP)", name=job.params.get("name", ""))


register(
    JobKind(
        name=TAKEAWAY,
        run=_run,
        title=_title,
        allowed=lambda user, job: _viewer(user, job) is not None,
        origin=lambda job: url_for("privacy.takeaway", pupil_id=job.pupil_id),
    )
)
