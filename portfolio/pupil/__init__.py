"""The pupil's own portfolio (blueprint "pupil") and the public rating page ("rate")."""

from flask import Blueprint

bp = Blueprint("pupil", __name__, url_prefix="/portfolio")
#: The public rating page of an external assessment (no login, a one-time link).
rate_bp = Blueprint("rate", __name__, url_prefix="/portfolio/rate")

from portfolio.pupil import rate, strengths_views, views  # noqa: E402, F401  (routes)
