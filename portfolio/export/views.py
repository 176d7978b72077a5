"""The PDFs of a pupil (portfolio, selection, family summary, application bundle) and the
class ZIP: each button POSTs here, which starts (or finds under way) a job and shows its
page: progress, then the download, for the user who asked (portfolio/export/jobs.py).
No PDF is rendered inside a web request, so a parents' evening does not block pages.

Who may download what is decided in portfolio.access: the pupil everything, guardians
what the child shared with the family, staff what the pupil shared with them. Every
PDF made for someone other than the pupil is written to the audit log.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portfolio import access
from portfolio.export import bp
from portfolio.i18n import _

from . import application, jobs
from .services import application_preset, collect_titles


def _load(pupil_id: int | None) -> access.PupilAccess:
    """The pupil by id, or the logged-in pupil for the /mine/ routes; 404 without relation."""
    acc = access.load_pupil(current_user, current_user.id if pupil_id is None else pupil_id)
    access.require(acc.can_export())
    return acc


def _started(job):
    """To the job's page: progress while the PDF is made, then the download."""
    return redirect(url_for("jobs.status", job_id=job.id))


@bp.post("/mine/portfolio.pdf")
@bp.post("/pupil/<int:pupil_id>/portfolio.pdf")
@login_required
def portfolio(pupil_id: int | None = None):
    """The whole portfolio as far as the viewer may read it (made by a job)."""
    acc = _load(pupil_id)
    return _started(jobs.start_pdf(current_user, acc, "portfolio"))


@bp.post("/mine/summary.pdf")
@bp.post("/pupil/<int:pupil_id>/summary.pdf")
@login_required
def family_summary(pupil_id: int | None = None):
    """One page for the family: progress, the agreement, the next steps (made by a job)."""
    acc = _load(pupil_id)
    return _started(jobs.start_pdf(current_user, acc, "summary"))


@bp.get("/mine/choose")
@login_required
def choose():
    """The pupil ticks sections and single entries/documents for a PDF of just those."""
    acc = _load(None)
    content = collect_titles(acc)
    if request.args.get("preset") == "application":
        chosen = application_preset(content)
    else:
        chosen = jobs.selection_from(request.args)
    return render_template("export/choose.html", content=content, chosen=chosen, acc=acc)


@bp.get("/mine/application")
@login_required
def application_page():
    """The pupil chooses what goes into the application bundle and sees its parts in order."""
    acc = _load(None)
    access.require(acc.is_self)
    offered = application.options(acc)
    chosen = offered.choice_from(request.args) if "made" in request.args else offered.preset()
    return render_template(
        "export/application.html",
        offered=offered,
        chosen=chosen,
        preview=offered.preview(chosen),
        download_args=_choice_args(chosen),
    )


def _choice_args(choice: application.Choice) -> dict:
    args: dict = {
        "made": 1,
        "placement": list(choice.placements),
        "document": list(choice.documents),
    }
    if choice.cv:
        args["cv"] = choice.cv
    if choice.photo:
        args["photo"] = choice.photo
    return args


@bp.post("/mine/application.pdf")
@login_required
def application_pdf():
    """The application bundle: cover sheet, Lebenslauf, the chosen certificates and
    placements (made by a job)."""
    acc = _load(None)
    access.require(acc.is_self)
    chosen = application.options(acc).choice_from(request.form)
    if chosen.is_empty:
        flash(_("Please choose at least your CV, a certificate or a placement."), "error")
        return redirect(url_for("export.application_page"))
    return _started(jobs.start_pdf(current_user, acc, "application", choice=chosen))


@bp.post("/mine/selection.pdf")
@login_required
def selection():
    """The parts the pupil ticked on the choose page (made by a job)."""
    acc = _load(None)
    chosen = jobs.selection_from(request.form)
    if chosen.is_empty:
        flash(_("Please choose at least one section, entry or document."), "error")
        return redirect(url_for("export.choose"))
    return _started(jobs.start_pdf(current_user, acc, "selection", selection=chosen))


@bp.post("/class/<int:class_id>/zip")
@login_required
def class_zip(class_id: int):
    """Start the ZIP of a whole class's PDFs (what each pupil shared with teachers);
    its page shows the progress and then offers the download."""
    cls = access.load_class(current_user, class_id)
    access.require(access.teaches_class(current_user, class_id))
    job = jobs.start_class_zip(current_user, cls)
    return redirect(url_for("jobs.status", job_id=job.id))
