"""SchILD-NRW roster import, classes and login slips (pages under /admin)."""

from flask import Blueprint

bp = Blueprint("roster", __name__, url_prefix="/admin")

from portfolio.roster import views  # noqa: E402, F401  (routes on bp)
