"""Who hears about what: one entry point per event, and the News page's queries.

Features call the entry point of their event, in the transaction of the change, after
the change itself; e.g. `entry_handed_in(entry, actor, asked)` in the pupil's hand-in. The entry
point decides who is told (the class teachers, the guardians, the counsellors with
consent ...) and adds one notice per person. Nothing is committed here: the notices are
kept or dropped with the change. E-mail follows on its own (`mail.py`): at once after
the commit for those who chose it, otherwise in the daily digest.

No duplicates: one action tells each person once; a person with an unread notice of the
same kind about the same thing gets no second one; a notice that `supersedes` another
(messages.py) replaces the unread one. Nobody is told about their own acts.

The words and the page a notice leads to are in messages.py (`MESSAGES`).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import g

from portfolio import access
from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    AssessmentRequest,
    Audience,
    Comment,
    ConsentPurpose,
    Document,
    Entry,
    Notification,
    ReviewState,
    User,
    utcnow,
)
from portfolio.notifications import mail, messages
from portfolio.notifications.messages import (
    MESSAGES,
    mail_line,
    message,
    target_url,
    with_subjects,
)

__all__ = [
    "MESSAGES",
    "agreement_saved",
    "agreement_shared",
    "agreement_signed",
    "assessment_answered",
    "comment_added",
    "consent_changed",
    "document_shared",
    "entry_handed_in",
    "entry_reviewed",
    "entry_shared",
    "guidance_recorded",
    "mail_line",
    "mark_read",
    "message",
    "notify",
    "remind_due_steps",
    "recent",
    "target_url",
    "unread_count",
]

PAGE_SIZE = 50


# -- adding notices ---------------------------------------------------------------------------
def notify(
    user: User,
    kind: str,
    actor: User | None = None,
    entry: Entry | None = None,
    comment: Comment | None = None,
    *,
    pupil: User | None = None,
    document: Document | None = None,
) -> Notification | None:
    """Add one notice for `user` (not committed); None when nobody needs it.

    Prefer the event entry points below; this is what they use.
    """
    notes = notify_all(
        [user], kind, actor=actor, entry=entry, comment=comment, pupil=pupil, document=document
    )
    return notes[0] if notes else None


def notify_all(
    users: Iterable[User],
    kind: str,
    *,
    actor: User | None = None,
    pupil: User | None = None,
    entry: Entry | None = None,
    comment: Comment | None = None,
    document: Document | None = None,
) -> list[Notification]:
    """One notice of `kind` for each of `users` (each once; never the actor). Flushes.

    Someone with an unread notice of this kind (or one that supersedes it) about the same
    pupil, entry and document (from the same actor) gets none; their unread notices that
    this kind supersedes are removed. One query for all of that, whatever the number of users.
    """
    if pupil is None:
        pupil = _pupil_of(entry if entry is not None else document)
    readers = {u.id: u for u in users if u is not None and (actor is None or u.id != actor.id)}
    if not readers:
        return []
    db.session.flush()  # the change itself first: the notices refer to it
    _drop_what_is_known(readers, kind, actor, pupil, entry, document)
    notes = []
    for user in readers.values():
        note = Notification(
            school_id=user.school_id,
            user_id=user.id,
            kind=kind,
            actor_id=actor.id if actor else None,
            pupil_id=pupil.id if pupil is not None else None,
            entry_id=entry.id if entry is not None else None,
            comment_id=comment.id if comment is not None else None,
            document_id=document.id if document is not None else None,
        )
        db.session.add(note)
        notes.append(note)
    db.session.flush()
    g.pop("_unread_news", None)
    for user in readers.values():
        mail.notice_added(user)
    return notes


def _pupil_of(obj: Entry | Document | Agreement | None) -> User | None:
    """The pupil an entry, document or agreement belongs to (also before it is flushed)."""
    if obj is None:
        return None
    return db.session.get(User, obj.pupil_id)


def _same_subject(pupil, entry, document):
    def same(column, obj):
        return column.is_(None) if obj is None else column == obj.id

    return sa.and_(
        same(Notification.pupil_id, pupil),
        same(Notification.entry_id, entry),
        same(Notification.document_id, document),
    )


def _drop_what_is_known(readers: dict[int, User], kind, actor, pupil, entry, document) -> None:
    """Remove from `readers` who already has an unread notice that says as much (this kind
    from the same actor, or a kind that supersedes it); delete the unread notices that
    this kind replaces."""
    superseding = set(messages.superseded_by(kind))
    replaced = set(messages.spec(kind).supersedes)
    rows = db.session.execute(
        sa.select(
            Notification.id, Notification.user_id, Notification.kind, Notification.actor_id
        ).where(
            Notification.user_id.in_(list(readers)),
            Notification.read_at.is_(None),
            Notification.kind.in_({kind} | superseding | replaced),
            _same_subject(pupil, entry, document),
        )
    ).all()
    actor_id = actor.id if actor is not None else None
    for _id, user_id, found, found_actor in rows:
        if found in superseding or (found == kind and found_actor == actor_id):
            readers.pop(user_id, None)
    stale = [row.id for row in rows if row.kind in replaced and row.user_id in readers]
    if stale:
        db.session.execute(
            sa.delete(Notification).where(Notification.id.in_(stale)),
            execution_options={"synchronize_session": False},
        )


def _users(ids_select: sa.Select) -> list[User]:
    """Active accounts among the ids (one query)."""
    return list(
        db.session.scalars(
            sa.select(User).where(User.id.in_(ids_select), User.is_active_account.is_(True))
        )
    )


def class_teachers(pupil: User) -> list[User]:
    return _users(access.class_teachers_of(pupil.id))


def guardians(pupil: User) -> list[User]:
    return _users(access.guardians_of(pupil.id))


def counsellors(pupil: User, *, with_consent: bool = True) -> list[User]:
    return _users(access.counsellors_of(pupil.id, with_consent=with_consent))


# -- the events ----------------------------------------------------------------------------
def _readers(obj: Entry | Document, audiences: Iterable[Audience]) -> list[User]:
    """The people of these audiences (access.readers_of), each once, who may read `obj`
    now (e.g. not the counsellor, for the Potenzialanalyse, without its own consent)."""
    chosen = set(audiences)
    if not chosen:
        return []
    pupil = _pupil_of(obj)
    found: dict[int, User] = {}
    for audience, users in access.readers_of(pupil).items():
        if audience in chosen:
            found.update((u.id, u) for u in users)
    return [u for u in found.values() if access.access_to(u, pupil).can_view_shared(obj)]


def entry_handed_in(entry: Entry, actor: User, asked: Iterable[Audience]) -> None:
    """The pupil asks these audiences for feedback (the class teacher, the StuBO, the
    counsellor): their people hear of it. Asking shares the entry with them; call this
    instead of `entry_shared` for them."""
    notify_all(_readers(entry, asked), "feedback_requested", actor=actor, entry=entry)


def entry_shared(entry: Entry, actor: User, added: Iterable[Audience]) -> None:
    """The pupil shares an entry with more people (`added`: the audiences new to it):
    the people of each audience hear of it (access.readers_of)."""
    notify_all(_readers(entry, added), "entry_shared", actor=actor, entry=entry)


def document_shared(document: Document, actor: User, added: Iterable[Audience]) -> None:
    """The pupil shares a document with more people (`added`: the audiences new to it)."""
    notify_all(_readers(document, added), "document_shared", actor=actor, document=document)


def comment_added(comment: Comment, author: User) -> None:
    """Staff commented on an entry: the pupil hears of it."""
    entry = comment.entry
    notify_all([_pupil_of(entry)], "comment", actor=author, entry=entry, comment=comment)


def entry_reviewed(
    entry: Entry, reviewer: User, state: ReviewState, comment: Comment | None = None
) -> None:
    """Staff marked an entry reviewed or asked for a revision (one notice, with the comment)."""
    notify_all(
        [_pupil_of(entry)], ReviewState(state).value, actor=reviewer, entry=entry, comment=comment
    )


def guidance_recorded(pupil: User, author: User, first_goal: Entry | None = None) -> None:
    """Staff recorded a guidance session with the pupil."""
    notify_all([pupil], "guidance_recorded", actor=author, pupil=pupil, entry=first_goal)


def assessment_answered(request: AssessmentRequest) -> None:
    """Someone answered the pupil's request for an external assessment."""
    pupil = db.session.get(User, request.pupil_id)
    rater = db.session.get(User, request.rater_user_id) if request.rater_user_id else None
    notify_all([pupil], "assessment_answered", actor=rater, pupil=pupil)


# -- the transition agreement ----------------------------------------------------------------
def _agreement_parties(agreement: Agreement) -> list[tuple[User, str]]:
    """Everyone who reads and signs the agreement, with the role they sign in."""
    pupil = _pupil_of(agreement)
    parties: list[tuple[User, str]] = [(pupil, "pupil")]
    if agreement.share_guardians:
        parties += [(u, "guardian") for u in guardians(pupil)]
    parties += [(u, "teacher") for u in class_teachers(pupil)]
    return parties


def _tell_parties(agreement: Agreement, actor: User | None, pick) -> None:
    """Group the parties by the kind `pick(user, role)` chooses for them (None: nothing)."""
    by_kind: dict[str, list[User]] = {}
    for user, role in _agreement_parties(agreement):
        kind = pick(user, role)
        if kind:
            by_kind.setdefault(kind, []).append(user)
    for kind, users in by_kind.items():
        notify_all(users, kind, actor=actor, pupil=_pupil_of(agreement))


def agreement_saved(agreement: Agreement, actor: User) -> None:
    """The agreement was changed: whoever must sign it now is asked to; the others told."""
    from portfolio.agreement.services import signature_due

    def pick(user: User, role: str) -> str:
        own = "own_" if role == "pupil" else ""
        due = signature_due(agreement, role)
        return own + ("agreement_to_sign" if due else "agreement_changed")

    _tell_parties(agreement, actor, pick)


def agreement_signed(agreement: Agreement, signer: User) -> None:
    """Someone signed: the pupil hears of it; once all have signed, everyone does. The
    signer's own "please sign" notice is done."""
    mark_read(
        signer,
        pupil_id=agreement.pupil_id,
        kinds=("agreement_to_sign", "own_agreement_to_sign"),
    )
    if agreement.is_locked:
        _tell_parties(
            agreement,
            signer,
            lambda user, role: (
                "own_agreement_complete" if role == "pupil" else "agreement_complete"
            ),
        )
    elif signer.id != agreement.pupil_id:
        pupil = _pupil_of(agreement)
        notify_all([pupil], "own_agreement_signed", actor=signer, pupil=pupil)


def agreement_shared(agreement: Agreement, actor: User, added: Iterable[Audience]) -> None:
    """The pupil shows the agreement to more people (`added`); parents are asked to sign
    when their signature is due."""
    from portfolio.agreement.services import signature_due

    added = set(added)
    pupil = _pupil_of(agreement)
    if Audience.GUARDIANS in added:
        kind = "agreement_to_sign" if signature_due(agreement, "guardian") else "agreement_shared"
        notify_all(guardians(pupil), kind, actor=actor, pupil=pupil)
    if Audience.COUNSELLOR in added:
        notify_all(counsellors(pupil), "agreement_shared", actor=actor, pupil=pupil)


# -- consent ------------------------------------------------------------------------------------
CONSENT_KINDS = {
    (ConsentPurpose.COUNSELLOR_ACCESS, True): "counsellor_access_given",
    (ConsentPurpose.COUNSELLOR_ACCESS, False): "counsellor_access_withdrawn",
    (ConsentPurpose.PA_TO_BERUFSBERATUNG, True): "pa_consent_given",
    (ConsentPurpose.PA_TO_BERUFSBERATUNG, False): "pa_consent_withdrawn",
}


def consent_changed(pupil: User, purpose: ConsentPurpose, actor: User, *, given: bool) -> None:
    """A consent was given or withdrawn: the pupil's assigned counsellors hear of it."""
    kind = CONSENT_KINDS.get((ConsentPurpose(purpose), given))
    if kind is None:
        return
    # Withdrawn or given: every assigned counsellor, whether they may read now or not.
    notify_all(counsellors(pupil, with_consent=False), kind, actor=actor, pupil=pupil)


# -- reminders ------------------------------------------------------------------------------
def remind_due_steps(pupil: User, actor: User) -> Notification | None:
    """Remind the pupil of the steps due in their grade (flushed); None when an earlier
    reminder, from whoever, is still unread (one is enough)."""
    unread = db.session.scalar(
        sa.select(Notification.id).where(
            Notification.user_id == pupil.id,
            Notification.kind == "steps_reminder",
            Notification.read_at.is_(None),
        )
    )
    return None if unread else notify(pupil, "steps_reminder", actor=actor, pupil=pupil)


# -- reading -------------------------------------------------------------------------------------
def unread_count(user: User) -> int:
    """Number of unread notifications: read with the logged-in user (auth.services), else
    one COUNT; cached for the request."""
    from portfolio.auth.services import preloaded

    cache = g.setdefault("_unread_news", {})
    if user.id not in cache:
        known = preloaded(user, "unread_news")
        cache[user.id] = (
            known
            if known is not None
            else db.session.scalar(
                sa.select(sa.func.count(Notification.id)).where(
                    Notification.user_id == user.id, Notification.read_at.is_(None)
                )
            )
        ) or 0
    return cache[user.id]


def unread_count_column() -> sa.ColumnElement[int]:
    """`unread_count` as a scalar subquery on `User`, for the statement that loads the
    logged-in user."""
    return (
        sa.select(sa.func.count(Notification.id))
        .where(Notification.user_id == User.id, Notification.read_at.is_(None))
        .scalar_subquery()
    )


def recent(user: User, limit: int = PAGE_SIZE) -> list[Notification]:
    """The user's latest notifications with what their words need (one query)."""
    return list(
        db.session.scalars(
            with_subjects(sa.select(Notification))
            .where(Notification.user_id == user.id)
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
    targets: tuple[str, ...] | None = None,
    kinds: tuple[str, ...] | None = None,
) -> int:
    """Mark the user's notifications read: all, the given ids, of one entry or one pupil;
    with `targets`, only those leading to these pages (messages.TARGETS); with `kinds`,
    only those kinds. Nothing to do, and no statement, for the logged-in user when she
    had nothing unread (read with her, and nothing written to notifications since:
    `auth.services.preloaded`)."""
    from portfolio.auth.services import preloaded

    if preloaded(user, "unread_news") == 0:
        return 0
    query = sa.update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    if entry_id is not None:
        query = query.where(Notification.entry_id == entry_id)
    if pupil_id is not None:
        query = query.where(Notification.pupil_id == pupil_id)
    if targets is not None:
        query = query.where(Notification.kind.in_(messages.kinds_leading_to(*targets)))
    if kinds is not None:
        query = query.where(Notification.kind.in_(kinds))
    result = db.session.execute(
        query.values(read_at=utcnow()), execution_options={"synchronize_session": False}
    )
    g.pop("_unread_news", None)
    return result.rowcount or 0


def forget_unseeable(entry: Entry) -> int:
    """Remove the notices about an entry that their readers may no longer see (the pupil
    stopped sharing it with them): the News never shows what it is called any more."""
    rows = db.session.execute(
        sa.select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(Notification.entry_id == entry.id, Notification.user_id != entry.pupil_id)
    ).all()
    gone = 0
    for note, reader in rows:
        if not access.access_to(reader, entry.pupil).can_view_shared(entry):
            db.session.delete(note)
            gone += 1
    g.pop("_unread_news", None)
    return gone


def get_own(user: User, notification_id: int) -> Notification | None:
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        return None
    return note
