"""Downloads of the portfolio PDF, a selection and the family summary; class ZIPs start a job.

Who may download what is decided in portfolio.access: the pupil everything, guardians
what the child shared with the family, staff what the pupil shared with them. Every
download by someone other than the pupil is written to the audit log.
"""

from __future__ import annotations

from io import BytesIO

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from portfolio import access
from portfolio.export import bp
from portfolio.i18n import _
from portfolio.models import Section
from portfolio.privacy import audit

from . import application, jobs, render
from .services import Selection, application_preset, collect_titles


def _load(pupil_id: int | None) -> access.PupilAccess:
    """The pupil by id, or the logged-in pupil for the /mine/ routes; 404 without relation."""
    acc = access.load_pupil(current_user, current_user.id if pupil_id is None else pupil_id)
    access.require(acc.can_export())
    return acc


def _send(data: bytes, name: str, mimetype: str = "application/pdf"):
    response = send_file(BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


def _audit(acc: access.PupilAccess, document: str) -> None:
    audit.record(
        current_user,
        "pdf",
        pupil_id=acc.pupil.id,
        school_id=acc.pupil.school_id,
        details={"document": document},
    )


@bp.get("/mine/portfolio.pdf")
@bp.get("/pupil/<int:pupil_id>/portfolio.pdf")
@login_required
def portfolio(pupil_id: int | None = None):
    """The whole portfolio as far as the viewer may read it."""
    acc = _load(pupil_id)
    pdf = render.portfolio_pdf(acc)
    _audit(acc, "portfolio")
    return _send(pdf, render.file_name(acc.pupil, "portfolio"))


@bp.get("/mine/summary.pdf")
@bp.get("/pupil/<int:pupil_id>/summary.pdf")
@login_required
def family_summary(pupil_id: int | None = None):
    """One page for the family: progress, the agreement, the next steps."""
    acc = _load(pupil_id)
    pdf = render.summary_pdf(acc)
    _audit(acc, "summary")
    return _send(pdf, render.file_name(acc.pupil, "summary"))


def _selection_from(args) -> Selection:
    sections = {s for s in Section if s.value in args.getlist("section")}

    def ids(name: str) -> frozenset[int]:
        return frozenset(i for i in args.getlist(name, type=int) if i > 0)

    return Selection(
        frozenset(sections), ids("entry"), ids("document"), ids("agreement"), ids("guidance")
    )


@bp.get("/mine/choose")
@login_required
def choose():
    """The pupil ticks sections and single entries/documents for a PDF of just those."""
    acc = _load(None)
    content = collect_titles(acc)
    if request.args.get("preset") == "application":
        chosen = application_preset(content)
    else:
        chosen = _selection_from(request.args)
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


@bp.get("/mine/application.pdf")
@login_required
def application_pdf():
    """The application bundle: cover sheet, Lebenslauf, the chosen certificates and placements."""
    acc = _load(None)
    access.require(acc.is_self)
    chosen = application.options(acc).choice_from(request.args)
    if chosen.is_empty:
        flash(_("Please choose at least your CV, a certificate or a placement."), "error")
        return redirect(url_for("export.application_page"))
    pdf = render.application_pdf(acc, chosen)
    return _send(pdf, render.file_name(acc.pupil, "application"))


@bp.get("/mine/selection.pdf")
@login_required
def selection():
    acc = _load(None)
    chosen = _selection_from(request.args)
    if chosen.is_empty:
        flash(_("Please choose at least one section, entry or document."), "error")
        return redirect(url_for("export.choose"))
    pdf = render.portfolio_pdf(acc, chosen)
    return _send(pdf, render.file_name(acc.pupil, "selection"))


@bp.post("/class/<int:class_id>/zip")
@login_required
def class_zip(class_id: int):
    """Start the ZIP of a whole class's PDFs (what each pupil shared with teachers);
    its page shows the progress and then offers the download."""
    cls = access.load_class(current_user, class_id)
    access.require(access.teaches_class(current_user, class_id))
    job = jobs.start_class_zip(current_user, cls)
    return redirect(url_for("jobs.status", job_id=job.id))
