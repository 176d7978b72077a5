"""The pupil's own portfolio (blueprint "pupil") and the public rating page ("rate")."""

from flask import Blueprint

bp = Blueprint("pupil", __name__, url_prefix="/portfolio")

from portfolio.pupil import strengths_views, views  # noqa: F401  (routes on bp)
