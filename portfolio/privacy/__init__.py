"""Data protection: consents, the audit log and "who looked", the take-away package,
leaving school and deletion; the pupils' and guardians' pages (/privacy) and the
school admin's (/admin/consents, /admin/audit, /admin/leaving, /admin/import)."""

from flask import Blueprint

bp = Blueprint("privacy", __name__)

from portfolio.privacy import (  # noqa: E402, F401  (routes on bp)
    audit_views,
    consent_views,
    import_views,
    leaving_views,
    views,
)
