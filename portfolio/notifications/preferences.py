"""Each user's choice about e-mail: the address (confirmed by a link) and how often.

* How often: at once, a daily digest, or never. Until a user chooses, the role decides:
  pupils never (they are children and see the News in the app), parents and staff a
  daily digest.
* No mail goes to an address its owner has not confirmed: a new address gets a link
  (signed, valid for CONFIRM_DAYS) and counts from the moment it is followed.
* Every mail carries an unsubscribe link that works without logging in (signed with the
  app's secret; it only ever turns mail off).
"""

from __future__ import annotations

import datetime as dt

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from portfolio.extensions import db
from portfolio.i18n import _, _l
from portfolio.models import Role, User, utcnow

IMMEDIATE, DIGEST, NEVER = "immediate", "digest", "never"
FREQUENCIES = (IMMEDIATE, DIGEST, NEVER)
FREQUENCY_LABELS = {
    IMMEDIATE: _l("At once, one e-mail for each piece of news"),
    DIGEST: _l("Once a day, a summary (only on days with news)"),
    NEVER: _l("Never: I look in the app"),
}
#: How long a confirmation link works.
CONFIRM_DAYS = 7
_CONFIRM_SALT = "notifications.confirm-address"
_UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def mail_enabled() -> bool:
    """Whether this installation sends e-mail at all (MAIL_SERVER is set)."""
    return bool(current_app.config.get("MAIL_SERVER"))


def is_adult(user: User) -> bool:
    """Parents and staff (addressed with "Sie" in German); pupils are addressed with "du"."""
    return user.has_role(Role.GUARDIAN) or user.is_staff


def default_frequency(user: User) -> str:
    """Pupils: never; parents and staff: a daily digest."""
    return DIGEST if is_adult(user) else NEVER


def frequency(user: User) -> str:
    """The user's choice, or the default of their role."""
    return user.mail_frequency if user.mail_frequency in FREQUENCIES else default_frequency(user)


def has_confirmed_address(user: User) -> bool:
    return bool(user.email) and user.email_confirmed_at is not None


def receives_mail(user: User, wanted: str | None = None) -> bool:
    """Whether mail goes to the user now (with `wanted`: at this frequency)."""
    if not mail_enabled() or not user.is_active_account or not has_confirmed_address(user):
        return False
    chosen = frequency(user)
    return chosen != NEVER and (wanted is None or chosen == wanted)


# -- the address ---------------------------------------------------------------------------
class AddressError(ValueError):
    """A user-facing reason why an address cannot be used."""


def normalise_address(raw: str) -> str:
    """The address as it will be stored ("" for none); AddressError when it is not one."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise AddressError(_("This is not an e-mail address. Please check it.")) from error


def set_address(user: User, raw: str) -> str:
    """Store a new address unconfirmed and send it a confirmation link (after the commit).

    Returns what happened: "unchanged", "removed", "sent" (link on its way) or "stored"
    (no mail server: the link goes out once there is one and the user asks again).
    """
    address = normalise_address(raw)
    if address == (user.email or ""):
        return "unchanged"
    user.email = address or None
    user.email_confirmed_at = None
    if not address:
        return "removed"
    return "sent" if send_confirmation(user) else "stored"


def send_confirmation(user: User) -> bool:
    """Send the link for the user's unconfirmed address (after the commit); False: no mail."""
    if not mail_enabled() or not user.email or user.email_confirmed_at is not None:
        return False
    from portfolio.notifications import mail

    db.session.flush()
    mail.send_confirmation.enqueue(user.id, user.email)
    return True


def set_frequency(user: User, chosen: str) -> None:
    if chosen not in FREQUENCIES:
        raise ValueError(chosen)
    user.mail_frequency = chosen


# -- signed links ----------------------------------------------------------------------------
def confirm_token(user: User, address: str) -> str:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_CONFIRM_SALT).dumps(
        {"u": user.id, "e": address}
    )


def read_confirm_token(token: str) -> tuple[User | None, str | None, str]:
    """(user, address, state) of a confirmation link; state: ok, expired, invalid or stale
    (the account has another address by now)."""
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=_CONFIRM_SALT)
    try:
        data = serializer.loads(token, max_age=int(dt.timedelta(days=CONFIRM_DAYS).total_seconds()))
    except SignatureExpired:
        return None, None, "expired"
    except BadSignature:
        return None, None, "invalid"
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.is_active_account:
        return None, None, "invalid"
    address = data.get("e")
    if address != user.email:
        return user, address, "stale"
    return user, address, "ok"


def confirm(user: User, address: str) -> bool:
    """Mark the address confirmed (if it is still the user's); False if it is not."""
    if user.email != address:
        return False
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    return True


def unsubscribe_token(user: User) -> str:
    return URLSafeSerializer(current_app.secret_key, salt=_UNSUBSCRIBE_SALT).dumps({"u": user.id})


def read_unsubscribe_token(token: str) -> User | None:
    try:
        data = URLSafeSerializer(current_app.secret_key, salt=_UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        return None
    return db.session.get(User, data.get("u")) if isinstance(data, dict) else None


def unsubscribe(user: User) -> None:
    """No more e-mail about news (the News page stays)."""
    user.mail_frequency = NEVER
