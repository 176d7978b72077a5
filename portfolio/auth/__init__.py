"""Logging in and out, passwords, login sessions and throttling."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from portfolio.auth import views  # noqa: E402, F401  (routes on bp)
