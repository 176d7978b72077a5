"""Staff pages: my classes, class overview, pupil view, dashboard, caseload, report."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError

from portfolio import access, clock, progress
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import Entry, ReviewState, SchoolClass
from portfolio.pagination import page_arg
from portfolio.privacy import audit
from portfolio.reference import element_name
from portfolio.review import bp, dashboard, report, services
from portfolio.review.actions import FILTERS
from portfolio.review.forms import RespondForm
from portfolio.security import id_arg


@bp.context_processor
def inject_helpers():
    return {"element_name": element_name, "state_legend": _state_legend}


def _state_legend() -> list[tuple[str, str]]:
    """(state, label) of every mark in the class overview, for its key."""
    labels = progress.STATE_LABELS
    return [
        (progress.DONE, str(labels[progress.DONE])),
        (progress.IN_PROGRESS, str(labels[progress.IN_PROGRESS])),
        (progress.DUE, str(labels[progress.DUE])),
        (progress.NOT_STARTED, str(labels[progress.NOT_STARTED])),
        ("carried", str(progress.CARRIED_LABEL)),
        (progress.OPTIONAL, str(labels[progress.OPTIONAL])),
        ("feedback", _("shared for feedback")),
    ]


def _me():
    return current_user._get_current_object()


@bp.route("/classes")
@login_required
def classes():
    user = _me()
    access.require(access.can_view_class_list(user))
    summaries = services.class_summaries(user, user.school)
    return render_template("review/classes.html", summaries=summaries, filters=FILTERS)


def load_class(user, class_id: int) -> SchoolClass:
    """A class of the user's school whose overview the user may open; 404/403 otherwise."""
    cls = access.load_class(user, class_id)
    access.require(access.teaches_class(user, class_id))
    return cls


@bp.route("/classes/<int:class_id>")
@login_required
def class_overview(class_id: int):
    user = _me()
    cls = load_class(user, class_id)
    overview = services.overview_from_args(
        cls, user.school, request.args, access.class_audiences(user, cls.id)
    )
    return render_template(
        "review/class_overview.html",
        o=overview,
        filters=FILTERS,
        filter_key=overview.filter_key,
        sort=overview.sort,
        descending=overview.descending,
        select_all=request.args.get("select") == "all",
        can_print_slips=access.can_print_slips(user, cls),
        today=clock.today(),
    )


def _came_from(user, pupil) -> services.ClassOverview | None:
    """The class overview (order and filter) the user came from, if any ("next pupil")."""
    class_id = request.args.get("cls", type=id_arg)
    if not class_id:
        return None
    cls = db.session.get(SchoolClass, class_id)
    if cls is None or cls.school_id != user.school_id or not access.teaches_class(user, cls.id):
        return None
    overview = services.overview_from_args(
        cls,
        user.school,
        request.args,
        access.class_audiences(user, cls.id),
        with_rows=False,
        around=pupil.id,
    )
    if not overview.lists(pupil.id):
        return None
    return overview


def _render_pupil(pupil_access, forms=None, status=200):
    pupil = pupil_access.pupil
    entries = services.shared_entries(pupil_access)
    forms = forms or {}
    for entry in entries:
        if entry.id not in forms and pupil_access.can_comment(entry):
            forms[entry.id] = RespondForm(prefix=f"e{entry.id}", formdata=None)
    pupil_class = progress.current_class(pupil)
    came_from = _came_from(_me(), pupil)
    return render_template(
        "review/pupil.html",
        came_from=came_from,
        neighbours=came_from.neighbours(pupil.id) if came_from else None,
        nav_args=dict(cls=came_from.school_class.id, **came_from.args_at(pupil.id))
        if came_from
        else {},
        pa=pupil_access,
        pupil=pupil,
        forms=forms,
        groups=services.grouped_entries(entries),
        qualities=services.school_qualities(pupil.school_id),
        progress=services.pupil_progress(pupil),
        pupil_class=pupil_class,
        can_open_class=pupil_class is not None and access.teaches_class(_me(), pupil_class.id),
        saved_draft=session.pop("review_draft_saved", None) if status == 200 else None,
        documents=services.shared_documents_count(pupil_access),
    ), status


@bp.route("/pupils/<int:pupil_id>")
@login_required
def pupil(pupil_id: int):
    user = _me()
    pupil_access = access.load_pupil(user, pupil_id)
    access.require(pupil_access.is_staff)
    audit.record(user, "view", pupil_id=pupil_id, obj=pupil_access.pupil)
    services.mark_pupil_news_read(user, pupil_access.pupil)
    return _render_pupil(pupil_access)


@bp.route("/entries/<int:entry_id>/respond", methods=["POST"])
@login_required
def respond(entry_id: int):
    user = _me()
    entry, pupil_access = access.load_shared(user, Entry, entry_id)
    access.require(pupil_access.can_comment(entry))
    form = RespondForm(prefix=f"e{entry.id}")
    action = request.form.get("action", "comment")
    # Back to the pupil's page in the order of the class overview the teacher came from.
    nav = {k: v for k, v in request.args.items() if k in ("cls", "filter", "sort", "dir")}
    back = url_for("review.pupil", pupil_id=entry.pupil_id, _anchor=f"entry-{entry.id}", **nav)
    if form.validate_on_submit():
        body = form.body.data or ""
        try:
            if action == "comment":
                if not body.strip():
                    raise services.ReviewError("empty")
                services.add_comment(entry, user, body)
                message = _("Your comment was sent to %(name)s.", name=entry.pupil.first_name)
            elif action in (ReviewState.REVIEWED.value, ReviewState.REVISION.value):
                access.require(pupil_access.can_review(entry))
                services.set_review(entry, user, ReviewState(action), body)
                message = (
                    _("Marked as reviewed. %(name)s has been told.", name=entry.pupil.first_name)
                    if action == ReviewState.REVIEWED.value
                    else _(
                        "%(name)s has been asked to revise the entry.", name=entry.pupil.first_name
                    )
                )
            else:
                abort(400)
            session["review_draft_saved"] = entry.id  # the browser may drop its draft
            flash(message, "success")
            return redirect(back)
        except services.ReviewError as error:
            db.session.rollback()
            if str(error) == "revision-needs-comment":
                form.body.errors.append(_("Please write what the pupil should revise."))
            else:
                form.body.errors.append(_("Please write a comment."))
        except StaleDataError:
            db.session.rollback()
            flash(
                _(
                    "%(name)s changed the entry just now. Please look at it again and then "
                    "send your answer; your text is still in the box.",
                    name=entry.pupil.first_name,
                ),
                "warning",
            )
    # Errors at the field, the typed text kept: the page again, with this form.
    pupil_access = access.load_pupil(user, entry.pupil_id)
    return _render_pupil(pupil_access, forms={entry.id: form}, status=400 if form.errors else 409)


@bp.route("/school")
@login_required
def stubo_dashboard():
    user = _me()
    access.require(access.can_view_school_overview(user))
    blocks = dashboard.school_dashboard(user.school)
    return render_template(
        "review/stubo_dashboard.html", blocks=blocks, texts=dashboard.CellTexts()
    )


@bp.route("/school.csv")
@login_required
def stubo_dashboard_csv():
    user = _me()
    access.require(access.can_view_school_overview(user))
    blocks = dashboard.school_dashboard(user.school)
    name = f"berufswahlpass-uebersicht-{clock.today().isoformat()}.csv"
    return Response(
        dashboard.dashboard_csv(blocks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/school/pupils")
@login_required
def school_pupils():
    """The school's pupils on demand: by class or filtered, one page at a time."""
    user = _me()
    access.require(access.can_view_school_overview(user))
    classes = dashboard.current_classes(user.school)
    class_id = request.args.get("class", type=id_arg)
    chosen_class = next((c for c in classes if c.id == class_id), None)
    grades = list(dict.fromkeys(c.grade for c in classes))
    grade = request.args.get("grade") if request.args.get("grade") in grades else None
    element_keys = {el.key for el in progress.visible_elements(user.school_id)}
    show = dashboard.parse_pupil_filter(request.args.get("show"), element_keys)
    q = (request.args.get("q") or "").strip()[:80]
    page = dashboard.school_pupils(
        user.school,
        class_id=chosen_class.id if chosen_class else None,
        grade=grade,
        show=show,
        q=q,
        page=request.args.get("page", type=page_arg) or 1,
    )
    args = {
        "class": chosen_class.id if chosen_class else "",
        "grade": grade or "",
        "show": show or "",
        "q": q,
    }
    return render_template(
        "review/school_pupils.html",
        page=page,
        classes=classes,
        grades=grades,
        chosen_class=chosen_class,
        grade=grade,
        show=show,
        q=q,
        args={k: v for k, v in args.items() if v},
        filters=dashboard.PUPIL_FILTERS,
        elements=[el for el in progress.visible_elements(user.school_id) if el.mandatory],
    )


@bp.route("/caseload")
@login_required
def caseload():
    user = _me()
    access.require(access.can_view_caseload(user))
    classes = dashboard.caseload_classes(user)
    class_id = request.args.get("class", type=id_arg)
    chosen_class = next((c for c in classes if c.id == class_id), None)
    show = request.args.get("show") if request.args.get("show") in FILTERS else None
    q = (request.args.get("q") or "").strip()[:80]
    page, no_consent = dashboard.caseload(
        user,
        user.school,
        q=q,
        class_id=chosen_class.id if chosen_class else None,
        show=show,
        page=request.args.get("page", type=page_arg) or 1,
    )
    args = {"class": chosen_class.id if chosen_class else "", "show": show or "", "q": q}
    return render_template(
        "review/caseload.html",
        page=page,
        rows=page.items,
        no_consent=no_consent,
        classes=classes,
        chosen_class=chosen_class,
        show=show,
        q=q,
        args={k: v for k, v in args.items() if v},
        filters=FILTERS,
        searched=bool(q or chosen_class or show),
    )


@bp.route("/coordination-report")
@login_required
def coordination_report():
    user = _me()
    access.require(access.can_view_coordination_report(user))
    reports = report.build_reports([user.school])
    if request.args.get("format") == "csv":
        name = f"koordinierungsstelle-{user.school.schulnummer}-{clock.today().isoformat()}.csv"
        return Response(
            report.report_csv(reports),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return render_template(
        "review/coordination_report.html",
        reports=reports,
        decision_label=report.decision_label,
        threshold=report.THRESHOLD,
    )
