"""Roster import, login slips and the school-year change (routes on the admin blueprint)."""

from __future__ import annotations

import re

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portfolio import access
from portfolio.admin import account_services, slips
from portfolio.admin import rollover as school_year
from portfolio.admin.forms import RosterCommitForm, RosterUploadForm, SlipsForm, options
from portfolio.admin.roster import parse_roster
from portfolio.admin.roster_services import (
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
from portfolio.admin.views import bp, managers_only, me
from portfolio.auth.forms import ConfirmForm
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import SchoolClass


# -- roster import ------------------------------------------------------------------------
@bp.route("/roster", methods=["GET", "POST"])
@managers_only
def roster_upload():
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
            return redirect(url_for("admin.roster_preview", token=token))
    return render_template("admin/roster_upload.html", form=form)


def _load_upload(token: str):
    found = UploadStore().get(token, user_id=current_user.id)
    if found is None or found[1]["school_id"] != current_user.school_id:
        return None
    return found


@bp.route("/roster/<token>", methods=["GET", "POST"])
@managers_only
def roster_preview(token: str):
    found = _load_upload(token)
    if found is None:
        flash(
            _(
                "The uploaded file is no longer here (it is kept for one hour). Please "
                "upload it again."
            ),
            "warning",
        )
        return redirect(url_for("admin.roster_upload"))
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
            db.session.commit()
        except ImportRefused as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            UploadStore().delete(token)
            return render_template("admin/roster_done.html", result=result, download=download)
    return render_template(
        "admin/roster_preview.html",
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
        return render_template("admin/download_gone.html"), 410
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
        "admin/classes.html", classes=account_services.class_sizes(current_user.school)
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
    form.pupils.choices = options((p.id, p.sort_name) for p in pupils)
    if request.method == "GET":
        form.pupils.data = []
    if form.validate_on_submit():
        chosen = [p for p in pupils if p.id in set(form.pupils.data)]
        passwords = slips.reset_passwords(chosen)
        prepared = slips.prepare(
            [(p, school_class.name, passwords[p.id]) for p in chosen],
            letters=form.letters.data,
            fallback_locale=form.letter_locale.data,
        )
        pdf = slips.render(
            current_user.school, prepared, title=_("Login slips %(name)s", name=school_class.name)
        )
        token = slips.OneTimeFiles().put(
            pdf,
            user_id=current_user.id,
            filename=f"zugangsdaten-{re.sub(r'[^A-Za-z0-9-]', '', school_class.name)}.pdf",
        )
        db.session.commit()
        return render_template(
            "admin/slips_done.html", school_class=school_class, count=len(chosen), download=token
        )
    return render_template(
        "admin/class_slips.html", form=form, school_class=school_class, pupils=pupils
    )


# -- the new school year -------------------------------------------------------------------
@bp.route("/school-year", methods=["GET", "POST"])
@login_required
def rollover():
    access.require(access.can_run_rollover(current_user))
    school = current_user.school
    the_plan = school_year.plan(school)
    form = ConfirmForm()
    if form.validate_on_submit() and not the_plan.not_due:
        year = school_year.run(the_plan)
        db.session.commit()
        flash(
            _(
                "The school year %(year)s has started: %(moving)d pupils moved up, %(left)d "
                "left school.",
                year=year.name,
                moving=the_plan.moving,
                left=the_plan.leavers,
            ),
            "success",
        )
        return redirect(url_for("admin.home"))
    return render_template("admin/rollover.html", plan=the_plan, form=form)
