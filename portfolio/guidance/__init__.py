"""Guidance records (Beratung): staff record sessions, the pupil adds notes."""

from flask import Blueprint

bp = Blueprint("guidance", __name__, url_prefix="/guidance")

from portfolio.guidance import views  # noqa: E402, F401  (routes on bp)
