"""The export documents as background jobs, so that a parents' evening (100 families
downloading at once) never blocks the web workers that serve pages:

* the class ZIP: every pupil's PDF as the class teacher sees it;
* one pupil's PDF (`start_pdf`): the whole portfolio, the family summary, the pupil's
  chosen parts or the application bundle, made for the user who asked, with what that
  user may read (the same `portfolio.access` rule as before, checked again when the job
  runs and whenever its page or download is opened). The layout is render.py's, as in
  the request before.

The audit events are written in the job's transaction, so they exist exactly when the
file does.
"""

from __future__ import annotations

from flask import url_for
from werkzeug.datastructures import MultiDict

from portfolio import access
from portfolio.extensions import db
from portfolio.i18n import _, _l
from portfolio.jobs.services import JobContext, JobKind, register, start
from portfolio.models import Job, SchoolClass, Section, User
from portfolio.privacy import audit

from . import application, classzip, render
from .services import Selection

CLASS_ZIP = "class_zip"
PUPIL_PDF = "pupil_pdf"

#: The documents of one pupil made as a job; those marked True only for the pupil.
DOCUMENTS = {"portfolio": False, "summary": False, "selection": True, "application": True}


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


# -- one pupil's PDF ----------------------------------------------------------------------
def selection_params(selection: Selection) -> dict[str, list]:
    """A selection as job parameters (sorted, so that the same choice is the same job)."""
    return {
        "section": sorted(s.value for s in selection.sections),
        "entry": sorted(selection.entries),
        "document": sorted(selection.documents),
        "agreement": sorted(selection.agreements),
        "guidance": sorted(selection.guidance),
    }


def selection_from(args) -> Selection:
    """The pupil's ticks (a form or job parameters) as a Selection; junk is dropped."""
    sections = {s for s in Section if s.value in args.getlist("section")}

    def ids(name: str) -> frozenset[int]:
        return frozenset(i for i in args.getlist(name, type=int) if i is not None and i > 0)

    return Selection(
        frozenset(sections), ids("entry"), ids("document"), ids("agreement"), ids("guidance")
    )


def choice_params(choice: application.Choice) -> dict:
    return {
        "cv": choice.cv,
        "photo": choice.photo,
        "placement": list(choice.placements),
        "document": list(choice.documents),
    }


def _args(params: dict | None) -> MultiDict:
    """Job parameters read back like the form they came from."""
    items = []
    for key, value in (params or {}).items():
        for one in value if isinstance(value, list) else [value]:
            if one is not None:
                items.append((key, str(one)))
    return MultiDict(items)


def start_pdf(
    user: User,
    acc: access.PupilAccess,
    document: str,
    *,
    selection: Selection | None = None,
    choice: application.Choice | None = None,
) -> Job:
    """Queue one of the pupil's PDFs for `user` (flushes; sent after the commit). The
    same user asking again while it is being made gets the job under way."""
    if document not in DOCUMENTS:
        raise KeyError(document)
    params: dict = {"document": document, "name": acc.pupil.full_name, "via": _via(acc)}
    if selection is not None:
        params["selection"] = selection_params(selection)
    if choice is not None:
        params["choice"] = choice_params(choice)
    return start(PUPIL_PDF, user, params=params, pupil_id=acc.pupil.id)


def _via(acc: access.PupilAccess) -> str:
    """Which page the asker came from (for "Back" on the job's page)."""
    if acc.is_self:
        return "self"
    return "family" if acc.is_guardian else "staff"


def _access(user: User, job: Job) -> access.PupilAccess | None:
    """The asker's access to the pupil if they may still have this PDF, else None."""
    pupil = db.session.get(User, job.pupil_id) if job.pupil_id else None
    if pupil is None or not pupil.is_pupil:
        return None
    acc = access.access_to(user, pupil)
    if not acc.any or not acc.can_export():
        return None
    if DOCUMENTS.get(job.params.get("document"), True) and not acc.is_self:
        return None
    return acc


def _run_pdf(ctx: JobContext) -> None:
    acc = _access(ctx.user, ctx.job)
    if acc is None:
        ctx.fail("gone")
    document = ctx.params["document"]
    ctx.progress(0, 1)
    if document == "summary":
        pdf = render.summary_pdf(acc)
    elif document == "application":
        choice = application.options(acc).choice_from(_args(ctx.params.get("choice")))
        if choice.is_empty:
            ctx.fail("gone")
        pdf = render.application_pdf(acc, choice)
    elif document == "selection":
        selection = selection_from(_args(ctx.params.get("selection")))
        if selection.is_empty:
            ctx.fail("gone")
        pdf = render.portfolio_pdf(acc, selection)
    else:
        pdf = render.portfolio_pdf(acc)
    with ctx.result(render.file_name(acc.pupil, document)) as out:
        out.write(pdf)
    ctx.progress(1, 1)
    if document in ("portfolio", "summary"):
        audit.record(
            ctx.user,
            "pdf",
            pupil_id=acc.pupil.id,
            school_id=acc.pupil.school_id,
            details={"document": document},
        )


def _pdf_title(job: Job) -> str:
    name = job.params.get("name", "")
    document = job.params.get("document")
    if document == "summary":
        return _("Summary for families of %(name)s (PDF)", name=name)
    if document == "selection":
        return _("Chosen parts of the Berufswahlpass of %(name)s (PDF)", name=name)
    if document == "application":
        return _("Application bundle of %(name)s (PDF)", name=name)
    return _("Berufswahlpass of %(name)s (PDF)", name=name)


def _pdf_origin(job: Job) -> str:
    via, document = job.params.get("via"), job.params.get("document")
    if via == "family":
        return url_for("guardian.child", pupil_id=job.pupil_id)
    if via == "staff":
        return url_for("review.pupil", pupil_id=job.pupil_id)
    if document == "application":
        return url_for("export.application_page")
    return url_for("export.choose")


register(
    JobKind(
        name=PUPIL_PDF,
        run=_run_pdf,
        title=_pdf_title,
        allowed=lambda user, job: _access(user, job) is not None,
        origin=_pdf_origin,
    )
)
