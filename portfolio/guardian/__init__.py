"""The families' side: registration with the letter's code, the children's pages."""

from flask import Blueprint

bp = Blueprint("guardian", __name__)

from portfolio.guardian import registration_views, views  # noqa: E402, F401  (routes on bp)
