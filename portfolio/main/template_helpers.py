"""Filters and globals for all templates: dates in Europe/Berlin, language, roles."""

from __future__ import annotations

import datetime as dt

import jinja2
from flask import Flask, g, get_template_attribute, request
from flask_babel import format_date, format_datetime, format_decimal, format_percent
from markupsafe import Markup, escape

from portfolio import access, display, kinds
from portfolio.auth.passwords import min_length_for
from portfolio.i18n import LANGUAGES, _l, current_language, is_rtl, listing
from portfolio.models import Role

#: Staff roles, each with a help page (main.help).
STAFF_ROLES_IN_ORDER = (Role.TEACHER, Role.STUBO, Role.COUNSELLOR, Role.ADMIN)
#: Main navigation: (role, endpoint, label), in the order shown; a user with several
#: roles sees each page once.
NAV_LINKS: list[tuple[Role, str, object]] = [
    (Role.PUPIL, "pupil.home", _l("My portfolio")),
    (Role.PUPIL, "pupil.timeline", _l("Timeline")),
    (Role.PUPIL, "export.choose", _l("Berufswahlpass as PDF")),
    (Role.PUPIL, "notifications.index", _l("News")),
    (Role.TEACHER, "review.classes", _l("My classes")),
    (Role.STUBO, "review.stubo_dashboard", _l("School overview")),
    (Role.COUNSELLOR, "review.caseload", _l("My pupils")),
    (Role.GUARDIAN, "guardian.home", _l("My children")),
    (Role.ADMIN, "admin.home", _l("Administration")),
    (Role.STUBO, "admin.home", _l("Administration")),
    (Role.STUBO, "review.classes", _l("Classes")),
    (Role.STUBO, "review.coordination_report", _l("Coordination report")),
    (Role.ADMIN, "review.coordination_report", _l("Coordination report")),
    *((role, "notifications.index", _l("News")) for role in Role if role != Role.PUPIL),
    (Role.PUPIL, "privacy.home", _l("My data")),
    (Role.GUARDIAN, "privacy.home", _l("Data protection")),
    *((role, "main.help_index", _l("Help")) for role in STAFF_ROLES_IN_ORDER),
]


#: Shown to anybody who has background jobs (class ZIPs, take-away packages, slips).
DOWNLOADS_LINK = ("jobs.index", _l("My downloads"))


def nav_links(user) -> list[tuple[Role | None, str, object]]:
    from portfolio.jobs.services import has_jobs

    seen: set[str] = set()
    links: list[tuple[Role | None, str, object]] = []
    for role, endpoint, label in NAV_LINKS:
        if role in user.roles and endpoint not in seen:
            seen.add(endpoint)
            links.append((role, endpoint, label))
    if has_jobs(user):
        # Before "Help", which stays last.
        at = next((i for i, link in enumerate(links) if link[1] == "main.help_index"), len(links))
        links.insert(at, (None, *DOWNLOADS_LINK))
    return links


def _date(value, format: str = "medium") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return format_datetime(value, "short" if format == "medium" else format)
    return format_date(value, format)


def _datetime(value, format: str = "short") -> str:
    if value is None:
        return ""
    return format_datetime(value, format)


def _nl2br(value: str | None) -> Markup:
    """Line breaks of the user's text as <br>, everything else escaped."""
    if not value:
        return Markup("")
    return Markup("<br>\n").join(escape(line) for line in str(value).splitlines())


def _macro_once(template: str, macro: str, key: tuple, *args) -> Markup:
    """The HTML of `macro` of `template` for `args`, rendered once per request for each
    `key` (everything the macro reads of its arguments): list pages show the same few
    cells, bars and flags in row after row."""
    memo = g.setdefault("_macros", {})
    found = memo.get((template, macro, key))
    if found is None:
        found = memo[(template, macro, key)] = Markup(
            get_template_attribute(template, macro)(*args)
        )
    return found


def _look(steps) -> tuple:
    """What a cell of steps shows (the `cell` macro reads nothing else of a step)."""
    return tuple((s.state, s.is_past, s.carried, s.half) for s in steps)


def state_cell(steps, waiting: bool = False) -> Markup:
    """The class overview's cell of a pupil's steps of one element: the `cell` macro of
    review/_state.html, rendered once per request for each look of a cell. A class has a
    few dozen different cells, but a page shows up to 50 pupils times 15 elements."""
    waiting = bool(waiting)
    return _macro_once("review/_state.html", "cell", (_look(steps), waiting), steps, waiting)


def open_items(actions, compact: bool = False) -> Markup:
    """A pupil's open items as flags in a list row: the `gaps` macro of review/_state.html,
    rendered once per request for each look (most rows of a class share one)."""
    due = (
        actions.due_count
        if compact
        else tuple((s.name, s.half, s.half_label, s.overdue, s.due_by) for s in actions.due)
    )
    key = (
        compact,
        due,
        actions.count,
        actions.waiting,
        actions.placements_without_evaluation,
        actions.goals_overdue,
        actions.goal_overdue_since,
    )
    return _macro_once("review/_state.html", "gaps", key, actions, compact)


#: Stands for the label in `progress_stat`'s kept HTML (no text of a label has it).
_LABEL = "\x00label\x00"


def progress_stat(figure, label: str) -> Markup:
    """A list row's progress bar with its text: the `figure_stat` macro of
    macros/progress.html, rendered once per request for each figure, its label (the
    pupil's name, for screen readers) put in each time."""
    key = (figure.done, figure.total, figure.percent)
    html = _macro_once("macros/progress.html", "figure_stat", key, figure, _LABEL)
    return Markup(html.replace(_LABEL, str(escape(label))))


def state_cells(cells: dict, waiting: set[str], columns: list[tuple[str, str]]) -> Markup:
    """A class overview row's cells, one <td> per column ((element key, column name)): the
    cells of `state_cell`, put together once per request for each look of a whole row
    (pupils at the same point share one), instead of one template call per cell."""
    key = tuple((_look(cells.get(k, ())), k in waiting) for k, _name in columns)
    memo = g.setdefault("_state_rows", {})
    html = memo.get(key)
    if html is None:
        html = memo[key] = Markup("").join(
            Markup(
                '<td class="kern-table__cell bwp-matrix__cell" role="cell" data-label="{}">{}</td>'
            ).format(name, state_cell(cells.get(k, ()), k in waiting))
            for k, name in columns
        )
    return html


class Template(jinja2.Template):
    """A template whose render context lets go of the page's data once it is rendered.

    The macros a template defines refer to its context, and the context to them: a
    reference cycle, which kept everything the view handed to the template (a list
    page's 50 rows, their steps and figures: two thirds of what a class overview of
    1,500 pupils leaves behind) until the garbage collector came by, instead of freeing
    it with the last reference. `render` is Jinja's own, plus the `finally`."""

    def render(self, *args, **kwargs) -> str:
        ctx = self.new_context(dict(*args, **kwargs))
        try:
            return self.environment.concat(self.root_render_func(ctx))  # type: ignore[attr-defined]
        except Exception:
            self.environment.handle_exception()
        finally:
            ctx.vars.clear()
            ctx.exported_vars.clear()


def register(app: Flask) -> None:
    app.jinja_env.template_class = Template
    app.add_template_filter(_date, "date")
    app.add_template_filter(_datetime, "datetime")
    app.add_template_filter(_nl2br, "nl2br")
    app.add_template_filter(listing, "listing")
    app.add_template_filter(lambda key, names: str(names.get(key, key)), "field_label")
    app.add_template_filter(format_decimal, "number")
    app.add_template_filter(format_percent, "percent")
    # Portfolio content: the display models for templates/macros/display.html, and the
    # labels of sections, kinds and states from portfolio.kinds.
    app.add_template_global(display.entry_view, "entry_view")
    app.add_template_global(display.agreement_view, "agreement_view")
    app.add_template_global(display.guidance_view, "guidance_view")
    app.add_template_global(display.own, "own_text")
    app.add_template_global(kinds.SECTIONS, "SECTIONS")
    app.add_template_global(kinds.REVIEW_STATES, "REVIEW_STATES")
    app.add_template_global(kinds.STATUS_LABELS, "STATUS_LABELS")
    app.add_template_global(kinds.entry_title, "entry_title")
    app.add_template_global(state_cells, "state_cells")
    app.add_template_global(open_items, "open_items")
    app.add_template_global(progress_stat, "progress_stat")

    @app.context_processor
    def inject_globals():
        return {
            "LANGUAGES": LANGUAGES,
            "current_language": current_language(),
            "text_direction": "rtl" if is_rtl() else "ltr",
            "Role": Role,
            # The access rules, for templates that decide whether to show a link.
            "permissions": access,
            "nav_links": nav_links,
            "min_password_length": min_length_for,
            "request_path": request.full_path.rstrip("?") if request else "/",
        }
