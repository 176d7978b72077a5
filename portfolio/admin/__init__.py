"""Administration: accounts, staff, guardian links, counsellor assignment, school year."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from portfolio.admin import views  # noqa: E402, F401  (routes on bp)
