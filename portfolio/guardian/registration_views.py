"""Public page: parents register with the code from the school's letter.

The address is short (/eltern) because parents type it from paper. Failed attempts are
throttled per address like the login,
and a wrong, expired or used code gets one and the same answer.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user

from portfolio.auth.services import start_session
from portfolio.extensions import db, limiter
from portfolio.guardian import bp, registration
from portfolio.guardian.forms import GuardianLinkCodeForm, GuardianRegisterForm
from portfolio.i18n import _, current_language
from portfolio.models import Role
from portfolio.notifications import preferences


def _failed(response) -> bool:
    return response.status_code != 302


@bp.route("/eltern", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config.get("GUARDIAN_CODE_LIMIT", "10 per 15 minutes"),
    methods=["POST"],
    deduct_when=_failed,
    scope="guardian-code",
)
def register():
    if current_user.is_authenticated:
        return _link_child()
    form = GuardianRegisterForm()
    if not form.is_submitted():
        form.language.data = current_language()
    if form.validate_on_submit():
        try:
            guardian = registration.register_guardian(
                form.code.data,
                first_name=form.first_name.data,
                last_name=form.last_name.data,
                username=form.username.data,
                password=form.password.data,
                locale=form.language.data,
                email=(form.email.data or "") if preferences.mail_enabled() else "",
            )
        except registration.RegistrationError as error:
            db.session.rollback()
            getattr(form, error.field or "code").errors.append(str(error))
        else:
            start_session(guardian)
            session["locale"] = guardian.locale
            flash(
                _("Welcome, %(name)s! Your account is ready.", name=guardian.first_name), "success"
            )
            if guardian.email:
                flash(
                    _(
                        "We are sending a link to %(address)s. Please open it to confirm the "
                        "address; until then we send no e-mail to it.",
                        address=guardian.email,
                    ),
                    "info",
                )
            return redirect(url_for("main.index"))
    return render_template(
        "guardian/register.html", form=form, mail_enabled=preferences.mail_enabled()
    )


def _link_child():
    if not current_user.has_role(Role.GUARDIAN):
        return render_template("guardian/register.html", form=None, wrong_role=True)
    form = GuardianLinkCodeForm()
    if form.validate_on_submit():
        try:
            pupil = registration.link_with_code(current_user._get_current_object(), form.code.data)
        except registration.RegistrationError as error:
            db.session.rollback()
            form.code.errors.append(str(error))
        else:
            flash(_("%(name)s is now linked to your account.", name=pupil.first_name), "success")
            return redirect(url_for("main.index"))
    return render_template("guardian/link.html", form=form)
