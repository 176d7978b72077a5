"""Anschlussvereinbarung pages, addressed by pupil id so that every role shares them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portfolio import access, kinds
from portfolio.agreement import bp, services
from portfolio.agreement.forms import AgreementForm, SharingForm, SignForm, form_data
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import Agreement


@bp.context_processor
def _helpers():
    return {
        "signer_roles": kinds.AGREEMENT_SIGNER_ROLES,
        "guiding_questions": kinds.AGREEMENT_GUIDING_QUESTIONS,
        "missing_for_signing": services.missing_for_signing,
    }


def _home(acc: access.PupilAccess) -> str:
    if acc.is_self:
        return url_for(".index")
    return url_for(".overview", pupil_id=acc.pupil.id)


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    # An id or version that no INTEGER column can hold (was a 500 on PostgreSQL).
    return number if -(2**31) <= number < 2**31 else None


def _page(acc: access.PupilAccess, number: int | None = None, sign_form: SignForm | None = None):
    all_versions = services.versions(acc.pupil.id)
    visible = [a for a in all_versions if acc.can_view_shared(a)]
    if number is None:
        shown = visible[0] if visible else None
    else:
        shown = next((a for a in visible if a.number == number), None)
        if shown is None:
            abort(404)
    role = acc.can_sign_agreement_as()
    can_sign = bool(
        shown is not None
        and role
        and shown is visible[0]
        and not shown.is_locked
        and services.signature_for(shown, role) is None
    )
    if can_sign and sign_form is None:
        sign_form = SignForm(agreement_id=shown.id, version=shown.version, formdata=None)
    sharing_form = None
    if acc.is_self and all_versions:
        sharing_form = SharingForm(
            formdata=None,
            share_guardians=all_versions[0].share_guardians,
            share_counsellor=all_versions[0].share_counsellor,
        )
    html = render_template(
        "agreement/overview.html",
        acc=acc,
        pupil=acc.pupil,
        shown=shown,
        versions=visible,
        hidden_exists=bool(all_versions) and not visible,
        latest=visible[0] if visible else None,
        sign_role=role if can_sign else None,
        sign_form=sign_form if can_sign else None,
        sharing_form=sharing_form,
        can_edit=acc.can_edit_agreement(),
        current_grade=services.current_grade(acc.pupil),
    )
    if shown is not None and not acc.is_self:
        services.record_view(current_user, acc.pupil, shown)
    return html


@bp.route("/")
@login_required
def index():
    return _page(access.load_pupil(current_user, current_user.id))


@bp.route("/pupil/<int:pupil_id>")
@login_required
def overview(pupil_id: int):
    acc = access.load_pupil(current_user, pupil_id)
    if acc.is_self:
        return redirect(url_for(".index"))
    return _page(acc)


@bp.route("/pupil/<int:pupil_id>/version/<int:number>")
@login_required
def version(pupil_id: int, number: int):
    return _page(access.load_pupil(current_user, pupil_id), number=number)


@bp.route("/pupil/<int:pupil_id>/edit", methods=["GET", "POST"])
@login_required
def edit(pupil_id: int):
    acc = access.load_pupil(current_user, pupil_id)
    access.require(acc.can_edit_agreement())
    latest = next(iter(services.versions(pupil_id)), None)
    conflict = False
    form = AgreementForm()
    if form.validate_on_submit():
        agreement_id, loaded = _int(form.agreement_id.data), _int(form.version.data)
        expected = (agreement_id, loaded) if agreement_id else None
        try:
            saved, outcome = services.save(
                acc.pupil,
                form.content(),
                expected=expected,
                actor=current_user._get_current_object(),
            )
        except services.AgreementError:
            # Keep what was typed; from now on the form names the current version, so
            # saving again replaces the other change knowingly.
            conflict = True
            latest = next(iter(services.versions(pupil_id)), None)
            form.agreement_id.data = latest.id if latest else ""
            form.version.data = latest.version if latest else ""
        else:
            flash(
                _outcome_message(outcome, saved), "warning" if outcome == "unsigned" else "success"
            )
            return redirect(_home(acc))
    elif not form.is_submitted():
        form = AgreementForm(formdata=None, data=form_data(services.content_of(latest)))
        form.agreement_id.data = latest.id if latest else ""
        form.version.data = latest.version if latest else ""
    html = render_template(
        "agreement/edit.html",
        form=form,
        acc=acc,
        pupil=acc.pupil,
        latest=latest,
        conflict=conflict,
        back=_home(acc),
    )
    if latest is not None and not acc.is_self and request.method == "GET":
        # The form shows the agreement: staff opening it is a view like any other.
        # After rendering: the audit commit would expire the objects the page shows.
        services.record_view(current_user, acc.pupil, latest, page="edit")
    return html


def _outcome_message(outcome: str, agreement: Agreement) -> str:
    if outcome == "new_version":
        return _("Saved as version %(n)d. It needs new signatures.", n=agreement.number)
    if outcome == "unsigned":
        return _(
            "Saved. Because the content changed, the signatures so far were removed: "
            "everyone signs the new content again."
        )
    if outcome == "unchanged":
        return _("Nothing was changed.")
    return _("The agreement has been saved.")


@bp.route("/pupil/<int:pupil_id>/sign", methods=["POST"])
@login_required
def sign(pupil_id: int):
    acc = access.load_pupil(current_user, pupil_id)
    role = acc.can_sign_agreement_as()
    access.require(role is not None)
    form = SignForm()
    agreement = db.session.get(Agreement, _int(form.agreement_id.data) or 0)
    if agreement is None or agreement.pupil_id != pupil_id:
        abort(404)
    access.require(acc.can_view_shared(agreement))
    if not form.validate_on_submit():
        return _page(acc, sign_form=form)
    try:
        signed = services.sign(
            agreement.id, current_user, role, expected_version=_int(form.version.data) or 0
        )
    except services.AgreementError as error:
        flash(error.message, "error")
    else:
        if signed.is_locked:
            flash(
                _("Thank you for signing. All signatures are there: the agreement is now locked."),
                "success",
            )
        else:
            flash(_("Thank you for signing version %(n)d.", n=signed.number), "success")
    return redirect(_home(acc))


@bp.route("/sharing", methods=["POST"])
@login_required
def sharing():
    acc = access.load_pupil(current_user, current_user.id)
    form = SharingForm()
    if form.validate_on_submit():
        services.set_sharing(
            acc.pupil.id, guardians=form.share_guardians.data, counsellor=form.share_counsellor.data
        )
        flash(_("Your choice has been saved."), "success")
    return redirect(url_for(".index"))
