"""The public rating page of an external assessment: no login, a one-time link."""

from __future__ import annotations

from flask import abort, render_template

from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import User
from portfolio.pupil import assessments, forms, services
from portfolio.pupil import rate_bp as bp


@bp.route("/<token>", methods=["GET", "POST"])
def rate(token: str):
    request_ = assessments.find(token)
    if request_ is None:
        abort(404)
    pupil = db.session.get(User, request_.pupil_id)
    state = assessments.link_state(request_)
    if state != "open":
        return render_template(
            "pupil/rate_closed.html", state=state, first_name=pupil.first_name
        ), 410
    qualities = services.qualities_for(request_.school_id)
    form = forms.rater_form_class(qualities)()
    if form.validate_on_submit():
        ratings = {k: int(v) for k, v in form.ratings.data.items() if v}
        comment = form.comment.data or ""
        if not ratings and not comment.strip():
            form.comment.errors = list(form.comment.errors) + [
                _("Please rate at least one quality or write a comment.")
            ]
        else:
            try:
                assessments.submit_answer(request_, ratings, comment)
            except assessments.LinkUnusable as exc:
                return render_template(
                    "pupil/rate_closed.html", state=exc.reason, first_name=pupil.first_name
                ), 410
            return render_template(
                "pupil/rate_thanks.html", first_name=pupil.first_name, request_id=request_.id
            )
    return render_template(
        "pupil/rate.html",
        form=form,
        first_name=pupil.first_name,
        request_=request_,
        qualities=qualities,
    )
