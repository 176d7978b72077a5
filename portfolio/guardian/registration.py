"""Guardian registration codes and guardian accounts.

A code like "KX7P-M2Q9-TR4A" is printed once on the letter to the guardians. Only the
SHA-256 of its normalised form is stored. It expires (GUARDIAN_CODE_DAYS, 30 days) and
works once. The alphabet leaves out characters that are easily confused (0/O, 1/I/L,
5/S, 8/B, 2/Z, U/V), and input is normalised (case, spaces, dashes) before hashing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import sqlalchemy as sa
from flask import current_app

from portfolio import accounts
from portfolio.auth.passwords import password_problem
from portfolio.collation import name_order
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import GuardianCode, GuardianLink, Role, User, utcnow
from portfolio.notifications import preferences
from portfolio.privacy import audit

ALPHABET = "ACDEFGHJKMNPQRTWXY34679"
GROUPS, GROUP_LEN = 3, 4
USERNAME_RE = re.compile(r"[a-z0-9._-]{3,80}")


class RegistrationError(ValueError):
    """A user-facing reason; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def invalid_code_message() -> str:
    # One message for wrong, expired and used codes: it must not help guessing.
    return _("This code does not work. Please check it, or ask the school for a new letter.")


def new_code() -> str:
    return "-".join(
        "".join(secrets.choice(ALPHABET) for _i in range(GROUP_LEN)) for _g in range(GROUPS)
    )


def normalise(code: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", (code or "").upper())[:40]


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def issue_code(pupil: User, locale: str | None = None, *, days: int | None = None) -> str:
    """A new registration code for the pupil's guardians (added to the session); returns it."""
    days = days or current_app.config.get("GUARDIAN_CODE_DAYS", 30)
    code = new_code()
    db.session.add(
        GuardianCode(
            school_id=pupil.school_id,
            pupil_id=pupil.id,
            code_hash=code_hash(code),
            locale=locale,
            expires_at=utcnow() + dt.timedelta(days=days),
        )
    )
    return code


def find_code(code: str, *, lock: bool = False) -> GuardianCode | None:
    """The unused, unexpired code row for this code, or None."""
    if len(normalise(code)) != GROUPS * GROUP_LEN:
        return None
    query = sa.select(GuardianCode).where(GuardianCode.code_hash == code_hash(code))
    if lock:
        query = query.with_for_update()
    row = db.session.scalar(query)
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    if not row.pupil.is_pupil or not row.pupil.is_active_account:
        return None
    return row


def _use(row: GuardianCode, guardian: User) -> None:
    if not _linked(guardian, row.pupil):
        accounts.link_guardian(guardian, row.pupil)
        audit.account_event(guardian, row.pupil, "guardian_registered")
    row.used_at = utcnow()
    row.used_by_id = guardian.id


def _linked(guardian: User, pupil: User) -> bool:
    return bool(
        guardian.id
        and db.session.scalar(
            sa.select(GuardianLink.id).where(
                GuardianLink.guardian_id == guardian.id, GuardianLink.pupil_id == pupil.id
            )
        )
    )


def check_new_account(*, username: str, first_name: str, last_name: str, password: str) -> str:
    """The normalised username, or RegistrationError naming the field at fault."""
    username = (username or "").strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise RegistrationError(
            _("Use 3 to 80 characters: letters a–z, digits, dot, dash or underscore."), "username"
        )
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise RegistrationError(_("This username is taken. Please choose another one."), "username")
    probe = User(username=username, first_name=first_name.strip(), last_name=last_name.strip())
    problem = password_problem(probe, password)
    if problem:
        raise RegistrationError(problem, "password")
    return username


def register_guardian(
    code: str,
    *,
    first_name: str,
    last_name: str,
    username: str,
    password: str,
    locale: str | None,
    email: str = "",
) -> User:
    """Create a guardian account linked to the code's pupil. Raises RegistrationError.

    With `email`, the address is stored unconfirmed and a confirmation link goes to it.
    """
    row = find_code(code, lock=True)
    if row is None:
        raise RegistrationError(invalid_code_message(), "code")
    username = check_new_account(
        username=username, first_name=first_name, last_name=last_name, password=password
    )
    try:
        preferences.normalise_address(email)
    except preferences.AddressError as error:
        raise RegistrationError(str(error), "email") from error
    guardian, _pw = accounts.create_user(
        row.pupil.school,
        roles=[Role.GUARDIAN],
        first_name=first_name,
        last_name=last_name,
        username=username,
        password=password,
        must_change_password=False,
        locale=locale,
    )
    _use(row, guardian)
    if email:
        preferences.set_address(guardian, email)
    db.session.flush()
    return guardian


def link_with_code(guardian: User, code: str) -> User:
    """Link a logged-in guardian to one more child; returns the child."""
    row = find_code(code, lock=True)
    if row is None:
        raise RegistrationError(invalid_code_message(), "code")
    if row.school_id != guardian.school_id:
        raise RegistrationError(
            _(
                "This code belongs to another school. Please log out and "
                "register a separate account with it."
            ),
            "code",
        )
    pupil = row.pupil
    _use(row, guardian)
    db.session.flush()
    return pupil


# -- by hand (staff) ------------------------------------------------------------------
def guardians_of(pupil: User) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(GuardianLink, GuardianLink.guardian_id == User.id)
            .where(GuardianLink.pupil_id == pupil.id)
            .order_by(*name_order(User))
        )
    )


def link_by_username(pupil: User, username: str, actor: User) -> User:
    """Link an existing guardian account of the school (by staff); recorded."""
    guardian = db.session.scalar(
        sa.select(User).where(
            User.username == (username or "").strip().lower(), User.school_id == pupil.school_id
        )
    )
    if guardian is None or not guardian.has_role(Role.GUARDIAN):
        raise RegistrationError(
            _("There is no parent account with this username at your school."), "username"
        )
    if not _linked(guardian, pupil):
        accounts.link_guardian(guardian, pupil)
        audit.account_event(actor, pupil, "guardian_linked", other=guardian)
    db.session.flush()
    return guardian


def unlink(pupil: User, guardian_id: int, actor: User) -> User | None:
    """Remove a guardian link (by staff); recorded; the guardian or None."""
    link = db.session.scalar(
        sa.select(GuardianLink).where(
            GuardianLink.pupil_id == pupil.id, GuardianLink.guardian_id == guardian_id
        )
    )
    if link is None:
        return None
    guardian = link.guardian
    db.session.delete(link)
    audit.account_event(actor, pupil, "guardian_unlinked", other=guardian)
    db.session.flush()
    return guardian
