"""Roster import from SchILD-NRW, classes and login slips (under /admin)."""

from __future__ import annotations

import re

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portfolio import access
from portfolio.admin import services as account_services
from portfolio.admin.forms import options
from portfolio.admin.views import managers_only, me
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import SchoolClass
from portfolio.roster import bp, slips
from portfolio.roster import jobs as slip_jobs
from portfolio.roster.forms import LettersForm, RosterCommitForm, RosterUploadForm, SlipsForm
from portfolio.roster.parse import parse_roster
from portfolio.roster.services import (
    CHANGED,
    ERROR,
    NEW,
    UNCHANGED,
    ImportRefused,
    UploadStore,
    apply_import,
    build_preview,
    change_label,
)


# -- roster import ------------------------------------------------------------------------
@bp.route("/roster", methods=["GET", "POST"])
@managers_only
def upload():
    form = RosterUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        if not data.strip():
            form.file.errors.append(_("The file is empty."))
        else:
            token = UploadStore().put(
                data,
                user_id=current_user.id,
                school_id=current_user.school_id,
                filename=upload.filename or "",
            )
            return redirect(url_for("roster.preview", token=token))
    return render_template("roster/upload.html", form=form)


def _load_upload(token: str):
    found = UploadStore().get(token, user_id=current_user.id)
    if found is None or found[1]["school_id"] != current_user.school_id:
        return None
    return found


@bp.route("/roster/<token>", methods=["GET", "POST"])
@managers_only
def preview(token: str):
    found = _load_upload(token)
    if found is None:
        flash(
            _(
                "The uploaded file is no longer here (it is kept for one hour). Please "
                "upload it again."
            ),
            "warning",
        )
        return redirect(url_for("roster.upload"))
    data, meta = found
    school = current_user.school
    preview = build_preview(school, parse_roster(data, meta["filename"]))
    form = RosterCommitForm()
    if form.validate_on_submit():
        try:
            result = apply_import(
                school, me(), preview, only_valid=form.only_valid.data, filename=meta["filename"]
            )
            download = None
            if result.created:
                entries = [(p, row.class_name, pw) for p, pw, row in result.created]
                names = {
                    p.id: row.guardian_name for p, _pw, row in result.created if row.guardian_name
                }
                prepared = slips.prepare(
                    entries,
                    letters=form.letters.data,
                    fallback_locale=form.letter_locale.data,
                    guardian_names=names,
                )
                pdf = slips.render(school, prepared, title=_("Login slips"))
                download = slips.OneTimeFiles().put(
                    pdf, user_id=current_user.id, filename="zugangsdaten-neue-schueler.pdf"
                )
        except ImportRefused as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            UploadStore().delete(token)
            return render_template("roster/done.html", result=result, download=download)
    return render_template(
        "roster/preview.html",
        preview=preview,
        form=form,
        filename=meta["filename"],
        NEW=NEW,
        CHANGED=CHANGED,
        UNCHANGED=UNCHANGED,
        ERROR=ERROR,
        change_label=change_label,
    )


@bp.route("/download/<token>")
@login_required
def download(token: str):
    """A one-time file (login slips): served once to the user who made it."""
    found = slips.OneTimeFiles().take(token, user_id=current_user.id)
    if found is None:
        return render_template("roster/download_gone.html"), 410
    data, filename = found
    if not re.fullmatch(r"[\w.-]+", filename):
        filename = "download.pdf"
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- classes and login slips ---------------------------------------------------------------
@bp.route("/classes")
@managers_only
def classes():
    return render_template(
        "roster/classes.html", classes=account_services.class_sizes(current_user.school)
    )


@bp.route("/classes/<int:class_id>/slips", methods=["GET", "POST"])
@login_required
def class_slips(class_id: int):
    school_class = db.session.get(SchoolClass, class_id)
    if school_class is None or school_class.school_id != current_user.school_id:
        abort(404)
    access.require(access.can_print_slips(current_user, school_class))
    pupils = account_services.class_pupils(school_class)
    form = SlipsForm()
    _choose_pupils(form, pupils)
    if form.validate_on_submit():
        job = slip_jobs.start_class_slips(
            current_user,
            school_class,
            [p.id for p in pupils if p.id in set(form.pupils.data)],
            letters=form.letters.data,
            locale=form.letter_locale.data,
        )
        return redirect(url_for("jobs.status", job_id=job.id))
    return render_template(
        "roster/class_slips.html", form=form, school_class=school_class, pupils=pupils
    )


def _choose_pupils(form, pupils) -> None:
    """The pupils as choices; on the first visit none ticked, or all with ?select=all
    ("Tick all" without JavaScript)."""
    form.pupils.choices = options((p.id, p.sort_name) for p in pupils)
    if request.method == "GET":
        form.pupils.data = [p.id for p in pupils] if request.args.get("select") == "all" else []


@bp.route("/classes/<int:class_id>/letters", methods=["GET", "POST"])
@login_required
def class_letters(class_id: int):
    """Letters with registration codes for the parents, without new passwords (a job)."""
    school_class = db.session.get(SchoolClass, class_id)
    if school_class is None or school_class.school_id != current_user.school_id:
        abort(404)
    access.require(access.can_print_guardian_letters(current_user, school_class))
    pupils = account_services.class_pupils(school_class)
    form = LettersForm()
    _choose_pupils(form, pupils)
    if form.validate_on_submit():
        job = slip_jobs.start_guardian_letters(
            current_user,
            school_class,
            [p.id for p in pupils if p.id in set(form.pupils.data)],
            locale=form.letter_locale.data,
        )
        return redirect(url_for("jobs.status", job_id=job.id))
    return render_template(
        "roster/class_letters.html", form=form, school_class=school_class, pupils=pupils
    )


@bp.errorhandler(slips.PublicUrlMissing)
def public_url_missing(error):
    """Production without PUBLIC_URL: nothing was changed (the request's transaction is rolled
    back) and the school's IT is told what to set."""
    db.session.rollback()
    return render_template("roster/public_url_missing.html"), 503
