"""The pupil's and the guardians' side of data protection: consents, who looked, take-away."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portfolio import access
from portfolio.collation import collated
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.jobs import services as jobs
from portfolio.models import ConsentPurpose, GuardianLink, User
from portfolio.privacy import audit_log, bp, consent, lifecycle
from portfolio.privacy import takeaway as takeaway_job
from portfolio.privacy.forms import ConfirmForm, ConsentActionForm


def _page_arg() -> int:
    return request.args.get("page", 1, type=int) or 1


@bp.route("/privacy/")
@login_required
def home():
    """The pupil's own privacy page, or a guardian's list of children."""
    user = current_user._get_current_object()
    if user.is_pupil:
        return redirect(url_for("privacy.consents", pupil_id=user.id))
    children = list(
        db.session.scalars(
            sa.select(User)
            .join(GuardianLink, GuardianLink.pupil_id == User.id)
            .where(GuardianLink.guardian_id == user.id)
            .order_by(collated(User.first_name), User.id)
        )
    )
    access.require(bool(children))
    return render_template("privacy/home.html", children=children)


@bp.route("/privacy/<int:pupil_id>/consents", methods=["GET", "POST"])
@login_required
def consents(pupil_id: int):
    acc = access.load_pupil(current_user, pupil_id)
    access.require(acc.is_self or acc.is_guardian)
    pupil = acc.pupil
    school = pupil.school
    role = consent.decider_role(acc, school)
    form = ConsentActionForm()
    if request.method == "POST":
        access.require(role is not None)
        if not form.validate_on_submit():
            flash(_("Please choose a consent and try again."), "error")
            return redirect(url_for("privacy.consents", pupil_id=pupil_id))
        purpose = ConsentPurpose(form.purpose.data)
        try:
            if form.action.data == "give":
                consent.give(pupil, purpose, current_user, role)
                flash(
                    _(
                        "Thank you. Your consent has been saved: %(purpose)s.",
                        purpose=consent.PURPOSE_LABELS[purpose],
                    ),
                    "success",
                )
            else:
                consent.withdraw(pupil, purpose, current_user)
                flash(
                    _(
                        "The consent has been withdrawn and no longer applies: %(purpose)s.",
                        purpose=consent.PURPOSE_LABELS[purpose],
                    ),
                    "success",
                )
        except consent.ConsentError as error:
            flash(str(error), "warning")
        return redirect(url_for("privacy.consents", pupil_id=pupil_id))
    history = consent.history(pupil.id)
    withdrawn_names = consent.user_names({c.withdrawn_by_id for c in history if c.withdrawn_by_id})
    return render_template(
        "privacy/consents.html",
        acc=acc,
        pupil=pupil,
        role=role,
        active=consent.active_by_purpose(pupil.id),
        history=history,
        withdrawn_names=withdrawn_names,
        purposes=consent.PURPOSES,
        labels=consent.PURPOSE_LABELS,
        explanations=consent.PURPOSE_EXPLANATIONS,
        role_labels=consent.ROLE_LABELS,
        consent_age=school.consent_age,
        age_reached=consent.consent_age_reached(pupil, school),
    )


@bp.route("/privacy/<int:pupil_id>/who-looked")
@login_required
def who_looked(pupil_id: int):
    acc = access.load_pupil(current_user, pupil_id)
    access.require(acc.can_view_access_log())
    page = audit_log.who_looked(acc.pupil.id, _page_arg(), with_titles=acc.is_self)
    # Changes to the account on the first page, above the views (they are few).
    account_events = audit_log.account_events(acc.pupil.id) if page.page == 1 else None
    return render_template(
        "privacy/who_looked.html",
        acc=acc,
        pupil=acc.pupil,
        page=page,
        account_events=account_events,
    )


@bp.route("/privacy/<int:pupil_id>/take-away", methods=["GET", "POST"])
@login_required
def takeaway(pupil_id: int):
    """What the package holds; POST starts making it (a job whose page offers the ZIP)."""
    acc = access.load_pupil(current_user, pupil_id)
    access.require(acc.can_take_away())
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            flash(_("Please try again."), "error")
            return redirect(url_for("privacy.takeaway", pupil_id=pupil_id))
        job = takeaway_job.start_takeaway(current_user, acc.pupil)
        return redirect(url_for("jobs.status", job_id=job.id))
    return render_template(
        "privacy/takeaway.html",
        acc=acc,
        pupil=acc.pupil,
        deletion_date=lifecycle.deletion_date(acc.pupil, acc.pupil.school),
        form=ConfirmForm(),
        latest=jobs.latest(current_user, takeaway_job.TAKEAWAY, pupil_id=acc.pupil.id),
    )
