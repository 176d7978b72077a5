"""The pupil's documents: upload, list by category, share, delete; downloads for all allowed."""

from __future__ import annotations

import datetime as dt
import time

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from portfolio import access, kinds
from portfolio.auth.forms import ConfirmForm
from portfolio.documents import bp, services
from portfolio.documents.forms import DocumentForm, UploadForm
from portfolio.documents.uploads import UploadError, check_upload, read_limited, too_large_message
from portfolio.extensions import limiter
from portfolio.i18n import _
from portfolio.models import Document
from portfolio.privacy import audit
from portfolio.security import id_arg, safe_next


@bp.context_processor
def _helpers():
    return {"entry_title": kinds.entry_title}


def _me() -> access.PupilAccess:
    """The logged-in pupil's access to their own portfolio (404 for other roles)."""
    return access.load_pupil(current_user, current_user.id)


def _own_document(document_id: int) -> Document:
    document, acc = access.load_shared(current_user, Document, document_id)
    access.require(acc.can_edit_own())
    return document


@bp.route("/")
@login_required
def index():
    me = _me()
    documents = services.documents_of(me.pupil.id)
    return render_template(
        "documents/index.html",
        groups=services.by_category(documents),
        count=len(documents),
        shared_with=services.shared_with,
    )


@bp.route("/pupil/<int:pupil_id>")
@login_required
def shared(pupil_id: int):
    acc = access.load_pupil(current_user, pupil_id)
    if acc.is_self:
        return redirect(url_for(".index"))
    documents = services.documents_of(pupil_id, acc.audiences)
    html = render_template(
        "documents/shared.html",
        pupil=acc.pupil,
        groups=services.by_category(documents),
        count=len(documents),
    )
    audit.record(
        current_user,
        "view",
        pupil_id=pupil_id,
        school_id=acc.pupil.school_id,
        details={"page": "documents"},
    )
    return html


def _uploader_key() -> str:
    """Uploads are counted per account, whichever device or address they come from."""
    return f"user:{current_user.id}"


@bp.route("/upload", methods=["GET", "POST"])
@login_required  # first: the limit counts logged-in accounts only
@limiter.limit(
    lambda: current_app.config["UPLOAD_LIMIT"],
    key_func=_uploader_key,
    methods=["POST"],
    scope="upload",
)
def upload():
    me = _me()
    access.require(me.can_edit_own())
    entry_id = request.args.get("entry_id", type=id_arg)
    entry = services.own_entry(me.pupil, entry_id)
    if entry_id and entry is None:
        abort(404)
    form = UploadForm()
    if form.validate_on_submit():
        file = form.file.data
        max_bytes = current_app.config["MAX_UPLOAD_BYTES"]
        try:
            data = read_limited(file.stream, max_bytes) if file else None
            checked = check_upload(data, file.filename if file else None)
        except UploadError as error:
            form.file.errors = [error.message]
        else:
            services.create_document(
                me.pupil,
                current_user,
                checked,
                category=form.category.data,
                title=form.title.data,
                entry=entry,
                share=form.audiences(),
            )
            flash(_("The document has been uploaded."), "success")
            return redirect(safe_next(request.args.get("next")) or url_for(".index"))
    return render_template(
        "documents/upload.html", form=form, entry=entry, readers=access.readers_of(me.pupil)
    )


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """A body over MAX_CONTENT_LENGTH is refused unread: say so at the file field."""
    form = UploadForm(formdata=None)
    form.file.errors = [too_large_message(current_app.config["MAX_UPLOAD_BYTES"])]
    return render_template("documents/upload.html", form=form, entry=None), 413


@bp.errorhandler(RateLimitExceeded)
def too_many_uploads(error):
    """The per-account upload limit: the form again, what was typed kept, and how long
    to wait ("in 8 minutes", "in 5 hours", in the user's language)."""
    current = limiter.current_limit
    wait = max(60, int(current.reset_at - time.time())) if current else 600
    form = UploadForm()
    form.file.errors = [
        _(
            "You have uploaded many files in a short time. You can upload the next one "
            "%(when)s. Everything you uploaded so far is saved.",
            when=format_timedelta(
                dt.timedelta(seconds=wait), granularity="minute", add_direction=True
            ),
        )
    ]
    entry = services.own_entry(current_user, request.args.get("entry_id", type=id_arg))
    html = render_template("documents/upload.html", form=form, entry=entry)
    return html, 429, {"Retry-After": str(wait)}


@bp.route("/<int:document_id>/edit", methods=["GET", "POST"])
@login_required
def edit(document_id: int):
    document = _own_document(document_id)
    form = DocumentForm(obj=document)
    if form.validate_on_submit():
        services.update_document(
            document, title=form.title.data, category=form.category.data, share=form.audiences()
        )
        flash(_("Your changes have been saved."), "success")
        return redirect(url_for(".index"))
    return render_template(
        "documents/edit.html",
        form=form,
        document=document,
        readers=access.readers_of(document.pupil),
    )


@bp.route("/<int:document_id>/delete", methods=["GET", "POST"])
@login_required
def delete(document_id: int):
    document = _own_document(document_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.delete_document(document)
        flash(_("The document has been deleted."), "success")
        return redirect(url_for(".index"))
    return render_template("documents/delete.html", form=form, document=document)


@bp.route("/<int:document_id>/download")
@login_required
def download(document_id: int):
    document, _acc = access.load_shared(current_user, Document, document_id)
    services.record_access(current_user, document, "download")
    return services.file_response(document)


@bp.route("/<int:document_id>/preview")
@login_required
def preview(document_id: int):
    """An image shown inside a page (entry pages, the guardian view)."""
    document, _acc = access.load_shared(current_user, Document, document_id)
    if not document.mime_type.startswith("image/"):
        abort(404)
    services.record_access(current_user, document, "view")
    return services.file_response(document, inline=True)
