"""Start pages, language choice and the static information pages."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from portfolio.auth.views import _safe_next
from portfolio.extensions import db
from portfolio.i18n import LANGUAGES
from portfolio.main import bp
from portfolio.models import Role

#: Start page of each role after login, first match wins.
ROLE_HOME: list[tuple[Role, str]] = [
    (Role.PUPIL, "pupil.home"),
    (Role.ADMIN, "admin.home"),
    (Role.STUBO, "review.stubo_dashboard"),
    (Role.TEACHER, "review.classes"),
    (Role.COUNSELLOR, "review.caseload"),
    (Role.GUARDIAN, "guardian.home"),
]


def home_endpoint(user) -> str | None:
    for role, endpoint in ROLE_HOME:
        if role in user.roles:
            return endpoint
    return None


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    endpoint = home_endpoint(current_user)
    if endpoint:
        return redirect(url_for(endpoint))
    return render_template("main/start.html")


@bp.route("/language", methods=["POST"])
def set_language():
    form = FlaskForm()
    code = request.form.get("language", "")
    if not form.validate_on_submit() or code not in LANGUAGES:
        abort(400)
    session["locale"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("main.index"))


@bp.route("/healthz")
def healthz():
    """For load balancers: the app process answers (no database, no session)."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/barrierefreiheit")
def accessibility():
    return render_template("main/accessibility.html")


@bp.route("/datenschutz")
def privacy():
    return render_template("main/privacy.html")
