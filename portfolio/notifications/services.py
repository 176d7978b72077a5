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
    # Changes to the pupil's account (privacy.audit.account_event); details in "who looked".
    "account_password_reset": _l(
        "%(actor)s gave you a new password. At the next login you choose your own."
    ),
    "account_login_slip": _l(
        "%(actor)s printed a login slip with a new password for you. At the next login you "
        "choose your own."
    ),
    "account_guardian_linked": _l(
        "%(actor)s linked a parent account to yours. It sees what you share with your parents."
    ),
    "account_guardian_unlinked": _l("%(actor)s removed a parent account from yours."),
    "account_guardian_registered": _l(
        "%(actor)s registered as your parent and now sees what you share with your parents."
    ),
    "account_counsellor_assigned": _l("%(actor)s assigned a career counsellor to you."),
    "account_counsellor_unassigned": _l("%(actor)s removed a career counsellor from you."),
    "account_deactivated": _l("%(actor)s deactivated your account."),
    "account_reactivated": _l("%(actor)s activated your account again."),
    "account_mark_left": _l("%(actor)s recorded that you have left school."),
    "account_undo_left": _l("%(actor)s took back that you have left school."),
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
    """Where the notification leads: the entry on the reader's own page for it, or for a
    change to the account the list of account events ("who looked")."""
    if note.kind.startswith("account_"):
        return url_for("privacy.who_looked", pupil_id=user.id, _anchor="account")
    entry = note.entry
    if entry is None:
        return None
    if entry.pupil_id == user.id:
        return url_for("pupil.entry", entry_id=entry.id)
    if user.is_staff:
        return url_for("review.pupil", pupil_id=entry.pupil_id, _anchor=f"entry-{entry.id}")
    return None
