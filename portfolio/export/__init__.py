"""PDF export: the whole portfolio, a chosen selection, the family summary, class ZIPs."""

from flask import Blueprint

bp = Blueprint("export", __name__, url_prefix="/export")

from portfolio.export import views  # noqa: E402, F401  (routes on bp)
