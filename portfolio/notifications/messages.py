"""What each kind of notice says and where it leads: the one table, `MESSAGES`.

A notice is stored as facts (kind, reader, actor, pupil, entry, document); its words are
made when it is shown, in the reader's language. Each kind has two wordings:

* `text` for the News page. It may name the entry or the document (``%(entry)s``,
  ``%(document)s``): the reader is logged in and may see them.
* `mail` for e-mails. It says only what happened, with ``%(actor)s`` and ``%(pupil)s``:
  never a title or anything else the pupil wrote (tests/test_notifications_mail.py
  checks every mail wording for it).

Kinds are per reader: pupils are addressed with "du" in German, parents and staff with
"Sie", so a kind is worded for the people who get it. `target` names the page it leads
to; `target_url` finds that page for the reader's role (the pupil's own page, the staff
view of the pupil, the family page). `supersedes`: an unread notice of one of these
kinds about the same thing is replaced by this one (a hand-in replaces "shared with the
teachers"; "waits for your signature" replaces "changed").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_babel import LazyString
from sqlalchemy.orm import joinedload

from portfolio.i18n import _, _l
from portfolio.kinds import entry_title
from portfolio.models import Notification, Role, User


@dataclass(frozen=True)
class Message:
    text: LazyString
    mail: LazyString
    target: str
    supersedes: tuple[str, ...] = ()


#: Kind -> wording and target. Add a kind here, then an entry point in services.py that
#: decides who gets it (CONTRIBUTING.md, "Notifications").
MESSAGES: dict[str, Message] = {
    # -- for pupils (du) ------------------------------------------------------------------
    "comment": Message(
        _l("%(actor)s commented on “%(entry)s”."),
        _l("%(actor)s commented on one of your entries."),
        "entry",
    ),
    "reviewed": Message(
        _l("%(actor)s marked “%(entry)s” as reviewed."),
        _l("%(actor)s gave you feedback on one of your entries."),
        "entry",
    ),
    "revision": Message(
        _l("%(actor)s asked you to revise “%(entry)s”."),
        _l("%(actor)s asked you to revise one of your entries."),
        "entry",
    ),
    "guidance_recorded": Message(
        _l("%(actor)s recorded a guidance session."),
        _l("%(actor)s recorded a guidance session."),
        "guidance",
    ),
    "assessment_answered": Message(
        _l(
            "An assessment you asked for has come back. You decide whether it goes into "
            "your portfolio."
        ),
        _l("An assessment you asked for has come back."),
        "assessments",
    ),
    "own_agreement_changed": Message(
        _l("%(actor)s changed your transition agreement."),
        _l("%(actor)s changed your transition agreement."),
        "agreement",
    ),
    "own_agreement_to_sign": Message(
        _l("%(actor)s changed your transition agreement. Please read it and sign it."),
        _l("%(actor)s changed your transition agreement. Please read it and sign it."),
        "agreement",
        supersedes=("own_agreement_changed", "own_agreement_signed"),
    ),
    "own_agreement_signed": Message(
        _l("%(actor)s signed your transition agreement."),
        _l("%(actor)s signed your transition agreement."),
        "agreement",
    ),
    "own_agreement_complete": Message(
        _l("Everyone has signed your transition agreement. It is now final."),
        _l("Everyone has signed your transition agreement. It is now final."),
        "agreement",
        supersedes=("own_agreement_changed", "own_agreement_to_sign", "own_agreement_signed"),
    ),
    "steps_reminder": Message(
        _l("%(actor)s reminds you of the steps due in your grade."),
        _l("%(actor)s reminds you of the steps due in your grade."),
        "timeline",
    ),
    # -- changes to a pupil's account (privacy.audit.account_event; du) -----------------------
    # Details are in "who looked"; the mail says only that the account changed.
    "account_password_reset": Message(
        _l("%(actor)s gave you a new password. At the next login you choose your own."),
        _l("%(actor)s gave you a new password. At the next login you choose your own."),
        "account",
    ),
    "account_login_slip": Message(
        _l(
            "%(actor)s printed a login slip with a new password for you. At the next login you "
            "choose your own."
        ),
        _l(
            "%(actor)s printed a login slip with a new password for you. At the next login you "
            "choose your own."
        ),
        "account",
    ),
    "account_guardian_linked": Message(
        _l("%(actor)s linked a parent account to yours. It sees what you share with your parents."),
        _l("%(actor)s linked a parent account to yours."),
        "account",
    ),
    "account_guardian_unlinked": Message(
        _l("%(actor)s removed a parent account from yours."),
        _l("%(actor)s removed a parent account from yours."),
        "account",
    ),
    "account_guardian_registered": Message(
        _l("%(actor)s registered as your parent and now sees what you share with your parents."),
        _l("%(actor)s registered as your parent."),
        "account",
    ),
    "account_counsellor_assigned": Message(
        _l("%(actor)s assigned a career counsellor to you."),
        _l("%(actor)s assigned a career counsellor to you."),
        "account",
    ),
    "account_counsellor_unassigned": Message(
        _l("%(actor)s removed a career counsellor from you."),
        _l("%(actor)s removed a career counsellor from you."),
        "account",
    ),
    "account_deactivated": Message(
        _l("%(actor)s deactivated your account."),
        _l("%(actor)s deactivated your account."),
        "account",
    ),
    "account_reactivated": Message(
        _l("%(actor)s activated your account again."),
        _l("%(actor)s activated your account again."),
        "account",
    ),
    "account_mark_left": Message(
        _l("%(actor)s recorded that you have left school."),
        _l("%(actor)s recorded that you have left school."),
        "account",
    ),
    "account_undo_left": Message(
        _l("%(actor)s took back that you have left school."),
        _l("%(actor)s took back that you have left school."),
        "account",
    ),
    # -- for staff and parents (Sie) -------------------------------------------------------
    "feedback_requested": Message(
        _l("%(actor)s asked for feedback on “%(entry)s”."),
        _l("%(actor)s handed in an entry and asks for your feedback."),
        "entry",
        supersedes=("entry_shared", "entry_shared_teachers"),
    ),
    # Notices of before the four audiences (one "teachers" audience); no longer added.
    "entry_shared_teachers": Message(
        _l("%(actor)s shared “%(entry)s” with the teachers."),
        _l("%(actor)s shared an entry with the teachers."),
        "entry",
    ),
    "entry_shared": Message(
        _l("%(actor)s shared “%(entry)s” with you."),
        _l("%(actor)s shared an entry with you."),
        "entry",
    ),
    "document_shared_teachers": Message(
        _l("%(actor)s shared the document “%(document)s” with the teachers."),
        _l("%(actor)s shared a document with the teachers."),
        "document",
    ),
    "document_shared": Message(
        _l("%(actor)s shared the document “%(document)s” with you."),
        _l("%(actor)s shared a document with you."),
        "document",
    ),
    "agreement_shared": Message(
        _l("%(actor)s shared the transition agreement with you."),
        _l("%(actor)s shared the transition agreement with you."),
        "agreement",
    ),
    "agreement_changed": Message(
        _l("Transition agreement of %(pupil)s: changed by %(actor)s."),
        _l("Transition agreement of %(pupil)s: changed by %(actor)s."),
        "agreement",
        supersedes=("agreement_shared",),
    ),
    "agreement_to_sign": Message(
        _l("The transition agreement of %(pupil)s is waiting for your signature."),
        _l("The transition agreement of %(pupil)s is waiting for your signature."),
        "agreement",
        supersedes=("agreement_changed", "agreement_shared"),
    ),
    "agreement_complete": Message(
        _l("Everyone has signed the transition agreement of %(pupil)s."),
        _l("Everyone has signed the transition agreement of %(pupil)s."),
        "agreement",
        supersedes=("agreement_changed", "agreement_to_sign", "agreement_shared"),
    ),
    "counsellor_access_given": Message(
        _l("Consent given: you may now read what %(pupil)s shares with the Berufsberatung."),
        _l("Consent given: you may now read what %(pupil)s shares with the Berufsberatung."),
        "pupil",
        supersedes=("counsellor_access_withdrawn",),
    ),
    "counsellor_access_withdrawn": Message(
        _l("The consent for %(pupil)s was withdrawn: you no longer see this portfolio."),
        _l("The consent for %(pupil)s was withdrawn: you no longer see this portfolio."),
        "caseload",
        supersedes=("counsellor_access_given",),
    ),
    "pa_consent_given": Message(
        _l("Consent given: the Potenzialanalyse results of %(pupil)s may go to you."),
        _l("Consent given: the Potenzialanalyse results of %(pupil)s may go to you."),
        "pupil",
        supersedes=("pa_consent_withdrawn",),
    ),
    "pa_consent_withdrawn": Message(
        _l("The consent to pass on the Potenzialanalyse results of %(pupil)s was withdrawn."),
        _l("The consent to pass on the Potenzialanalyse results of %(pupil)s was withdrawn."),
        "caseload",
        supersedes=("pa_consent_given",),
    ),
}
FALLBACK = Message(
    _l("There is something new for you."), _l("There is something new for you."), "news"
)


def spec(kind: str) -> Message:
    return MESSAGES.get(kind, FALLBACK)


def kinds_leading_to(*targets: str) -> list[str]:
    """The kinds whose notices lead to one of these pages."""
    return [kind for kind, m in MESSAGES.items() if m.target in targets]


def superseded_by(kind: str) -> tuple[str, ...]:
    """Kinds whose unread notice makes a new notice of `kind` needless."""
    return tuple(k for k, m in MESSAGES.items() if kind in m.supersedes)


# -- the words ------------------------------------------------------------------------------
def with_subjects(query: sa.Select) -> sa.Select:
    """Load what the words of a notice need (actor, pupil, entry, document) with it."""
    return query.options(
        joinedload(Notification.actor),
        joinedload(Notification.pupil),
        joinedload(Notification.entry),
        joinedload(Notification.document),
    )


def _is_family(reader: User | None) -> bool:
    return reader is not None and reader.has_role(Role.GUARDIAN) and not reader.is_staff


def _values(note: Notification, reader: User | None) -> dict[str, str]:
    pupil = note.pupil
    if pupil is None:
        pupil_name = _("a pupil")
    elif _is_family(reader):
        pupil_name = pupil.first_name  # parents know their child by the first name
    else:
        pupil_name = pupil.full_name
    document = note.document
    return {
        "actor": note.actor.full_name if note.actor else _("Someone"),
        "pupil": pupil_name,
        "entry": entry_title(note.entry) if note.entry is not None else _("an entry"),
        "document": (document.title or document.filename) if document else _("a document"),
    }


def message(note: Notification, reader: User | None = None) -> str:
    """The notice as a sentence for the News page, in the current language."""
    return str(spec(note.kind).text) % _values(note, reader)


def mail_line(note: Notification, reader: User | None = None) -> str:
    """The notice as a line of an e-mail: what happened, without any portfolio content."""
    values = _values(note, reader)
    return str(spec(note.kind).mail) % {"actor": values["actor"], "pupil": values["pupil"]}


# -- where it leads -------------------------------------------------------------------------
def _is_self(reader: User, note: Notification) -> bool:
    return note.pupil_id == reader.id


def _pupil_page(reader: User, note: Notification, **kw) -> str | None:
    if note.pupil_id is None:
        return None
    if _is_self(reader, note):
        return url_for("pupil.home", **kw)
    if reader.is_staff:
        return url_for("review.pupil", pupil_id=note.pupil_id, **kw)
    if _is_family(reader):
        return url_for("guardian.child", pupil_id=note.pupil_id, **kw)
    return None


def _entry_page(reader: User, note: Notification, **kw) -> str | None:
    if note.entry_id is None:
        return _pupil_page(reader, note, **kw)
    if _is_self(reader, note):
        return url_for("pupil.entry", entry_id=note.entry_id, **kw)
    return _pupil_page(reader, note, _anchor=f"entry-{note.entry_id}", **kw)


def _document_page(reader: User, note: Notification, **kw) -> str | None:
    if _is_self(reader, note):
        return url_for("documents.index", **kw)
    if reader.is_staff and note.pupil_id is not None:
        return url_for("documents.shared", pupil_id=note.pupil_id, **kw)
    return _pupil_page(reader, note, _anchor="shared", **kw)


def _agreement_page(reader: User, note: Notification, **kw) -> str | None:
    if _is_self(reader, note):
        return url_for("agreement.index", **kw)
    if note.pupil_id is None:
        return None
    return url_for("agreement.overview", pupil_id=note.pupil_id, **kw)


TARGETS: dict[str, Callable[..., str | None]] = {
    "entry": _entry_page,
    "document": _document_page,
    "agreement": _agreement_page,
    "pupil": _pupil_page,
    "assessments": lambda reader, note, **kw: url_for("pupil.assessment_requests", **kw),
    "guidance": lambda reader, note, **kw: url_for("guidance.mine", **kw),
    "timeline": lambda reader, note, **kw: url_for("pupil.timeline", **kw),
    "caseload": lambda reader, note, **kw: url_for("review.caseload", **kw),
    "account": lambda reader, note, **kw: url_for(
        "privacy.who_looked", pupil_id=reader.id, _anchor="account", **kw
    ),
    "news": lambda reader, note, **kw: url_for("notifications.index", **kw),
}


def target_url(reader: User, note: Notification, *, external: bool = False) -> str | None:
    """The page of the reader's own role that the notice leads to (None: no page)."""
    find = TARGETS.get(spec(note.kind).target, TARGETS["news"])
    kw = {"_external": True} if external else {}
    return find(reader, note, **kw)
