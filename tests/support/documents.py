"""Documents of a pupil: a row with a stored file (no HTTP), or an upload over HTTP."""

from __future__ import annotations

import hashlib

from portfolio.extensions import db
from portfolio.models import Document, Entry, User
from portfolio.storage import get_storage

EN = {"Accept-Language": "en"}


def add_document(
    pupil: User,
    data: bytes,
    filename: str,
    *,
    mime: str = "application/pdf",
    category: str = "certificate",
    title: str = "",
    entry: Entry | None = None,
    share=(),
) -> Document:
    """A stored file and its row, shared with the audiences named in `share`."""
    key = get_storage().save(data)
    doc = Document(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        entry_id=entry.id if entry else None,
        category=category,
        title=title,
        filename=filename,
        storage_key=key,
        mime_type=mime,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=pupil.id,
        **{f"share_{a}": True for a in share},
    )
    db.session.add(doc)
    db.session.flush()
    return doc


def upload(
    client, *, file=None, title="Praktikumszeugnis", category="certificate", query="", **extra
):
    """POST the upload form (English answers); `file` is a (stream, filename) pair."""
    data = {"title": title, "category": category, **extra}
    if file is not None:
        data["file"] = file
    return client.post(
        f"/documents/upload{query}", data=data, headers=EN, content_type="multipart/form-data"
    )
