"""Login, logout, password change and password reset by staff."""

from __future__ import annotations

import math

from flask import (
    flash,
    has_request_context,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from portfolio import access
from portfolio.auth import bp, services, throttle
from portfolio.auth.forms import ChangePasswordForm, ConfirmForm, LoginForm
from portfolio.auth.passwords import password_problem
from portfolio.i18n import _
from portfolio.privacy import audit_log
from portfolio.security import safe_next


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    username = services.normalise_username(form.username.data)
    verdict = throttle.check(username)
    if verdict.wait:
        return _throttled(form, verdict.wait)
    user = services.authenticate(username, form.password.data)
    if user is None:
        throttle.failed(username, verdict)
        # One message for an unknown name and a wrong password alike.
        flash(_("Username or password is wrong."), "error")
        return render_template("auth/login.html", form=form), 200
    throttle.succeeded(username)
    services.start_session(user)
    if user.must_change_password:
        response = redirect(url_for("auth.change_password"))
    else:
        response = redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    throttle.remember_device(response, username)
    return response


def _throttled(form: LoginForm, wait: int):
    """The login form again, with how long to wait; the password is not checked."""
    minutes = max(1, math.ceil(wait / 60))
    response = make_response(
        render_template("auth/login.html", form=form, wait_minutes=minutes), 429
    )
    response.headers["Retry-After"] = str(wait)
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("auth.login"))
    services.end_session(current_user._get_current_object())
    # Unsaved drafts stay in this browser's storage; the next user of a shared computer
    # must not find them. The browser removes them on this header (local storage, not
    # cookies: the device cookie stays), and the next page does it again for browsers
    # that ignore the header (static/js/app.js).
    session["wipe_drafts"] = True
    flash(_("You are logged out."), "success")
    response = redirect(url_for("auth.login"))
    response.headers["Clear-Site-Data"] = '"storage"'
    return response


@bp.app_context_processor
def draft_context():
    """For base.html: whose drafts this page may keep, and whether to remove all."""
    if not has_request_context():  # PDFs made by a command
        return {}
    wipe = bool(session.pop("wipe_drafts", False)) if "wipe_drafts" in session else False
    owner = services.draft_owner(current_user) if current_user.is_authenticated else ""
    return {"draft_owner": owner, "wipe_drafts": wipe}


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        if not user.check_password(form.current_password.data):
            form.current_password.errors.append(_("The current password is wrong."))
        elif form.new_password.data == form.current_password.data:
            form.new_password.errors.append(_("Please choose a new password."))
        else:
            problem = password_problem(user, form.new_password.data)
            if problem:
                form.new_password.errors.append(problem)
            else:
                services.change_password(user, form.new_password.data)
                flash(_("Your password has been changed."), "success")
                return redirect(url_for("main.index"))
    # After a reset by staff, say who set the password: the pupil is the one to notice a
    # reset they did not ask for.
    new_password_by = (
        audit_log.last_new_password(user.id)
        if user.must_change_password and user.is_pupil
        else None
    )
    return render_template(
        "auth/change_password.html",
        form=form,
        forced=user.must_change_password,
        new_password_by=new_password_by,
    )


@bp.route("/pupils/<int:pupil_id>/reset-password", methods=["GET", "POST"])
@login_required
def reset_password(pupil_id: int):
    pupil_access = access.load_pupil(current_user, pupil_id)
    access.require(pupil_access.can_manage_account())
    form = ConfirmForm()
    new_password = None
    if form.validate_on_submit():
        new_password = services.reset_password(
            pupil_access.pupil, current_user._get_current_object()
        )
    return render_template(
        "auth/reset_password.html", form=form, pupil=pupil_access.pupil, new_password=new_password
    )


@bp.before_app_request
def force_password_change():
    """Until the initial password is changed, only the change page and logout work."""
    if (
        current_user.is_authenticated
        and current_user.must_change_password
        and request.endpoint
        not in {"auth.change_password", "auth.logout", "static", "main.set_language"}
    ):
        return redirect(url_for("auth.change_password"))
    return None
