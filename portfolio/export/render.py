"""Render the export documents: HTML from the templates, then PDF through portfolio.pdf."""

from __future__ import annotations

import re
import unicodedata

from markupsafe import Markup

from portfolio.access import PupilAccess
from portfolio.i18n import _
from portfolio.pdf import attachment, css_string, html_to_pdf, page_counter_css, render_html

from . import application
from .services import PortfolioContent, Selection, collect
from .summary import family_summary


def portfolio_html(
    access: PupilAccess, selection: Selection | None = None, *, note: str | None = None
) -> tuple[str, PortfolioContent]:
    """The final HTML of the portfolio PDF and the content it was made from; `note`
    replaces the cover's line on what the PDF holds (a take-away package's scope)."""
    content = collect(access, selection)
    if note:
        content.audience_note = note
    html = render_html(
        "pdf/portfolio.html",
        c=content,
        page_counter=page_counter_css(),
        selection=selection is not None and not selection.is_empty,
        running_title=Markup(css_string(_("Berufswahlpass"))),
    )
    return html, content


def nothing_shared_message(access: PupilAccess) -> str:
    name = access.pupil.full_name
    if access.is_guardian:
        return _("%(name)s has not shared anything with the family yet.", name=name)
    return _("%(name)s has not shared anything with school staff yet.", name=name)


def portfolio_pdf(
    access: PupilAccess, selection: Selection | None = None, *, note: str | None = None
) -> bytes:
    """The portfolio as far as the reader may read it; one page saying so when the pupil
    has shared nothing with the reader (so that it is not mistaken for an empty portfolio).
    `note` replaces the cover's line on what the PDF holds (a take-away package's scope)."""
    html, content = portfolio_html(access, selection, note=note)
    if not access.is_self and not content.has_shared:
        html = render_html(
            "pdf/nothing_shared.html", c=content, message=nothing_shared_message(access)
        )
    return html_to_pdf(
        html,
        attachments=[attachment(data, name, title) for data, name, title in content.attachments],
    )


def application_html(
    access: PupilAccess, choice: application.Choice
) -> tuple[str, application.Bundle]:
    """The final HTML of the application bundle (cover, Lebenslauf, the chosen parts)."""
    bundle = application.bundle(access, choice)
    html = render_html("pdf/application.html", b=bundle, page_counter=page_counter_css())
    return html, bundle


def application_pdf(access: PupilAccess, choice: application.Choice) -> bytes:
    """The application bundle, the chosen PDF certificates attached as they were uploaded."""
    html, bundle = application_html(access, choice)
    return html_to_pdf(
        html,
        attachments=[
            attachment(data, name, title) for data, name, title in bundle.content.attachments
        ],
    )


def summary_html(access: PupilAccess) -> str:
    return render_html(
        "pdf/family_summary.html", s=family_summary(access), page_counter=page_counter_css()
    )


def summary_pdf(access: PupilAccess) -> bytes:
    return html_to_pdf(summary_html(access))


def file_name(pupil, what: str) -> str:
    """A download name like "Berufswahlpass_Yılmaz_Elif.pdf" (no path or control characters)."""
    label = {
        "portfolio": _("Berufswahlpass"),
        "selection": _("Berufswahlpass-selection"),
        "summary": _("Family-summary"),
        "application": _("Application"),
    }.get(what, what)
    text = unicodedata.normalize("NFC", f"{label}_{pupil.last_name}_{pupil.first_name}")
    text = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f\s]+', "-", text).strip("-_.") or "portfolio"
    return f"{text[:100]}.pdf"
