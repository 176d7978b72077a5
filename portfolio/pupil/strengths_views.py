"""Strengths over time: the comparison page and the external-assessment requests."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, session, url_for
from flask_login import current_user

from portfolio import access, charts
from portfolio.auth.forms import ConfirmForm
from portfolio.i18n import _
from portfolio.models import AssessmentRequest, EntryKind
from portfolio.pupil import assessments, bp, forms, services

NEW_LINK_KEY = "assessment_link"


def _me():
    return current_user._get_current_object()


@bp.route("/strengths")
def strengths():
    me = _me()
    qualities = services.qualities_for(me.school_id)
    entries = services.entries_for(me, kinds=[EntryKind.STRENGTHS, EntryKind.EXTERNAL_ASSESSMENT])
    comparison = assessments.comparison(me, qualities, entries)
    return render_template(
        "pupil/strengths.html",
        comparison=comparison,
        chart=charts.strengths_chart(qualities, comparison.series),
        entries=entries,
    )


def _request_form(me):
    form = forms.AssessmentRequestForm()
    people = assessments.rater_accounts(me)
    form.rater_user_id.choices = forms.choices(
        [("", _("No account"))] + [(str(u.id), u.full_name) for u in people]
    )
    return form, {str(u.id): u for u in people}


@bp.route("/assessments", methods=["GET", "POST"])
def assessment_requests():
    me = _me()
    form, people = _request_form(me)
    if form.validate_on_submit():
        rater_id = form.rater_user_id.data or ""
        if rater_id and rater_id not in people:
            form.rater_user_id.errors = [_("Please choose one of the options.")]
        else:
            _request, token = assessments.create_request(
                me,
                form.rater_name.data,
                form.relation.data,
                rater_user_id=people[rater_id].id if rater_id else None,
            )
            session[NEW_LINK_KEY] = token
            return redirect(url_for(".assessment_requests", _anchor="new-link"))
    token = session.pop(NEW_LINK_KEY, None)
    new_link = url_for("rate.rate", token=token, _external=True) if token else None
    requests = assessments.requests_for(me)
    new_request = requests[0] if token and requests else None
    return render_template(
        "pupil/assessments.html",
        form=form,
        requests=requests,
        pending=assessments.pending_answers(requests),
        new_link=new_link,
        new_request=new_request,
        confirm=ConfirmForm(),
        link_state=assessments.link_state,
        relation_labels=assessments.RELATION_LABELS,
        qualities=services.qualities_for(me.school_id),
    )


@bp.route("/assessments/<int:request_id>/<any(accept, decline, withdraw):action>", methods=["POST"])
def assessment_action(request_id: int, action: str):
    request_ = access.load_own(_me(), AssessmentRequest, request_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        if action == "accept":
            entry = assessments.accept(request_)
            flash(_("Added to your portfolio. Only you can see it until you share it."), "success")
            return redirect(url_for(".entry", entry_id=entry.id))
        if action == "decline":
            assessments.decline(request_)
            flash(_("Declined. The answer was deleted."), "success")
        else:
            assessments.withdraw(request_)
            flash(_("The link no longer works."), "success")
    except ValueError:
        flash(_("This was already decided."), "info")
    return redirect(url_for(".assessment_requests"))
