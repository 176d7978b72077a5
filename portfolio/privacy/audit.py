"""Record who looked at or took a pupil's content (append-only audit log)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from portfolio.extensions import db
from portfolio.models import AuditEvent, User


def record(
    actor: User | None,
    action: str,
    *,
    pupil_id: int | None = None,
    school_id: int | None = None,
    obj: Any = None,
    details: dict[str, Any] | None = None,
    commit: bool = False,
) -> None:
    """Add an audit event for `actor` doing `action` (view, download, export ...).

    Nothing is recorded when pupils look at their own things. Content is never
    written to the log, only what kind of object and its id.
    """
    if actor is not None and pupil_id is not None and actor.id == pupil_id:
        return
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
    if commit:
        db.session.commit()


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("The audit log is append-only.")
