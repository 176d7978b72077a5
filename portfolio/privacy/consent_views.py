"""Administration of consents: the school's overview and the paper-form record per pupil."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portfolio import access, accounts
from portfolio.i18n import _
from portfolio.models import ConsentPurpose
from portfolio.privacy import bp, consent
from portfolio.privacy.forms import PaperConsentForm, PupilSearchForm


@bp.route("/admin/consents")
@login_required
def school_consents():
    # Every pupil's consents: the school admin's (the StuBO and class teachers record a
    # paper form per pupil from the pupil's account page).
    access.require(access.can_administer_privacy(current_user))
    school = current_user.school
    form = PupilSearchForm(request.args)
    classes = accounts.year_classes(school)
    class_id = request.args.get("class_id", type=int)
    if class_id not in {c.id for c in classes}:
        class_id = None
    q = (form.q.data or "").strip() if form.validate() else ""
    rows, page, pages = consent.school_overview(
        school, q=q, class_id=class_id, page=request.args.get("page", 1, type=int) or 1
    )
    return render_template(
        "privacy/consents_school.html",
        form=form,
        rows=rows,
        page=page,
        pages=pages,
        classes=classes,
        class_id=class_id,
        q=q,
        purposes=consent.PURPOSES,
        labels=consent.PURPOSE_LABELS,
    )


@bp.route("/admin/consents/<int:pupil_id>", methods=["GET", "POST"])
@login_required
def consent_pupil(pupil_id: int):
    acc = access.load_pupil(current_user, pupil_id)
    access.require(acc.can_manage_account())
    pupil = acc.pupil
    form = PaperConsentForm()
    if form.validate_on_submit():
        purpose = ConsentPurpose(form.purpose.data)
        try:
            if form.action.data == "give":
                consent.give(pupil, purpose, current_user, "staff")
                flash(
                    _(
                        "The consent of %(name)s is recorded: %(purpose)s.",
                        name=pupil.full_name,
                        purpose=consent.PURPOSE_LABELS[purpose],
                    ),
                    "success",
                )
            else:
                consent.withdraw(pupil, purpose, current_user)
                flash(
                    _(
                        "The withdrawal is recorded and applies at once: %(purpose)s.",
                        purpose=consent.PURPOSE_LABELS[purpose],
                    ),
                    "success",
                )
            return redirect(url_for("privacy.consent_pupil", pupil_id=pupil.id))
        except consent.ConsentError as error:
            form.action.errors.append(str(error))
    history = consent.history(pupil.id)
    return render_template(
        "privacy/consent_pupil.html",
        form=form,
        pupil=pupil,
        history=history,
        active=consent.active_by_purpose(pupil.id),
        purposes=consent.PURPOSES,
        labels=consent.PURPOSE_LABELS,
        role_labels=consent.ROLE_LABELS,
        withdrawn_names=consent.user_names(
            {c.withdrawn_by_id for c in history if c.withdrawn_by_id}
        ),
        decides=consent.who_may_consent(pupil, pupil.school),
        consent_age=pupil.school.consent_age,
        can_see_overview=access.can_administer_privacy(current_user),
    )
