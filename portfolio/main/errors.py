"""Error pages in the user's language."""

from __future__ import annotations

from flask import Flask, current_app, flash, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from portfolio import transaction
from portfolio.extensions import db
from portfolio.i18n import _

_TEMPLATES = {
    400: "errors/400.html",
    403: "errors/403.html",
    404: "errors/404.html",
    410: "errors/410.html",
    413: "errors/413.html",
    429: "errors/429.html",
}


def _form_page() -> str | None:
    """The page the expired form came from: the referrer (same origin), else the same
    URL when it also answers GET."""
    if request.method != "POST":
        return None
    if request.referrer and request.referrer.startswith(request.host_url):
        return request.referrer
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        adapter.match(request.path, method="GET")
    except HTTPException:
        return None
    return request.full_path.rstrip("?")


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        # Usually an expired session: back to the form with a message; forms keep a
        # draft in the browser (static/js/app.js) so nothing typed is lost.
        db.session.rollback()
        flash(_("The form had expired. Please check your input and send it again."), "error")
        target = _form_page()
        if target:
            return redirect(target)
        return render_template("errors/400.html", error=error), 400

    # A write that met another one saved at the same moment (usually at the request's
    # COMMIT, portfolio/transaction.py): nothing of it was kept, and the user is told so.
    @app.errorhandler(StaleDataError)
    def changed_meanwhile(error):
        return render_template("errors/409.html"), 409

    @app.errorhandler(IntegrityError)
    def saved_meanwhile(error: IntegrityError):
        if not transaction.is_conflict(error):
            raise error
        return render_template("errors/409.html"), 409

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        template = _TEMPLATES.get(error.code or 500, "errors/generic.html")
        return render_template(template, error=error), error.code or 500

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render_template("errors/500.html"), 500
