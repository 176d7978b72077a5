"""Pupils leaving school: mark as left, see deletion dates, set the retention period."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_login import current_user, login_required

from portfolio import access, clock
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.jobs import services as jobs
from portfolio.models import PupilStatus
from portfolio.pagination import page_arg
from portfolio.privacy import bp, lifecycle
from portfolio.privacy import takeaway as takeaway_jobs
from portfolio.privacy.forms import ConfirmForm, MarkLeftForm, PupilSearchForm, RetentionForm


def _require_admin() -> None:
    access.require(access.can_administer_privacy(current_user))


def _leaving_page(retention_form: RetentionForm | None = None):
    school = current_user.school
    search = PupilSearchForm(request.args)
    q = (search.q.data or "").strip() if search.validate() else ""
    left = lifecycle.left_pupils(school, request.args.get("page", type=page_arg) or 1)
    retention_form = retention_form or RetentionForm(retention_days=school.retention_days)
    return render_template(
        "privacy/leaving.html",
        search=search,
        q=q,
        found=lifecycle.find_active_pupils(school, q) if q else [],
        left=[(p, lifecycle.deletion_date(p, school)) for p in left.items],
        left_page=left,
        retention_form=retention_form,
        confirm_form=ConfirmForm(),
        today=clock.today(),
        max_days=lifecycle.MAX_RETENTION_DAYS,
    )


@bp.route("/admin/leaving")
@login_required
def leaving():
    _require_admin()
    return _leaving_page()


@bp.route("/admin/leaving/retention", methods=["POST"])
@login_required
def retention():
    _require_admin()
    form = RetentionForm()
    if form.validate_on_submit():
        try:
            lifecycle.set_retention_days(
                current_user.school, form.retention_days.data, current_user
            )
        except lifecycle.LifecycleError as error:
            form.retention_days.errors.append(str(error))
        else:
            flash(
                _(
                    "Data of pupils who left is now deleted %(days)d days after leaving.",
                    days=form.retention_days.data,
                ),
                "success",
            )
            return redirect(url_for("privacy.leaving"))
    return _leaving_page(retention_form=form), 400


@bp.route("/admin/leaving/<int:pupil_id>", methods=["GET", "POST"])
@login_required
def mark_left(pupil_id: int):
    acc = access.load_pupil(current_user, pupil_id)
    _require_admin()
    pupil = acc.pupil
    if pupil.status == PupilStatus.LEFT:
        flash(_("%(name)s is already marked as left.", name=pupil.full_name), "info")
        return redirect(url_for("privacy.leaving"))
    form = MarkLeftForm(left_on=clock.today()) if request.method == "GET" else MarkLeftForm()
    if form.validate_on_submit():
        try:
            lifecycle.mark_left(pupil, form.left_on.data, current_user)
        except lifecycle.LifecycleError as error:
            form.left_on.errors.append(str(error))
        else:
            flash(
                _(
                    "%(name)s is marked as left. The data will be deleted on %(date)s.",
                    name=pupil.full_name,
                    date=format_date(lifecycle.deletion_date(pupil, pupil.school)),
                ),
                "success",
            )
            # Next: the pupil's take-away package, if the school hands it over.
            return redirect(url_for("privacy.leaver_takeaway", pupil_id=pupil.id))
    school = pupil.school
    return render_template(
        "privacy/leaving_mark.html",
        form=form,
        pupil=pupil,
        retention_days=lifecycle.effective_retention(school),
    )


@bp.route("/admin/leaving/<int:pupil_id>/undo", methods=["POST"])
@login_required
def undo_left(pupil_id: int):
    acc = access.load_pupil(current_user, pupil_id)
    _require_admin()
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            lifecycle.undo_left(acc.pupil, current_user)
            flash(_("%(name)s is an active pupil again.", name=acc.pupil.full_name), "success")
        except lifecycle.LifecycleError as error:
            flash(str(error), "warning")
    return redirect(url_for("privacy.leaving"))


@bp.route("/admin/leaving/<int:pupil_id>/take-away", methods=["GET", "POST"])
@login_required
def leaver_takeaway(pupil_id: int):
    """A leaver's take-away package made by the school: the whole portfolio with its PDF,
    for a pupil marked as left (e.g. one who can no longer log in). Audited."""
    pupil = access.load_pupil(current_user, pupil_id).pupil  # 404 first, as undo_left
    _require_admin()
    allowed = access.can_make_leaver_package(current_user, pupil)
    if request.method == "POST":
        if not allowed:
            flash(_("%(name)s has not left school.", name=pupil.full_name), "warning")
            return redirect(url_for("privacy.leaver_takeaway", pupil_id=pupil_id))
        if not ConfirmForm().validate_on_submit():
            flash(_("Please try again."), "error")
            return redirect(url_for("privacy.leaver_takeaway", pupil_id=pupil_id))
        job = takeaway_jobs.start_leaver_takeaway(current_user, pupil)
        db.session.flush()  # the job's id for the address; the request commits
        return redirect(url_for("jobs.status", job_id=job.id))
    return render_template(
        "privacy/leaver_takeaway.html",
        pupil=pupil,
        allowed=allowed,
        deletion_date=lifecycle.deletion_date(pupil, pupil.school),
        form=ConfirmForm(),
        latest=jobs.latest(current_user, takeaway_jobs.LEAVER_TAKEAWAY, pupil_id=pupil.id),
    )
