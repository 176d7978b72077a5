"""Record who looked at or took a pupil's content, and who changed a pupil's account
(append-only audit log).

Views, downloads and exports by anyone but the pupil: `record`. Changes to a pupil's
account (a new password, login slips, parents linked or unlinked, counsellors assigned,
the account deactivated, the pupil marked as left): `account_event`, which the pupil and
the guardians see as account events on the "who looked" page and the pupil in the news.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from portfolio.extensions import db
from portfolio.models import AuditEvent, User
from portfolio.notifications.services import notify


def record(
    actor: User | None,
    action: str,
    *,
    pupil_id: int | None = None,
    school_id: int | None = None,
    obj: Any = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit event for `actor` doing `action` (view, download, export ...).

    Nothing is recorded when pupils look at their own things. Content is never
    written to the log, only what kind of object and its id.
    """
    if actor is not None and pupil_id is not None and actor.id == pupil_id:
        return
    _add(actor, action, pupil_id=pupil_id, school_id=school_id, obj=obj, details=details)


#: Changes to a pupil's account, shown as account events in "who looked". The news
#: messages for them are `notifications.messages.MESSAGES["account_<action>"]`.
ACCOUNT_ACTIONS = (
    "password_reset",  # a new initial password by staff (the account page)
    "login_slip",  # a new initial password on a printed login slip
    "password_chosen",  # the initial password from the school replaced by the pupil's own
    "guardian_linked",
    "guardian_unlinked",
    "guardian_registered",  # a parent registered with the code from the school's letter
    "counsellor_assigned",
    "counsellor_unassigned",
    "deactivated",
    "reactivated",
    "mark_left",
    "undo_left",
)


def account_event(
    actor: User | None,
    pupil: User,
    action: str,
    *,
    other: User | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record a change to the pupil's account (added, not committed); tell the pupil.

    Recorded also when the pupil is the actor ("password_chosen"): whoever typed the
    new password, the pupil must be able to see when the school's password was used.
    `other` is the parent or counsellor the change is about; their name is kept so that
    the event still reads right after their account is gone.
    """
    if action not in ACCOUNT_ACTIONS:
        raise ValueError(f"not an account event: {action!r}")
    info = dict(details or {})
    if other is not None:
        info["name"] = other.full_name
    _add(actor, action, pupil_id=pupil.id, school_id=pupil.school_id, obj=other, details=info)
    if actor is not None and actor.id != pupil.id:
        notify(pupil, f"account_{action}", actor=actor, pupil=pupil)


def _add(actor, action, *, pupil_id, school_id, obj, details) -> None:
    roles = sorted(r.value for r in actor.roles) if actor is not None else []
    db.session.add(
        AuditEvent(
            school_id=school_id if school_id is not None else (actor.school_id if actor else None),
            actor_id=actor.id if actor else None,
            actor_name=actor.full_name if actor else "",
            actor_role=",".join(roles)[:20],
            pupil_id=pupil_id,
            action=action,
            object_type=type(obj).__name__.lower() if obj is not None else "",
            object_id=getattr(obj, "id", None),
            details=details or {},
        )
    )


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("The audit log is append-only.")
