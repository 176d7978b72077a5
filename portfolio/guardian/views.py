"""The families' pages: the children, their progress, what they share, what to sign."""

from __future__ import annotations

from functools import wraps

from flask import current_app, render_template, url_for
from flask_login import current_user, login_required
from jinja2 import TemplateNotFound

from portfolio import access, kinds
from portfolio.guardian import bp, services
from portfolio.i18n import _l
from portfolio.models import Role, Section
from portfolio.privacy import consent

#: The PDF downloads offered to families.
PDF_LINKS = (
    ("export.family_summary", _l("Summary for families (PDF)")),
    ("export.portfolio", _l("Portfolio (PDF)")),
)

SECTION_LABELS: dict[Section, object] = {
    Section.OFFERS: _l("Career orientation offers"),
    Section.MY_WAY: _l("My way to a career choice"),
    Section.DOCUMENTATION: _l("Documentation"),
    Section.LIFE_PLANNING: _l("Life planning"),
    Section.AGREEMENT: _l("Transition agreement"),
}


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


def _has_template(name: str) -> bool:
    try:
        current_app.jinja_env.get_template(name)
    except TemplateNotFound:
        return False
    return True


@bp.route("/family/")
@guardians_only
def home():
    children = services.overview(current_user)
    return render_template("guardian/home.html", children=children)


@bp.route("/family/child/<int:pupil_id>")
@guardians_only
def child(pupil_id: int):
    pupil_access = access.load_pupil(current_user, pupil_id)
    access.require(pupil_access.is_guardian)
    page = services.child_page(pupil_access.pupil)
    sections: list[tuple[object, list]] = []
    for entry in page.entries:
        label = SECTION_LABELS[entry.section]
        if not sections or sections[-1][0] is not label:
            sections.append((label, []))
        sections[-1][1].append((entry, kinds.spec_for(entry.kind)))
    from portfolio.pupil.display import entry_rows
    from portfolio.pupil.services import qualities_for

    html = render_template(
        "guardian/child.html",
        page=page,
        pupil=page.pupil,
        sections=sections,
        qualities=qualities_for(page.pupil.school_id),
        entry_rows=entry_rows,
        entry_macro=_has_template("macros/entry.html"),
        free_text=free_text,
        pdf_links=_pdf_links(page.pupil.id),
    )
    # Recorded after rendering: the commit would otherwise reload every row shown.
    services.record_view(current_user, pupil_access.pupil, page)
    return html


def _pdf_links(pupil_id: int) -> list[tuple[str, object]]:
    return [(url_for(endpoint, pupil_id=pupil_id), label) for endpoint, label in PDF_LINKS]


def free_text(spec: kinds.KindSpec) -> set[str]:
    """Names of the fields the child types freely (shown as written, marked German)."""
    names = set()
    for item in spec.fields:
        fields = item.fields if isinstance(item, kinds.Group) else (item,)
        names.update(f.name for f in fields if f.type in ("text", "textarea"))
    return names
