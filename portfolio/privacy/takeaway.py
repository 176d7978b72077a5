"""The take-away package as a background job: PDF, JSON and files of one portfolio.

* The pupil's own package holds the whole portfolio; a guardian's only what the pupil
  shared with the family (and says so: `portability.Scope`).
* A leaver's package is made by the school admin for a pupil who has left
  (`access.can_make_leaver_package`): the whole portfolio, to hand over to the pupil.

Packages made by anyone but the pupil are recorded in the audit log when they are made,
in the job's transaction, and so appear in the pupil's "who looked".
"""

from __future__ import annotations

from flask import url_for

from portfolio import access
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.jobs.services import JobContext, JobKind, register, start
from portfolio.models import Job, User
from portfolio.privacy import audit, lifecycle
from portfolio.privacy.portability import Maker, Scope

TAKEAWAY = "takeaway"
LEAVER_TAKEAWAY = "leaver_takeaway"


def start_takeaway(user: User, pupil: User) -> Job:
    """Queue the take-away package of `pupil` for `user` (flushes; sent after the commit)."""
    return start(TAKEAWAY, user, params={"name": pupil.full_name}, pupil_id=pupil.id)


def start_leaver_takeaway(user: User, pupil: User) -> Job:
    """Queue a leaver's package (the whole portfolio) made by the school admin."""
    return start(LEAVER_TAKEAWAY, user, params={"name": pupil.full_name}, pupil_id=pupil.id)


def _pupil(job: Job) -> User | None:
    pupil = db.session.get(User, job.pupil_id) if job.pupil_id else None
    return pupil if pupil is not None and pupil.is_pupil else None


def _viewer(user: User, job: Job) -> access.PupilAccess | None:
    pupil = _pupil(job)
    if pupil is None:
        return None
    viewer = access.access_to(user, pupil)
    return viewer if viewer.can_take_away() else None


def _run(ctx: JobContext) -> None:
    viewer = _viewer(ctx.user, ctx.job)
    if viewer is None:
        ctx.fail("gone")
    pupil = viewer.pupil
    if viewer.is_self:
        scope, maker = Scope.WHOLE, Maker("pupil", pupil.full_name)
    else:
        scope, maker = Scope.FAMILY, Maker("guardian", ctx.user.full_name)
    ctx.progress(0, 1)
    with ctx.result(lifecycle.takeaway_filename(pupil)) as out:
        lifecycle.write_takeaway(pupil, out, scope=scope, maker=maker)
    ctx.progress(1, 1)
    # Recorded for guardians (record() skips the pupil's own package).
    audit.record(
        ctx.user,
        "takeaway",
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        details={"scope": scope.value},
    )


def _title(job: Job) -> str:
    if job.pupil_id == job.user_id:
        return _("My take-away package (ZIP)")
    return _("Take-away package of %(name)s (ZIP)", name=job.params.get("name", ""))


def _leaver_allowed(user: User, job: Job) -> bool:
    pupil = _pupil(job)
    return pupil is not None and access.can_make_leaver_package(user, pupil)


def _run_leaver(ctx: JobContext) -> None:
    pupil = _pupil(ctx.job)
    if pupil is None or not access.can_make_leaver_package(ctx.user, pupil):
        ctx.fail("gone")
    ctx.progress(0, 1)
    with ctx.result(lifecycle.takeaway_filename(pupil)) as out:
        lifecycle.write_takeaway(
            pupil, out, scope=Scope.WHOLE, maker=Maker("school", ctx.user.full_name)
        )
    ctx.progress(1, 1)
    audit.record(
        ctx.user,
        "takeaway",
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        details={"scope": Scope.WHOLE.value, "leaver": True},
    )


register(
    JobKind(
        name=TAKEAWAY,
        run=_run,
        title=_title,
        allowed=lambda user, job: _viewer(user, job) is not None,
        origin=lambda job: url_for("privacy.takeaway", pupil_id=job.pupil_id),
    )
)
register(
    JobKind(
        name=LEAVER_TAKEAWAY,
        run=_run_leaver,
        title=lambda job: _(
            "Leaver's take-away package of %(name)s (ZIP)", name=job.params.get("name", "")
        ),
        allowed=_leaver_allowed,
        origin=lambda job: url_for("privacy.leaver_takeaway", pupil_id=job.pupil_id),
    )
)
