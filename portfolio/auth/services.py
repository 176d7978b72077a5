"""Login sessions, authentication and password changes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from flask import current_app, session
from flask_login import login_user, logout_user
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from portfolio import transaction
from portfolio.auth import throttle
from portfolio.auth.passwords import readable_password
from portfolio.extensions import db
from portfolio.models import LoginSession, User, utcnow
from portfolio.privacy import audit

# Checked when the username is unknown, so that the answer takes as long as for a real one:
# made with the method real accounts are hashed with (PASSWORD_HASH_METHOD), once per method.
_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
    return _DUMMY_HASHES[method]


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()[:80]


def authenticate(username: str, password: str) -> User | None:
    """The user for these credentials, or None. Same work whether or not the name exists."""
    user = db.session.scalar(sa.select(User).where(User.username == normalise_username(username)))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.is_active_account:
        return None
    return user


#: The statement of every logged-in request, built once: constructing a SELECT with its
#: joins and loader options cost more than running it (tests/benchmarks/RESULTS.md).
#: Beside the user, their roles and school it reads what every page's navigation shows
#: (`SESSION_FIGURES`), in the same statement instead of one more query each.
_SESSION_USER: sa.Select | None = None


def _session_figures() -> dict[str, sa.ColumnElement]:
    """Figures every page shows, as scalar subqueries on `User` (name -> column): each
    comes from the module that owns it; `preloaded(user, name)` hands it back."""
    from portfolio.jobs.services import has_jobs_column
    from portfolio.notifications.services import unread_count_column
    from portfolio.pagecache import generation_column

    return {
        "unread_news": unread_count_column(),
        "has_jobs": has_jobs_column(),
        "page_generation": generation_column(),
    }


#: Per figure of `_session_figures`, the tables a write must touch to change it.
_FIGURE_TABLES = {
    "unread_news": ("notification", "user_account"),
    "has_jobs": ("job", "user_account"),
}


def _session_user_statement() -> sa.Select:
    global _SESSION_USER
    if _SESSION_USER is None:
        figures = _session_figures()
        _SESSION_USER = (
            sa.select(User, *(column.label(name) for name, column in figures.items()))
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(*_LIVE_SESSION)
            .options(joinedload(User.role_rows), joinedload(User.school))
        )
    return _SESSION_USER


#: A login session that lets its user in (parameters: `session_parameters(token)`).
_LIVE_SESSION = (
    LoginSession.token == sa.bindparam("token"),
    LoginSession.ended_at.is_(None),
    LoginSession.created_at > sa.bindparam("started_after"),
)


def live_session_statement(*columns: sa.ColumnElement) -> sa.Select:
    """SELECT `columns` for a login session that lets its user in, of an active account:
    the conditions of `load_user_from_session` (parameters: `session_parameters`)."""
    return (
        sa.select(*columns)
        .select_from(LoginSession)
        .join(User, User.id == LoginSession.user_id)
        .where(*_LIVE_SESSION, User.is_active_account)
    )


def session_parameters(token: str) -> dict | None:
    """The parameters of the statements above for the token of a session cookie, or None
    for a token that cannot be one."""
    if not token or not isinstance(token, str) or len(token) > 64:
        return None
    # Absolute lifetime: however active, a login ends SESSION_MAX_HOURS after it began (the
    # idle lifetime is the session cookie's, PERMANENT_SESSION_LIFETIME).
    hours = current_app.config.get("SESSION_MAX_HOURS", 12)
    return {"token": token, "started_after": utcnow() - dt.timedelta(hours=hours)}


def load_user_from_session(token: str) -> User | None:
    """Flask-Login's user loader: the cookie names a server-side login session."""
    parameters = session_parameters(token)
    if parameters is None:
        return None
    # One query for the login session, the user, their roles and their school, and the
    # figures of the navigation: every request of a logged-in user runs it.
    row = db.session.execute(_session_user_statement(), parameters).unique().first()
    if row is None:
        return None
    user = row[0]
    if not user.is_active_account:
        return None
    user.session_token = token
    user.preloaded = {name: row._mapping[name] for name in row._fields[1:]}
    return user


def preloaded(user: User, name: str):
    """A figure read with the session user (`_session_figures`), or None when there is
    none or it may be out of date: once the request has written to what the figure counts
    (a read notice, a new job; any statement whose table is not known), the owner asks the
    database again. An audit event or an entry leaves it as read."""
    values = getattr(user, "preloaded", None)
    if not values or name not in values:
        return None
    if transaction.has_writes(tables=_FIGURE_TABLES.get(name)):  # (unknown: any write)
        return None
    return values[name]


def start_session(user: User) -> None:
    """Log the user in with a fresh session id and a new server-side login session."""
    chosen_locale = session.get("locale")
    session.clear()  # a new session at login: nothing carried over from before...
    if chosen_locale:  # ...but the language the visitor chose before logging in
        session["locale"] = chosen_locale
        user.locale = chosen_locale
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(token=token, user_id=user.id))
    user.last_login_at = utcnow()
    db.session.flush()
    user.session_token = token
    login_user(user)
    session.permanent = True


def end_session(user: User) -> None:
    """Log out here and on the server: a copied cookie stops working."""
    if user.session_token:
        db.session.execute(
            sa.update(LoginSession)
            .where(LoginSession.token == user.session_token)
            .values(ended_at=utcnow())
        )
        db.session.flush()
    logout_user()
    session.clear()


def end_all_sessions(user: User, keep: str | None = None) -> None:
    """End every login session of the user (after a password change or reset)."""
    query = sa.update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None)
    )
    if keep:
        query = query.where(LoginSession.token != keep)
    db.session.execute(query.values(ended_at=utcnow()))


def change_password(user: User, new_password: str) -> None:
    """The user's own new password; ends their other sessions.

    A pupil replacing an initial password (from the roster import, a reset or a login
    slip) is an account event: staff knew that password, so the pupil and the guardians
    see in "who looked" when it was used.
    """
    if user.must_change_password and user.is_pupil:
        audit.account_event(user, user, "password_chosen")
    user.set_password(new_password)
    user.must_change_password = False
    end_all_sessions(user, keep=user.session_token)
    db.session.flush()


def set_initial_password(user: User) -> str:
    """A new readable initial password (not committed): it only opens the page for choosing
    an own one (`views.force_password_change`), and every session of the user ends."""
    password = readable_password()
    user.set_password(password)
    user.must_change_password = True
    end_all_sessions(user)
    return password


def reset_password(user: User, actor: User) -> str:
    """Staff give the pupil a new initial password; recorded and told to the pupil."""
    password = set_initial_password(user)
    audit.account_event(actor, user, "password_reset")
    db.session.flush()
    username = user.username
    # The limiter's storage is outside the database: only once the new password is kept.
    transaction.after_commit(lambda: throttle.forget_account(username))
    return password


def draft_owner(user: User) -> str:
    """The value that binds a browser's unsaved drafts (static/js/app.js) to this user: a
    keyed hash of the id, so that the next user of a shared computer can neither read whose
    drafts are stored nor forge the value to get them offered."""
    secret = current_app.config["SECRET_KEY"]
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, f"bwp-draft-owner:{user.id}".encode(), hashlib.sha256).digest()
    # Base32 (A-Z, 2-7): in every page's HTML, so nothing a page's text could contain.
    return base64.b32encode(digest[:20]).decode()
