"""Documents: storing, listing, sharing and deleting a pupil's uploaded files."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, abort, current_app
from sqlalchemy.orm import selectinload

from portfolio import access, transaction
from portfolio.documents.uploads import PDF, CheckedFile, ascii_filename
from portfolio.extensions import db
from portfolio.i18n import _l
from portfolio.kinds import AUDIENCES
from portfolio.models import Audience, Document, DocumentCategory, Entry, User
from portfolio.notifications import services as notifications
from portfolio.privacy import audit
from portfolio.storage import get_storage

#: Categories in the order of the Dokumentation and Lebensplanung sections.
CATEGORY_LABELS: dict[str, object] = {
    DocumentCategory.CERTIFICATE.value: _l("Certificates"),
    DocumentCategory.REPORT_CARD.value: _l("Report cards"),
    DocumentCategory.CV.value: _l("CV"),
    DocumentCategory.APPLICATION.value: _l("Applications"),
    DocumentCategory.OTHER.value: _l("Other documents"),
}
CATEGORY_CHOICES: list[tuple[str, object]] = [
    (DocumentCategory.CERTIFICATE.value, _l("Certificate (e.g. placement, potential analysis)")),
    (DocumentCategory.REPORT_CARD.value, _l("Report card")),
    (DocumentCategory.CV.value, _l("CV")),
    (DocumentCategory.APPLICATION.value, _l("Application")),
    (DocumentCategory.OTHER.value, _l("Other")),
]


def own_entry(pupil: User, entry_id: int | None) -> Entry | None:
    """The pupil's own entry with this id, or None (also for someone else's entry)."""
    if not entry_id:
        return None
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.pupil_id != pupil.id:
        return None
    return entry


def create_document(
    pupil: User,
    uploader: User,
    checked: CheckedFile,
    *,
    category: str,
    title: str,
    entry: Entry | None = None,
    share: Iterable[Audience] = (),
) -> Document:
    """Store the file under a random key and record it; the file goes if the row is not kept."""
    storage = get_storage()
    key = storage.save(checked.data)
    transaction.on_rollback(lambda: storage.delete(key))
    shared = set(share)
    document = Document(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        entry_id=entry.id if entry else None,
        category=category,
        title=(title or "").strip()[:200] or checked.filename.rsplit(".", 1)[0],
        filename=checked.filename,
        storage_key=key,
        mime_type=checked.mime_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by_id=uploader.id,
    )
    document.set_shared(shared)
    db.session.add(document)
    db.session.flush()
    notifications.document_shared(document, uploader, shared)
    return document


def update_document(
    document: Document, *, title: str, category: str, share: Iterable[Audience]
) -> None:
    shared = set(share)
    added = {a for a in shared if not document.is_shared_with(a)}
    document.title = title.strip()[:200] or document.title
    document.category = category
    document.set_shared(shared)
    db.session.flush()
    notifications.document_shared(document, document.pupil, added)


def delete_document(document: Document) -> None:
    """Delete the row, then the stored file (only once the deletion is committed)."""
    key = document.storage_key
    db.session.delete(document)
    db.session.flush()
    transaction.after_commit(lambda: get_storage().delete(key))


def documents_of(pupil_id: int, audiences: frozenset[Audience] | None = None) -> list[Document]:
    """The pupil's documents, newest first; with `audiences`, only those shared with them."""
    query = (
        sa.select(Document)
        .where(Document.pupil_id == pupil_id)
        .options(selectinload(Document.entry))
        .order_by(Document.created_at.desc(), Document.id.desc())
    )
    if audiences is not None:
        query = query.where(access.shared_clause(Document, audiences))
    return list(db.session.scalars(query))


def by_category(documents: list[Document]) -> list[tuple[str, object, list[Document]]]:
    """(category, label, documents) in section order, empty categories left out."""
    groups = [
        (cat, label, [d for d in documents if d.category == cat])
        for cat, label in CATEGORY_LABELS.items()
    ]
    return [g for g in groups if g[2]]


def shared_with(document: Document) -> list[object]:
    """Whom the document is shared with, as labels (kinds.AUDIENCES)."""
    return [AUDIENCES[audience].staff_label for audience in document.shared_with]


def record_access(user: User, document: Document, action: str) -> None:
    """Audit a download or view by anyone but the pupil (audit.record skips the pupil)."""
    audit.record(
        user,
        action,
        pupil_id=document.pupil_id,
        school_id=document.school_id,
        obj=document,
        details={"category": document.category},
    )


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """RFC 6266 header with an ASCII fallback and the UTF-8 name (RFC 5987) for umlauts."""
    kind = "inline" if inline else "attachment"
    fallback = ascii_filename(filename).replace('"', "")
    value = f'{kind}; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def file_response(document: Document, *, inline: bool = False) -> Response:
    """The stored file with headers that keep browsers from guessing or caching it; 410 with
    an explanation when the file is gone from the storage (lost in a restore, removed by
    hand) instead of a server error."""
    try:
        data = get_storage().read(document.storage_key)
    except (FileNotFoundError, ValueError):
        current_app.logger.error("document %s: the stored file is missing", document.id)
        abort(410)
    response = Response(data, mimetype=document.mime_type)
    response.headers["Content-Disposition"] = content_disposition(document.filename, inline=inline)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    # Opened on its own, the file may not run anything or load anything.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; frame-ancestors 'none'; sandbox"
    )
    return response


def stored_pdfs() -> list[int]:
    """Ids of all stored PDF documents, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Document.id).where(Document.mime_type == PDF).order_by(Document.id)
        )
    )


def replace_file(document: Document, checked: CheckedFile) -> None:
    """Store the cleaned file in place of the document's file (flushes). The old file is
    deleted once the change is committed; the new one if it is rolled back."""
    storage = get_storage()
    old_key, new_key = document.storage_key, storage.save(checked.data)
    transaction.on_rollback(lambda: storage.delete(new_key))
    document.storage_key = new_key
    document.size = checked.size
    document.sha256 = checked.sha256
    db.session.flush()
    transaction.after_commit(lambda: storage.delete(old_key))
