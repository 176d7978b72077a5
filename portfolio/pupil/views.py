"""The pupil's portfolio pages: start page, timeline, sections and entries of every kind."""

from __future__ import annotations

from babel.lists import format_list
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from portfolio import access, pagecache, progress
from portfolio.auth.forms import ConfirmForm
from portfolio.i18n import _
from portfolio.kinds import AUDIENCES, FEEDBACK_AUDIENCES, SPECS, STAGE_LABELS, offered_in
from portfolio.models import Entry, EntryKind, ReviewState, Section
from portfolio.notifications import services as news
from portfolio.pupil import bp, forms, services
from portfolio.reference import SCALE, element_description, element_name, quality_name


@bp.before_request
@login_required
def _only_pupils():
    """The pupil's own pages: 403 for others. A URL that names an entry or a request is
    left to its loader (404 for who may not see it, 403 for who may but is no owner)."""
    if not {"entry_id", "request_id"} & (request.view_args or {}).keys():
        access.own_portfolio(current_user)


@bp.app_template_filter("element_label")
def _element_label(element) -> str:
    return element_name(element)


@bp.app_template_filter("element_text")
def _element_text(element) -> str:
    return element_description(element)


@bp.app_template_filter("quality_label")
def _quality_label(quality) -> str:
    return quality_name(quality)


def _scale_label(value) -> str:
    return str(dict(SCALE).get(value, ""))


@bp.context_processor
def _pupil_context():
    return {
        "drafts_saved": session.pop("drafts_saved", []) if session.get("drafts_saved") else [],
        "Section": Section,
        "ReviewState": ReviewState,
        "visibility_text": services.visibility_text,
        "asked_text": services.asked_text,
        "SPECS": SPECS,
        "scale_label": _scale_label,
    }


def _me():
    return current_user._get_current_object()


def _own_entry(entry_id: int) -> Entry:
    entry, pupil_access = access.load_shared(_me(), Entry, entry_id)
    access.require(pupil_access.can_edit_own())
    return entry


def _spec(kind: str):
    spec = services.spec_or_none(kind)
    if spec is None:
        abort(404)
    return spec


def _draft_saved(key: str) -> None:
    session["drafts_saved"] = [*session.get("drafts_saved", []), key]


def _element_link(element) -> str | None:
    kind = element.entry_kind
    if kind == "agreement":
        return url_for("agreement.index")
    if kind == "guidance":
        return url_for("guidance.mine")
    if kind in SPECS:
        return url_for(".kind", kind=kind)
    return None


# -- start page, timeline, sections ----------------------------------------------------------
@bp.route("/")
def home():
    return pagecache.page(_home)


def _home() -> str:
    me = _me()
    mine = progress.of_pupil(me, own_work=True)
    entries = services.entries_for(me)
    overdue = [(e, services.overdue_steps(e)) for e in entries if e.kind == EntryKind.GOAL]
    return render_template(
        "pupil/home.html",
        grade=mine.grade,
        current=mine.current,
        next_step=mine.next_step(),
        element_link=_element_link,
        revisions=[e for e in entries if e.review_state == ReviewState.REVISION],
        overdue=[(e, steps) for e, steps in overdue if steps],
        unread=news.unread_count(me),
        entry_count=len(entries),
    )


@bp.route("/timeline")
def timeline():
    mine = progress.of_pupil(_me(), own_work=True)
    return render_template("pupil/timeline.html", mine=mine, element_link=_element_link)


@bp.route("/section/<section>")
def section(section: str):
    try:
        sec = Section(section)
    except ValueError:
        abort(404)
    me = _me()
    if sec == Section.DOCUMENTATION:
        return redirect(url_for("documents.index"))
    if sec == Section.AGREEMENT:
        return redirect(url_for("agreement.index"))
    grade = progress.pupil_grade(me)
    context = {"section": sec, "grade": grade, "element_link": _element_link}
    if sec == Section.OFFERS:
        mine = progress.of_pupil(me, own_work=True)
        context["elements"] = progress.elements_for_school(me.school_id)
        context["steps"] = mine.current.by_element() if mine.current else {}
    else:
        specs = services.offered_kinds(grade, sec)
        context["specs"] = [s for s in specs if s.kind != EntryKind.EXTERNAL_ASSESSMENT]
        context["by_kind"] = services.entries_by_kind(
            services.entries_for(me, kinds=[s.kind for s in specs])
        )
    return render_template("pupil/section.html", **context)


@bp.route("/kinds")
def kinds():
    me = _me()
    grade = progress.pupil_grade(me)
    by_kind = services.entries_by_kind(services.entries_for(me))
    offered = {s.kind for s in services.offered_kinds(grade, section=None)}
    return render_template(
        "pupil/kinds.html",
        # The kinds of her grade, and those she wrote in earlier grades.
        specs=[s for s in SPECS.values() if s.kind in offered or s.kind.value in by_kind],
        by_kind=by_kind,
        can_create=lambda spec: services.can_create(spec, grade),
    )


@bp.route("/kind/<kind>")
def kind(kind: str):
    spec = _spec(kind)
    me = _me()
    grade = progress.pupil_grade(me)
    entries = services.entries_for(me, kinds=[spec.kind])
    return render_template(
        "pupil/kind.html",
        spec=spec,
        entries=entries,
        can_create=services.can_create(spec, grade),
        offered=offered_in(spec, grade),
        stage_label=STAGE_LABELS.get(spec.stage),
        overdue=services.overdue_steps,
    )


# -- entries ---------------------------------------------------------------------------------
@bp.route("/kind/<kind>/new", methods=["GET", "POST"])
def new(kind: str):
    spec = _spec(kind)
    if not offered_in(spec, progress.pupil_grade(_me())):
        flash(
            _(
                "“%(kind)s” belongs to %(stage)s, so you cannot start one now.",
                kind=spec.label,
                stage=STAGE_LABELS[spec.stage],
            ),
            "info",
        )
        return redirect(url_for(".kind", kind=spec.kind.value), 303)
    if not services.can_create(spec):
        abort(404)
    if not spec.repeatable and request.method == "GET":
        existing = services.single_entry(_me().id, spec.kind)
        if existing is not None:
            flash(_("You have this entry already; you can add to it here."), "info")
            return redirect(url_for(".edit", entry_id=existing.id))
    # A POST goes on even then: if this form was opened before the entry was saved
    # elsewhere, what it holds is shown beside the saved entry (services.EditConflict).
    return _edit_page(spec, None)


@bp.route("/entry/<int:entry_id>/edit", methods=["GET", "POST"])
def edit(entry_id: int):
    entry = _own_entry(entry_id)
    return _edit_page(services.spec_for(entry.kind), entry)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _edit_page(spec, entry: Entry | None):
    me = _me()
    qualities = services.qualities_for(me.school_id)
    stored = (entry.data if entry else None) or {}
    groups = forms.groups_of(spec)
    wanted_rows = _int(request.args.get("rows")) or 0
    counts = {}
    for g in groups:
        count = forms.item_count(g, stored.get(g.name))
        if request.args.get("group") == g.name and not g.fixed:
            count = max(count, min(wanted_rows, g.max_items))
        counts[g.name] = count
    form_class = forms.entry_form_class(spec, qualities, counts)
    removed = None
    if request.method == "POST":
        form = form_class()
        removed = forms.remove_row(form, groups, request.form.get("remove_row"))
    else:
        form = form_class(
            data={**forms.form_data(spec, stored), "version": str(entry.version) if entry else ""}
        )
    draft_key = f"entry-{entry.id}" if entry else f"new-{spec.kind.value}"
    conflict = None
    created_elsewhere = False
    if form.validate_on_submit():
        data = forms.data_from_form(spec, form, stored)
        try:
            if entry is None:
                entry = services.create_entry(me, spec.kind, data)
            else:
                services.update_entry(entry, data, _int(form.version.data))
        except services.EditConflict as exc:
            created_elsewhere = entry is None
            conflict = exc.stored
            entry = conflict
            draft_key = f"entry-{entry.id}"
            # Saving this form again now deliberately replaces the stored version.
            form.version.data = str(conflict.version)
        else:
            _draft_saved(draft_key)
            if removed is not None:
                flash(_("Saved without the removed row."), "success")
                return redirect(url_for(".edit", entry_id=entry.id, _anchor=f"group-{removed}"))
            add_row = request.form.get("add_row")
            if add_row in counts and add_row in form:
                rows = len(form[add_row].entries) + 1
                flash(_("Saved. There is a new empty row for you."), "success")
                return redirect(
                    url_for(
                        ".edit",
                        entry_id=entry.id,
                        group=add_row,
                        rows=rows,
                        _anchor=f"group-{add_row}",
                    )
                )
            flash(_("Saved."), "success")
            return redirect(url_for(".entry", entry_id=entry.id))
    elif request.method == "POST" and form.errors:
        flash(_("Not saved yet: please check the marked fields."), "error")
    return render_template(
        "pupil/edit.html",
        spec=spec,
        form=form,
        entry=entry,
        conflict=conflict,
        created_elsewhere=created_elsewhere,
        qualities=qualities,
        draft_key=draft_key,
        groups=groups,
        readonly=spec.extra.get("readonly_fields", ()),
    ), 409 if conflict is not None else 200


@bp.route("/entry/<int:entry_id>")
def entry(entry_id: int):
    entry = _own_entry(entry_id)
    if request.args.get("discard_draft"):
        _draft_saved(f"entry-{entry.id}")  # the pupil kept the stored version
    page = _entry_page(entry)
    news.mark_read(current_user, entry_id=entry.id)  # its comments have now been seen
    return page


def _feedback_choices(readers) -> list[tuple[str, str]]:
    """Whom the pupil can ask for feedback: the staff audiences that have someone, named."""
    return [
        (a.value, _("%(who)s: %(names)s", who=AUDIENCES[a].label, names=_names(readers[a])))
        for a in FEEDBACK_AUDIENCES
        if readers[a]
    ]


def _names(users) -> str:
    return format_list([u.full_name for u in users], locale=get_locale())


def _entry_page(entry: Entry, *, sharing=None, feedback=None, status: int = 200):
    spec = services.spec_for(entry.kind)
    readers = access.readers_of(entry.pupil)
    choices = _feedback_choices(readers)
    if feedback is None:
        asked = [a.value for a in entry.asked] or [value for value, _label in choices[:1]]
        feedback = forms.FeedbackForm(formdata=None, data={"ask": asked})
    return render_template(
        "pupil/entry.html",
        entry=entry,
        spec=spec,
        qualities=services.qualities_for(entry.school_id),
        sharing=sharing or forms.SharingForm(formdata=None, data=forms.SharingForm.initial(entry)),
        feedback=feedback.offer(choices),
        readers=readers,
        reader_names=_names,
        school_element=progress.school_element(entry.school_id, entry.kind),
        confirm=ConfirmForm(),
        overdue=services.overdue_steps(entry),
        can_edit=spec.pupil_editable,
    ), status


@bp.route("/entry/<int:entry_id>/steps/<int:index>", methods=["POST"])
def tick_step(entry_id: int, index: int):
    """Tick a goal's step done (or not done) on the entry page, without the edit form."""
    entry = _own_entry(entry_id)
    form = forms.StepForm()
    if not form.validate_on_submit():
        flash(_("That did not work. Please try again."), "error")
        return redirect(url_for(".entry", entry_id=entry.id), 303)
    done = form.done.data == "yes"
    try:
        services.set_step_done(entry, index, done, form.version.data)
    except services.NoSuchStep:
        abort(404)
    except services.EditConflict as exc:
        flash(
            _(
                "Not saved: this goal was changed somewhere else in the meantime. "
                "Here is how it is saved now; tick the step again if you still want to."
            ),
            "warning",
        )
        return _entry_page(exc.stored, status=409)
    flash(_("Step ticked off.") if done else _("Step opened again."), "success")
    return redirect(url_for(".entry", entry_id=entry.id, _anchor=f"step-{entry.id}-{index}"), 303)


@bp.route("/entry/<int:entry_id>/status", methods=["POST"])
def status(entry_id: int):
    entry = _own_entry(entry_id)
    if ConfirmForm().validate_on_submit():
        done = request.form.get("done") == "1"
        services.set_status(entry, done)
        flash(_("Marked as finished.") if done else _("Marked as in progress."), "success")
    return redirect(url_for(".entry", entry_id=entry.id), 303)


@bp.route("/entry/<int:entry_id>/sharing", methods=["POST"])
def sharing(entry_id: int):
    entry = _own_entry(entry_id)
    form = forms.SharingForm()
    if not form.validate_on_submit():
        flash(_("That did not work. Please try again."), "error")
        return _entry_page(entry, sharing=form, status=400)
    was_requested = entry.review_state == ReviewState.REQUESTED
    services.set_sharing(entry, form.audiences())
    flash(services.visibility_text(entry), "success")
    if was_requested and entry.review_state != ReviewState.REQUESTED:
        flash(
            _("Nobody you asked for feedback sees this entry now, so you no longer ask for it."),
            "warning",
        )
    return redirect(url_for(".entry", entry_id=entry.id, _anchor="sharing"), 303)


@bp.route("/entry/<int:entry_id>/hand-in", methods=["POST"])
def hand_in(entry_id: int):
    """Ask for feedback: whom the pupil ticked (which shares the entry with them)."""
    entry = _own_entry(entry_id)
    form = forms.FeedbackForm().offer(_feedback_choices(access.readers_of(entry.pupil)))
    if not form.validate_on_submit():
        return _entry_page(entry, feedback=form, status=400)
    try:
        added = services.ask_for_feedback(entry, form.audiences())
    except services.NobodyAsked:
        abort(400)
    flash(_("You asked %(who)s for feedback.", who=services.asked_text(entry)), "success")
    if added:
        flash(
            _(
                "From now on, %(who)s can also see this entry.",
                who=format_list(
                    [str(AUDIENCES[a].pupil_label) for a in added], locale=get_locale()
                ),
            ),
            "info",
        )
    return redirect(url_for(".entry", entry_id=entry.id, _anchor="feedback"), 303)


@bp.route("/entry/<int:entry_id>/withdraw", methods=["POST"])
def withdraw(entry_id: int):
    entry = _own_entry(entry_id)
    if ConfirmForm().validate_on_submit():
        services.withdraw_hand_in(entry)
        flash(_("You no longer ask for feedback. The entry stays shared as it was."), "success")
    return redirect(url_for(".entry", entry_id=entry.id, _anchor="feedback"), 303)


@bp.route("/entry/<int:entry_id>/delete", methods=["GET", "POST"])
def delete(entry_id: int):
    entry = _own_entry(entry_id)
    spec = services.spec_for(entry.kind)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        services.delete_entry(entry)
        flash(_("The entry was deleted."), "success")
        return redirect(url_for(".kind", kind=spec.kind.value))
    return render_template("pupil/delete.html", entry=entry, spec=spec, form=form)
