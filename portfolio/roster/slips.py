"""Login slips for pupils and registration letters for guardians (one PDF).

Initial passwords exist in clear only while the PDF is made: the import (or the
password reset for selected pupils) returns them, they go straight into the PDF, and the
PDF is kept as a one-time download (`OneTimeFiles`): a file under the instance folder,
readable only by the user who made it, deleted after the first download or after 30
minutes, whichever comes first. Nothing else stores them; the database has only hashes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from markupsafe import Markup

from portfolio import collation
from portfolio.auth.services import set_initial_password
from portfolio.config import LANGUAGES, RTL_LANGUAGES
from portfolio.extensions import db
from portfolio.guardian import registration
from portfolio.models import GuardianLink, User, utcnow
from portfolio.pdf import render_pdf
from portfolio.privacy import audit
from portfolio.tempfiles import TokenFiles


@dataclass
class Slip:
    pupil: User
    class_name: str
    password: str | None = None
    code: str | None = None
    letter_locale: str = "de"
    guardian_name: str | None = None


class PublicUrlMissing(RuntimeError):
    """Slips and letters cannot be printed: production without a PUBLIC_URL."""


def public_url(endpoint: str) -> str:
    """Full address of a page for printing on slips and letters.

    Always PUBLIC_URL: the address a family types from paper must not come from the
    request's Host header, which a client chooses. Without PUBLIC_URL, in development only,
    the request's own address (or none from a command); in production PublicUrlMissing
    before anything is printed.
    """
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        if current_app.config.get("PRODUCTION"):
            raise PublicUrlMissing(
                "PUBLIC_URL is not set: login slips and letters need the address at which "
                "families reach the app."
            )
        return url_for(endpoint, _external=True) if has_request_context() else ""
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    return adapter.build(endpoint, {}, force_external=True)


def guardian_locales(pupil_ids: list[int]) -> dict[int, str]:
    """pupil id -> language of a linked guardian who chose one (one query)."""
    if not pupil_ids:
        return {}
    rows = db.session.execute(
        sa.select(GuardianLink.pupil_id, User.locale)
        .join(User, User.id == GuardianLink.guardian_id)
        .where(GuardianLink.pupil_id.in_(pupil_ids), User.locale.is_not(None))
        .order_by(GuardianLink.created_at)
    ).all()
    found: dict[int, str] = {}
    for pupil_id, locale in rows:
        if locale in LANGUAGES:
            found.setdefault(pupil_id, locale)
    return found


def prepare(
    entries: list[tuple[User, str, str | None]],
    *,
    letters: bool,
    fallback_locale: str,
    guardian_names: dict[int, str] | None = None,
) -> list[Slip]:
    """Slips for (pupil, class name, password), by class and in German name order (as
    they are handed out); issues guardian codes when `letters`."""
    public_url("auth.login")  # refuse before any code is issued
    locales = guardian_locales([p.id for p, _c, _pw in entries]) if letters else {}
    slips = []
    ordered = sorted(entries, key=lambda e: (e[1] or "", collation.name_key(e[0])))
    for pupil, class_name, password in ordered:
        slip = Slip(
            pupil=pupil,
            class_name=class_name,
            password=password,
            guardian_name=(guardian_names or {}).get(pupil.id),
        )
        if letters:
            slip.letter_locale = locales.get(pupil.id, fallback_locale)
            slip.code = registration.issue_code(pupil, slip.letter_locale)
        slips.append(slip)
    return slips


def reset_passwords(pupils: list[User], actor: User) -> dict[int, str]:
    """New initial passwords for the pupils (not committed): pupil id -> password.

    Each is an account event that the pupil sees in "who looked" and the news.
    """
    public_url("auth.login")  # refuse before any password changes, not after
    passwords = {}
    for pupil in pupils:
        passwords[pupil.id] = set_initial_password(pupil)
        audit.account_event(actor, pupil, "login_slip")
    db.session.flush()
    return passwords


def render(school, slips: list[Slip], *, title: str) -> bytes:
    """The PDF: pupils' slips with cut lines, then one letter per pupil for the guardians."""
    code_days = current_app.config.get("GUARDIAN_CODE_DAYS", 30)
    expires = (utcnow() + dt.timedelta(days=code_days)).date()
    login_url = public_url("auth.login")
    register_url = public_url("guardian.register")
    letters = []
    for slip in slips:
        if not slip.code:
            continue
        with force_locale(slip.letter_locale):
            letters.append(
                Markup(
                    render_template(
                        "pdf/_guardian_letter.html",
                        slip=slip,
                        school=school,
                        expires=expires,
                        register_url=register_url,
                        lang=slip.letter_locale,
                        direction="rtl" if slip.letter_locale in RTL_LANGUAGES else "ltr",
                    )
                )
            )
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "de")
    with force_locale(default):
        return render_pdf(
            "pdf/login_slips.html",
            slips=[s for s in slips if s.password],
            letters=letters,
            school=school,
            login_url=login_url,
            title=title,
            lang=default,
        )


class OneTimeFiles(TokenFiles):
    """A generated file that its maker can download once, within `max_age` seconds."""

    subfolder = "one-time"
    max_age = 1800

    def put(self, data: bytes, *, user_id: int, filename: str) -> str:
        return super().put(data, user_id=user_id, filename=filename)

    def exists(self, token: str, *, user_id: int) -> bool:
        return self.meta(token, user_id=user_id) is not None

    def take(self, token: str, *, user_id: int) -> tuple[bytes, str] | None:
        """The file and its name, deleted on the way out; None when gone or not the user's."""
        found = self.read(token, user_id=user_id)
        if found is None:
            return None
        self.delete(token)
        data, meta = found
        return data, meta["filename"]
