"""The families' pages: the children, their progress, what they share, what to sign."""

from __future__ import annotations

from functools import wraps

from flask import render_template, url_for
from flask_login import current_user, login_required

from portfolio import access, kinds
from portfolio.guardian import bp, services
from portfolio.i18n import _l
from portfolio.models import Role
from portfolio.privacy import consent

#: The PDF downloads offered to families.
PDF_LINKS = (
    ("export.family_summary", _l("Summary for families (PDF)")),
    ("export.portfolio", _l("Portfolio (PDF)")),
)


def guardians_only(view):
    """Logged in as a guardian; 403 for everybody else."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        access.require(current_user.has_role(Role.GUARDIAN))
        return view(*args, **kwargs)

    return wrapped


@bp.context_processor
def _helpers():
    return {"purpose_labels": consent.PURPOSE_LABELS}


@bp.route("/family/")
@guardians_only
def home():
    children = services.overview(current_user)
    return render_template("guardian/home.html", children=children)


@bp.route("/family/child/<int:pupil_id>")
@login_required
def child(pupil_id: int):
    pupil_access = access.load_pupil(current_user, pupil_id)
    access.require(pupil_access.is_guardian)
    page = services.child_page(pupil_access.pupil)
    sections: list[tuple[object, list]] = []
    for entry in page.entries:
        label = kinds.section_label(entry.section)
        if not sections or sections[-1][0] != label:
            sections.append((label, []))
        sections[-1][1].append((entry, kinds.spec_for(entry.kind)))
    from portfolio.pupil.services import qualities_for

    html = render_template(
        "guardian/child.html",
        page=page,
        pupil=page.pupil,
        sections=sections,
        qualities=qualities_for(page.pupil.school_id),
        pdf_links=_pdf_links(page.pupil.id),
    )
    services.record_view(current_user, pupil_access.pupil, page)
    return html


def _pdf_links(pupil_id: int) -> list[tuple[str, object]]:
    return [(url_for(endpoint, pupil_id=pupil_id), label) for endpoint, label in PDF_LINKS]
