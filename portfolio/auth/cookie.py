"""The session cookie: signed by Flask, renewed at most once a minute.

The cookie carries the idle lifetime (PERMANENT_SESSION_LIFETIME, two hours): Flask
refuses a cookie signed longer ago than that, and by default signs it again on every
response, so that a user who is active never reaches it. Signing (serialise, compress,
HMAC) and sending it again was a tenth of the cost of a page kept in memory
(portfolio/pagecache.py, tests/benchmarks/THROUGHPUT.md). Here the unchanged cookie is
renewed only when it was signed more than SESSION_RENEW_SECONDS ago: the idle lifetime
then holds to within that minute. A session that changed is saved as before.
"""

from __future__ import annotations

import time

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature


def _now() -> float:
    return time.time()


class Session(SecureCookieSession):
    #: When the cookie it came from was signed (Unix time; None: no cookie).
    signed_at: float | None = None


class SessionInterface(SecureCookieSessionInterface):
    session_class = Session

    def open_session(self, app: Flask, request: Request) -> Session | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        session.signed_at = signed.timestamp()
        return session

    def should_set_cookie(self, app: Flask, session) -> bool:
        if session.modified or not session.permanent:
            return bool(session.modified)
        if not app.config["SESSION_REFRESH_EACH_REQUEST"]:
            return False
        signed_at = getattr(session, "signed_at", None)
        renew_after = app.config.get("SESSION_RENEW_SECONDS", 60)
        return signed_at is None or _now() - signed_at >= renew_after


def install(app: Flask) -> None:
    app.session_interface = SessionInterface()
