"""Start pages, language choice and the static information pages."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from portfolio import access, progress
from portfolio.i18n import LANGUAGES, _l
from portfolio.main import bp
from portfolio.models import Role
from portfolio.reference import element_name
from portfolio.security import safe_next

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
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))


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


#: Help per staff role: URL name -> (the role it is for, title).
HELP_PAGES: dict[str, tuple[Role, object]] = {
    "class-teacher": (Role.TEACHER, _l("Help for class teachers")),
    "stubo": (Role.STUBO, _l("Help for the StuBO")),
    "counsellor": (Role.COUNSELLOR, _l("Help for counsellors")),
    "school-admin": (Role.ADMIN, _l("Help for the school admin")),
}


def _help_pages_of(user) -> list[str]:
    return [key for key, (role, _title) in HELP_PAGES.items() if role in user.roles]


@bp.route("/help/")
@login_required
def help_index():
    """The help of the user's staff role; a list when they have several."""
    access.require(access.can_read_staff_help(current_user))
    mine = _help_pages_of(current_user)
    if len(mine) == 1:
        return redirect(url_for("main.help_page", page=mine[0]))
    return render_template("main/help/index.html", pages=HELP_PAGES, mine=mine)


@bp.route("/help/<page>")
@login_required
def help_page(page: str):
    access.require(access.can_read_staff_help(current_user))
    if page not in HELP_PAGES:
        abort(404)
    return render_template(
        f"main/help/{page}.html",
        title=HELP_PAGES[page][1],
        page=page,
        others=[k for k in _help_pages_of(current_user) if k != page],
        pages=HELP_PAGES,
        elements=progress.visible_elements(current_user.school_id),
        element_name=element_name,
        half_labels=progress.HALF_LABELS,
    )
