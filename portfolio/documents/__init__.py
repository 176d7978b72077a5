"""Uploaded documents: certificates, report cards, CV and applications (Dokumentation)."""

from flask import Blueprint

bp = Blueprint("documents", __name__, url_prefix="/documents")

from portfolio.documents import views  # noqa: E402, F401  (routes on bp)
