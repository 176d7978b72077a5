"""The Anschlussvereinbarung (transition agreement): versions, signatures, locking."""

from flask import Blueprint

bp = Blueprint("agreement", __name__, url_prefix="/agreement")

from portfolio.agreement import views  # noqa: E402, F401  (routes on bp)
