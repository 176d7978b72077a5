"""In-app notifications ("News"): what happened to a user's things since they last looked."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/news")

from portfolio.notifications import views  # noqa: E402, F401  (routes on bp)
