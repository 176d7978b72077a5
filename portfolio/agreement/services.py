"""Transition agreement: drafts, versions, signatures and the lock after signing.

A version is edited as a draft until pupil, guardian and class teacher have signed it
(kinds.REQUIRED_SIGNERS); then it is locked for good. Any later change becomes a new
version with the next number, made in the pupil's current grade. A change to a draft
removes the signatures it already had: nobody's signature may stand under content they
have not seen. Whoever saves or signs names the version they read (`Agreement.version`);
if it changed in the meantime, the action is refused.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from babel.lists import format_list
from flask_babel import LazyString, get_locale
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from portfolio import accounts
from portfolio.extensions import db
from portfolio.i18n import _, _l
from portfolio.kinds import AGREEMENT_SIGNER_ROLES, REQUIRED_SIGNERS
from portfolio.models import Agreement, AgreementSignature, Audience, User, utcnow
from portfolio.notifications import services as notifications
from portfolio.privacy import audit

CONTENT_KEYS = ("dream_job", "strengths", "fields", "next_step", "steps", "contacts")
SIGNER_LABELS = dict(AGREEMENT_SIGNER_ROLES)

MSG_STALE = _l(
    "The agreement has been changed since you opened it. Please read the current version "
    "and try again."
)
MSG_LOCKED = _l("This version is signed and locked. It cannot be changed or signed any more.")
MSG_NOT_CURRENT = _l("Only the current version can be signed.")


def _already_signed(role: str):
    return _l(
        "This version has already been signed as: %(role)s.", role=SIGNER_LABELS.get(role, role)
    )


class AgreementError(Exception):
    """An action on the agreement that cannot be done; `message` says why."""

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message


def versions(pupil_id: int) -> list[Agreement]:
    """All versions of the pupil's agreement, newest first, with their signatures."""
    return list(
        db.session.scalars(
            sa.select(Agreement)
            .where(Agreement.pupil_id == pupil_id)
            .options(selectinload(Agreement.signatures))
            .order_by(Agreement.number.desc())
        )
    )


def _latest_for_update(pupil_id: int) -> Agreement | None:
    """The newest version, locked against concurrent writers (PostgreSQL) and fresh."""
    return db.session.scalar(
        sa.select(Agreement)
        .where(Agreement.pupil_id == pupil_id)
        .order_by(Agreement.number.desc())
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def content_of(agreement: Agreement | None) -> dict[str, Any]:
    """Decision and fields of a version, as the edit form and comparisons use them."""
    data = dict(agreement.data or {}) if agreement else {}
    content: dict[str, Any] = {"decision": agreement.decision if agreement else None}
    for key in CONTENT_KEYS:
        default: Any = [] if key in ("fields", "steps", "contacts") else ""
        content[key] = data.get(key, default)
    return content


def missing_for_signing(agreement: Agreement) -> list[object]:
    """What must be filled in before anyone can sign (empty list: complete)."""
    missing = []
    if not agreement.decision:
        missing.append(_l("the decision about what comes after school"))
    if not str((agreement.data or {}).get("next_step") or "").strip():
        missing.append(_l("the concrete next step"))
    return missing


def signature_for(agreement: Agreement, role: str) -> AgreementSignature | None:
    return next((s for s in agreement.signatures if s.role == role), None)


def signature_due(agreement: Agreement, role: str) -> bool:
    """Whether the version waits for a signature in `role`: complete, not locked, and
    nobody has signed in that role yet."""
    return (
        not agreement.is_locked
        and not missing_for_signing(agreement)
        and signature_for(agreement, role) is None
    )


def unsigned_required(agreement: Agreement) -> list[str]:
    signed = {s.role for s in agreement.signatures}
    return [role for role in REQUIRED_SIGNERS if role not in signed]


def current_grade(pupil: User) -> str | None:
    cls = accounts.current_class(pupil)
    return cls.grade if cls else None


def save(
    pupil: User,
    content: dict[str, Any],
    *,
    expected: tuple[int, int] | None,
    actor: User | None = None,
) -> tuple[Agreement, str]:
    """Write the content: into the draft, or as a new version after a locked one.

    `expected` is (agreement id, version) as the editor loaded it, None if there was
    none yet. `actor`: who saves (default: the pupil); the others are told. Returns the
    version written and what happened: "created", "new_version", "updated", "unsigned"
    (a change removed signatures) or "unchanged".
    """
    latest = _latest_for_update(pupil.id)
    loaded = (latest.id, latest.version) if latest else None
    if loaded != expected:
        db.session.rollback()
        raise AgreementError(MSG_STALE)
    if latest is not None and content == content_of(latest):
        db.session.rollback()
        return latest, "unchanged"

    if latest is None or latest.is_locked:
        outcome = "created" if latest is None else "new_version"
        target = Agreement(
            school_id=pupil.school_id,
            pupil_id=pupil.id,
            number=latest.number + 1 if latest else 1,
            grade=current_grade(pupil),
            share_guardians=latest.share_guardians if latest else True,
            share_counsellor=latest.share_counsellor if latest else False,
        )
        db.session.add(target)
    else:
        target = latest
        outcome = "unsigned" if target.signatures else "updated"
        target.signatures.clear()
        target.grade = current_grade(pupil) or target.grade
    target.decision = content.get("decision") or None
    target.data = {key: content.get(key) for key in CONTENT_KEYS}
    target.edited_at = utcnow()  # "last changed": content only, not signatures
    try:
        db.session.flush()
        notifications.agreement_saved(target, actor or pupil)
    except (IntegrityError, StaleDataError) as error:  # someone saved at the same moment
        db.session.rollback()
        raise AgreementError(MSG_STALE) from error
    return target, outcome


def sign(agreement_id: int, signer: User, role: str, *, expected_version: int) -> Agreement:
    """Sign the version as `role`; lock it when all required roles have signed."""
    agreement = db.session.get(Agreement, agreement_id)
    latest = _latest_for_update(agreement.pupil_id) if agreement else None
    try:
        if agreement is None or latest is None or latest.id != agreement.id:
            raise AgreementError(MSG_NOT_CURRENT)
        if agreement.is_locked:
            raise AgreementError(MSG_LOCKED)
        if agreement.version != expected_version:
            raise AgreementError(MSG_STALE)
        if missing_for_signing(agreement):
            missing = missing_for_signing(agreement)
            raise AgreementError(
                LazyString(
                    lambda: _(
                        "Please fill in %(fields)s first; then it can be signed.",
                        fields=format_list([str(m) for m in missing], locale=get_locale()),
                    )
                )
            )
        if signature_for(agreement, role):
            raise AgreementError(_already_signed(role))
    except AgreementError:
        db.session.rollback()
        raise
    agreement.signatures.append(
        AgreementSignature(
            school_id=agreement.school_id,
            role=role,
            user_id=signer.id,
            name=signer.full_name,
            signed_at=utcnow(),
        )
    )
    if not unsigned_required(agreement):
        agreement.locked_at = utcnow()
    try:
        db.session.flush()
        notifications.agreement_signed(agreement, signer)
    except (IntegrityError, StaleDataError) as error:
        db.session.rollback()
        raise AgreementError(_already_signed(role)) from error
    return agreement


def set_sharing(pupil_id: int, *, guardians: bool, counsellor: bool) -> None:
    """The pupil's choice applies to every version (it is about people, not content)."""
    latest = next(iter(versions(pupil_id)), None)
    added = set()
    if latest is not None:
        if guardians and not latest.share_guardians:
            added.add(Audience.GUARDIANS)
        if counsellor and not latest.share_counsellor:
            added.add(Audience.COUNSELLOR)
    db.session.execute(
        sa.update(Agreement)
        .where(Agreement.pupil_id == pupil_id)
        .values(share_guardians=guardians, share_counsellor=counsellor)
        .execution_options(synchronize_session="fetch")
    )
    if latest is not None and added:
        notifications.agreement_shared(latest, latest.pupil, added)
    db.session.flush()


def record_view(user: User, pupil: User, agreement: Agreement, page: str = "show") -> None:
    """Audit: someone other than the pupil read a version (or opened it in the edit form)."""
    details: dict[str, Any] = {"number": agreement.number}
    if page != "show":
        details["page"] = page
    audit.record(
        user,
        "view",
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        obj=agreement,
        details=details,
    )
