"""Login, logout, password change and password reset by staff."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portfolio import access
from portfolio.auth import bp, services
from portfolio.auth.forms import ChangePasswordForm, ConfirmForm, LoginForm
from portfolio.auth.passwords import password_problem
from portfolio.extensions import limiter
from portfolio.i18n import _


def _safe_next(target: str | None) -> str | None:
    """Only local paths: never redirect to another host after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _account_key() -> str:
    return "login-account:" + services.normalise_username(request.form.get("username", ""))


def _failed(response) -> bool:
    # Only failed attempts count towards the limit; a successful login redirects.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=_failed,
    scope="login-address",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="login-account",
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.username.data, form.password.data)
        if user is not None:
            services.start_session(user)
            if user.must_change_password:
                return redirect(url_for("auth.change_password"))
            return redirect(_safe_next(request.args.get("next")) or url_for("main.index"))
        # One message for an unknown name and a wrong password alike.
        flash(_("Username or password is wrong."), "error")
        return render_template("auth/login.html", form=form), 200
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = ConfirmForm()
    if form.validate_on_submit():
        services.end_session(current_user._get_current_object())
        flash(_("You are logged out."), "success")
    return redirect(url_for("auth.login"))


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
    return render_template("auth/change_password.html", form=form, forced=user.must_change_password)


@bp.route("/pupils/<int:pupil_id>/reset-password", methods=["GET", "POST"])
@login_required
def reset_password(pupil_id: int):
    pupil_access = access.load_pupil(current_user, pupil_id)
    access.require(pupil_access.can_manage_account())
    form = ConfirmForm()
    new_password = None
    if form.validate_on_submit():
        new_password = services.reset_password(pupil_access.pupil)
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
