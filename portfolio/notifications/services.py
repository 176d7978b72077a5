"""Create, count, list and mark notifications. Other features call `notify`.

The message shown for a notification is built when it is shown (in the reader's
language), from its kind, its actor and its entry; nothing translated is stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, url_for
from sqlalchemy.orm import joinedload

from portfolio.extensions import db
from portfolio.i18n import _, _l
from portfolio.kinds import entry_title
from portfolio.models import Comment, Entry, Notification, User, utcnow

#: Kind -> message with %(actor)s and %(entry)s. Features add their kinds here.
MESSAGES: dict[str, object] = {
    "comment": _l("%(actor)s commented on “%(entry)s”."),
    "reviewed": _l("%(actor)s marked “%(entry)s” as reviewed."),
    "revision": _l("%(actor)s asked you to revise “%(entry)s”."),
    "feedback_requested": _l("%(actor)s asked for feedback on “%(entry)s”."),
    "signature_needed": _l("%(actor)s asks you to sign the transition agreement."),
    "agreement_signed": _l("%(actor)s signed the transition agreement."),
    "guidance_recorded": _l("%(actor)s recorded a guidance session."),
    "assessment_answered": _l("%(actor)s answered your request for an assessment."),
    "document_shared": _l("%(actor)s shared a document with you."),
}
FALLBACK = _l("Something new in your portfolio.")
PAGE_SIZE = 50


def notify(
    user: User,
    kind: str,
    actor: User | None = None,
    entry: Entry | None = None,
    comment: Comment | None = None,
) -> Notification | None:
    """Add a notification for `user` (not committed). Nobody is told about their own acts."""
    if actor is not None and actor.id == user.id:
        return None
    note = Notification(
        school_id=user.school_id,
        user_id=user.id,
        kind=kind,
        actor_id=actor.id if actor else None,
        entry_id=entry.id if entry is not None else None,
        comment_id=comment.id if comment is not None else None,
    )
    db.session.add(note)
    return note


def unread_count(user: User) -> int:
    """Number of unread notifications: one COUNT, cached for the request."""
    cache = g.setdefault("_unread_news", {})
    if user.id not in cache:
        cache[user.id] = (
            db.session.scalar(
                sa.select(sa.func.count(Notification.id)).where(
                    Notification.user_id == user.id, Notification.read_at.is_(None)
                )
            )
            or 0
        )
    return cache[user.id]


def recent(user: User, limit: int = PAGE_SIZE) -> list[Notification]:
    """The user's latest notifications with actor and entry loaded (one query)."""
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.user_id == user.id)
            .options(joinedload(Notification.actor), joinedload(Notification.entry))
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(
    user: User,
    ids: list[int] | None = None,
    *,
    entry_id: int | None = None,
    pupil_id: int | None = None,
) -> int:
    """Mark the user's notifications read: all, the given ids, of one entry or one pupil."""
    query = sa.update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    if entry_id is not None:
        query = query.where(Notification.entry_id == entry_id)
    if pupil_id is not None:
        query = query.where(
            Notification.entry_id.in_(sa.select(Entry.id).where(Entry.pupil_id == pupil_id))
        )
    result = db.session.execute(
        query.values(read_at=utcnow()), execution_options={"synchronize_session": False}
    )
    g.pop("_unread_news", None)
    return result.rowcount or 0


def get_own(user: User, notification_id: int) -> Notification | None:
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        return None
    return note


def message(note: Notification) -> str:
    """The notification as a sentence in the reader's language."""
    template = MESSAGES.get(note.kind, FALLBACK)
    actor = note.actor.full_name if note.actor else _("Someone")
    entry = entry_title(note.entry) if note.entry is not None else _("an entry")
    return str(template) % {"actor": actor, "entry": entry}


def target_url(user: User, note: Notification) -> str | None:
    """Where the notification leads: the entry on the reader's own page for it."""
    entry = note.entry
    if entry is None:
        return None
    if entry.pupil_id == user.id:
        return url_for("pupil.entry", entry_id=entry.id)
    if user.is_staff:
        return url_for("review.pupil", pupil_id=entry.pupil_id, _anchor=f"entry-{entry.id}")
    return None
