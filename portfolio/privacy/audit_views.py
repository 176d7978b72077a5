"""The school's audit log for the school admin: filter, page through, download as CSV.

There are deliberately no routes that change or delete log entries.
"""

from __future__ import annotations

from flask import Response, render_template, request, stream_with_context
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from portfolio import access, clock
from portfolio.privacy import audit, audit_log, bp
from portfolio.privacy.forms import AuditFilterForm
from portfolio.security import id_arg


def _filters() -> tuple[AuditFilterForm, audit_log.Filters]:
    school_id = current_user.school_id
    form = AuditFilterForm(request.args)
    form.action.choices = [SelectChoice("", "–")] + [
        SelectChoice(a, str(audit_log.ACTION_LABELS.get(a, a)))
        for a in audit_log.known_actions(school_id)
    ]
    filters = audit_log.Filters()
    if form.validate():
        filters = audit_log.Filters(
            pupil=(form.pupil.data or "").strip(),
            actor=(form.actor.data or "").strip(),
            action=form.action.data or "",
            date_from=form.date_from.data,
            date_to=form.date_to.data,
        )
    filters.pupil_id = request.args.get("pupil_id", type=id_arg)
    return form, filters


def _args() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k != "page" and v}


@bp.route("/admin/audit", endpoint="audit")
@login_required
def audit_log_page():
    access.require(access.can_administer_privacy(current_user))
    form, filters = _filters()
    page = audit_log.school_events(
        current_user.school_id, filters, request.args.get("page", 1, type=int) or 1
    )
    return render_template(
        "privacy/audit.html",
        form=form,
        page=page,
        args=_args(),
        role_label=audit_log.role_label,
        action_labels=audit_log.ACTION_LABELS,
    )


@bp.route("/admin/audit.csv")
@login_required
def audit_csv():
    access.require(access.can_administer_privacy(current_user))
    _form, filters = _filters()
    audit.record(
        current_user,
        "export",
        school_id=current_user.school_id,
        details={"what": "audit_log"},
    )
    name = f"audit-log-{clock.today().strftime('%Y%m%d')}.csv"
    return Response(
        stream_with_context(audit_log.csv_lines(current_user.school_id, filters)),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
