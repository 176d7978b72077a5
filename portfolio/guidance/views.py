"""Guidance records: staff record sessions; the pupil reads them and adds notes."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portfolio import access
from portfolio.guidance import bp, services
from portfolio.guidance.forms import START_STEPS, GuidanceForm, PupilNotesForm, error_list
from portfolio.i18n import _
from portfolio.models import GuidanceRecord, Role
from portfolio.privacy import audit


@bp.before_request
@login_required
def _login():
    return None


def _version(form) -> int | None:
    try:
        return int(form.version.data)
    except (TypeError, ValueError):
        return None


def _load(record_id: int):
    record, pupil_access = access.load_shared(current_user, GuidanceRecord, record_id)
    return record, pupil_access


@bp.route("/mine")
def mine():
    access.own_portfolio(current_user)
    return redirect(url_for("guidance.records", pupil_id=current_user.id))


@bp.route("/pupil/<int:pupil_id>")
def records(pupil_id: int):
    pupil_access = access.load_pupil(current_user, pupil_id)
    access.require(pupil_access.is_self or pupil_access.is_staff or pupil_access.is_guardian)
    items = services.records_for(pupil_id, pupil_access.visible_clause(GuidanceRecord))
    page = render_template(
        "guidance/records.html", pupil=pupil_access.pupil, access=pupil_access, records=items
    )
    if not pupil_access.is_self and items:
        audit.record(
            current_user,
            "view",
            pupil_id=pupil_id,
            school_id=pupil_access.pupil.school_id,
            details={"page": "guidance_records"},
        )
    return page


@bp.route("/pupil/<int:pupil_id>/new", methods=["GET", "POST"])
def new(pupil_id: int):
    pupil_access = access.load_pupil(current_user, pupil_id)
    access.require(pupil_access.can_record_guidance())
    form = GuidanceForm()
    if request.method == "GET":
        while len(form.next_steps) < START_STEPS:
            form.next_steps.append_entry()
    elif "add_step" in request.form:
        _add_row(form)
    elif form.validate_on_submit():
        record = services.create_record(
            current_user,
            pupil_access.pupil,
            held_on=form.held_on.data,
            participants=form.participants.data or "",
            topics=form.topics.data or "",
            steps=form.steps_data(),
        )
        flash(
            _(
                "The guidance session is saved. Its next steps are now goals in the "
                "pupil's portfolio."
            ),
            "success",
        )
        return redirect(url_for("guidance.show", record_id=record.id, saved=1))
    return render_template(
        "guidance/form.html",
        form=form,
        pupil=pupil_access.pupil,
        record=None,
        errors=error_list(form),
        conflict=None,
    )


@bp.route("/<int:record_id>/edit", methods=["GET", "POST"])
def edit(record_id: int):
    record, pupil_access = _load(record_id)
    access.require(pupil_access.can_edit_guidance(record, current_user))
    conflict = None
    if request.method == "GET":
        # The form shows the record, and the page the pupil's notes: a view like any other.
        services.record_view(current_user, record, page="edit")
        form = GuidanceForm(
            data={
                "held_on": record.held_on,
                "participants": record.participants,
                "topics": record.topics,
                "version": record.version,
                "next_steps": [_step_row(s) for s in record.next_steps or []],
            }
        )
        _add_row(form)
    else:
        form = GuidanceForm()
        if "add_step" in request.form:
            _add_row(form)
        elif form.validate_on_submit():
            try:
                services.update_record(
                    record,
                    expected_version=_version(form),
                    held_on=form.held_on.data,
                    participants=form.participants.data or "",
                    topics=form.topics.data or "",
                    steps=form.steps_data(),
                )
            except services.Conflict as exc:
                conflict = exc.record
                # The next save is a knowing overwrite of what is shown as saved.
                form.version.data = str(conflict.version)
            else:
                flash(_("Your changes are saved."), "success")
                return redirect(url_for("guidance.show", record_id=record.id, saved=1))
    return render_template(
        "guidance/form.html",
        form=form,
        pupil=pupil_access.pupil,
        record=record,
        errors=error_list(form),
        conflict=conflict,
    )


def _add_row(form: GuidanceForm) -> None:
    if len(form.next_steps) < form.next_steps.max_entries:
        form.next_steps.append_entry()


def _step_row(step: dict) -> dict:
    due = step.get("due_on")
    return {
        "key": step.get("key"),
        "text": step.get("text", ""),
        "due_on": dt.date.fromisoformat(due) if due else None,
    }


@bp.route("/<int:record_id>", methods=["GET", "POST"])
def show(record_id: int):
    record, pupil_access = _load(record_id)
    form = conflict = None
    if pupil_access.can_annotate_guidance(record):
        if request.method == "GET":
            form = PupilNotesForm(
                data={
                    "pupil_notes": record.pupil_notes,
                    "share_guardians": record.share_guardians,
                    "share_counsellor": record.share_counsellor,
                    "version": record.version,
                }
            )
        else:
            form = PupilNotesForm()
            if form.validate_on_submit():
                try:
                    services.update_pupil_part(
                        record,
                        expected_version=_version(form),
                        pupil_notes=form.pupil_notes.data or "",
                        share_guardians=form.share_guardians.data,
                        share_counsellor=form.share_counsellor.data,
                    )
                except services.Conflict as exc:
                    conflict = exc.record
                    form.version.data = str(conflict.version)
                else:
                    flash(_("Your notes are saved."), "success")
                    return redirect(url_for("guidance.show", record_id=record.id, saved=1))
    elif request.method == "POST":
        abort(403)
    else:
        services.record_view(current_user, record)
    return render_template(
        "guidance/show.html",
        record=record,
        pupil=pupil_access.pupil,
        access=pupil_access,
        form=form,
        conflict=conflict,
        errors=error_list(form) if form else [],
        # The goals are the pupil's own entries now: only the pupil sees them here.
        goals=services.goals_of(record) if pupil_access.is_self else {},
        # Told to the pupil: the author reads the notes too when a counsellor wrote it.
        author_is_counsellor=bool(record.author and record.author.has_role(Role.COUNSELLOR)),
        can_edit=pupil_access.can_edit_guidance(record, current_user),
    )
