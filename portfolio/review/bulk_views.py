"""The class overview's bulk actions: mark waiting entries reviewed (with a confirmation
listing them), remind pupils of their due steps. Results are told as flash messages and
the teacher is back on the overview in the order and filter they had."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portfolio.i18n import _, listing, ngettext
from portfolio.review import bp, bulk
from portfolio.review.views import load_class
from portfolio.security import id_arg

#: The overview arguments a bulk form carries along (filter, sort, direction, page).
_KEEP = ("filter", "sort", "dir", "page")


def _back(cls):
    args = {k: request.form[k] for k in _KEEP if request.form.get(k)}
    return redirect(url_for("review.class_overview", class_id=cls.id, **args))


def _flash_skipped(result: bulk.BulkResult, heading: str) -> None:
    if not result.skipped:
        return
    parts = []
    for s in result.skipped:
        if s.what:
            parts.append(
                _(
                    "“%(title)s” of %(name)s (%(reason)s)",
                    title=s.what,
                    name=s.pupil.full_name,
                    reason=s.reason_text,
                )
            )
        else:
            parts.append(_("%(name)s (%(reason)s)", name=s.pupil.full_name, reason=s.reason_text))
    flash(heading + " " + listing(parts), "warning")


@bp.route("/classes/<int:class_id>/bulk", methods=["POST"])
@login_required
def bulk_action(class_id: int):
    """What the teacher asked for the chosen pupils: the review confirmation, or reminders."""
    user = current_user._get_current_object()
    cls = load_class(user, class_id)
    pupils = bulk.chosen_pupils(cls, request.form.getlist("pupil", type=id_arg))
    action = request.form.get("action")
    if action not in ("review", "remind"):
        abort(400)
    if not pupils:
        flash(_("Please choose at least one pupil."), "error")
        return _back(cls)
    if action == "remind":
        result = bulk.remind(user, cls, pupils)
        if result.done:
            flash(
                ngettext(
                    "%(num)d pupil was reminded of the steps due: %(names)s.",
                    "%(num)d pupils were reminded of the steps due: %(names)s.",
                    len(result.done),
                    names=listing(p.full_name for p, _w in result.done),
                ),
                "success",
            )
        _flash_skipped(result, _("Not reminded:"))
        return _back(cls)
    waiting = bulk.waiting_entries(user, cls, pupils)
    return render_template(
        "review/bulk_review.html",
        cls=cls,
        waiting=waiting,
        without=[p for p in pupils if p.id not in {w.pupil.id for w in waiting}],
        keep={k: request.form[k] for k in _KEEP if request.form.get(k)},
    )


def _versions(form) -> dict[int, int]:
    """entry id -> the version the teacher saw, for the ticked entries (bad input, and
    numbers that fit no INTEGER column, dropped)."""
    found = {}
    for raw in form.getlist("entry"):
        try:
            entry_id = id_arg(raw)
            found[entry_id] = id_arg(form.get(f"v-{entry_id}", ""))
        except ValueError:
            continue
    return found


@bp.route("/classes/<int:class_id>/bulk/review", methods=["POST"])
@login_required
def bulk_review(class_id: int):
    """Mark the ticked entries reviewed; each under the version the teacher saw."""
    user = current_user._get_current_object()
    cls = load_class(user, class_id)
    versions = _versions(request.form)
    if not versions:
        flash(_("No entry was chosen, so nothing was marked as reviewed."), "info")
        return _back(cls)
    result = bulk.mark_reviewed(user, cls, versions)
    if result.done:
        flash(
            ngettext(
                "%(num)d entry was marked as reviewed (%(pupils)s). The pupils have been told.",
                "%(num)d entries were marked as reviewed (%(pupils)s). The pupils have been told.",
                len(result.done),
                pupils=listing(dict.fromkeys(p.full_name for p, _w in result.done)),
            ),
            "success",
        )
    _flash_skipped(result, _("Not marked as reviewed:"))
    return _back(cls)
