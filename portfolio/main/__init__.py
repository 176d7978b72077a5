"""Start pages, language choice, static information pages, errors, template helpers."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from portfolio.main import views  # noqa: E402, F401  (routes on bp)
