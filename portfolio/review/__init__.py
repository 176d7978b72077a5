"""The staff side of review: class overviews, the pupil view, comments, dashboards, reports."""

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")

from portfolio.review import bulk_views, views  # noqa: E402, F401  (routes on bp)
