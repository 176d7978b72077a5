"""The class ZIP as a background job: every pupil's PDF as the class teacher sees it.

The audit events (one per pupil in the ZIP) are written in the job's transaction, so
they exist exactly when the ZIP does.
"""

from __future__ import annotations

from flask import url_for

from portfolio import access
from portfolio.extensions import db
from portfolio.i18n import _, _l
from portfolio.jobs.services import JobContext, JobKind, register, start
from portfolio.models import Job, SchoolClass, User

from . import classzip

CLASS_ZIP = "class_zip"


def start_class_zip(user: User, cls: SchoolClass) -> Job:
    """Queue the ZIP of the class for `user` (flushes; sent after the commit)."""
    return start(CLASS_ZIP, user, params={"class_id": cls.id, "class_name": cls.name})


def _run(ctx: JobContext) -> None:
    cls = db.session.get(SchoolClass, ctx.params["class_id"])
    if cls is None:
        ctx.fail("gone")
    if not classzip.class_pupils(cls):
        ctx.fail("empty", name=cls.name)
    with ctx.result(classzip.zip_name(cls)) as out:
        result = classzip.export_class(cls, out, locale=ctx.job.locale, progress=ctx.progress)
    if not result.done:
        ctx.fail("none_made", name=cls.name)
    classzip.record_audit(ctx.user, cls, result, via="web")


register(
    JobKind(
        name=CLASS_ZIP,
        run=_run,
        title=lambda job: _(
            "All portfolios of class %(name)s (ZIP)", name=job.params["class_name"]
        ),
        allowed=lambda user, job: access.teaches_class(user, job.params["class_id"]),
        origin=lambda job: url_for("review.class_overview", class_id=job.params["class_id"]),
        messages={
            "empty": _l("The class %(name)s has no pupils to export."),
            "none_made": _l("None of the PDFs of class %(name)s could be made."),
        },
    )
)
