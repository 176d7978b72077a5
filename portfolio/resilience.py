"""Riding out a database restart: requests that hit a lost connection are retried.

When PostgreSQL restarts (failover, update), the connections in the pool break. A
request that fails for that reason has not changed anything (its transaction was
rolled back by the server), so it is run again from the start, with its body
buffered, until the database answers or a time limit passes. The user sees a slower
answer instead of an error page.
"""

from __future__ import annotations

import contextlib
import io
import time

import sqlalchemy.exc
from flask import Flask
from sqlalchemy.exc import DBAPIError

from portfolio.extensions import db

RETRY_HEADER = "X-Portfolio-Retry"


class DatabaseUnavailable(Exception):
    """Raised inside a request when the database connection was lost."""


def is_disconnect(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and bool(
        error.connection_invalidated or _looks_lost(error)
    )


def _looks_lost(error: DBAPIError) -> bool:
    text = str(error.orig).lower() if error.orig is not None else ""
    return any(
        s in text
        for s in (
            "server closed the connection",
            "terminating connection",
            "connection refused",
            "the database system is shutting down",
            "the database system is starting up",
            "connection is closed",
            "consuming input failed",
            "could not connect",
        )
    )


class RetryOnDatabaseRestart:
    """WSGI middleware: re-run a request that ended in a lost-connection answer."""

    def __init__(self, wsgi_app, max_wait: float = 30.0, max_body=lambda: None) -> None:
        self.wsgi_app = wsgi_app
        self.max_wait = max_wait
        #: The app's MAX_CONTENT_LENGTH (a callable: the config may change at run time).
        self.max_body = max_body

    def __call__(self, environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = self.max_body()
        if limit is not None and length > limit:
            # Too large: not buffered here, so that the app refuses it (413) unread.
            return self.wsgi_app(environ, start_response)
        if not length and environ.get("wsgi.input_terminated"):
            # Chunked body without Content-Length (gunicorn): read up to the limit + 1.
            body = environ["wsgi.input"].read(limit + 1 if limit is not None else -1)
            if limit is not None and len(body) > limit:
                env = dict(environ, CONTENT_LENGTH=str(len(body)))
                env["wsgi.input"] = io.BytesIO(body)
                return self.wsgi_app(env, start_response)
        else:
            body = environ["wsgi.input"].read(length) if length else b""
        deadline = time.monotonic() + self.max_wait
        delay = 0.1
        while True:
            captured: dict = {}

            def capture(status, headers, exc_info=None, captured=captured):
                captured["status"], captured["headers"] = status, headers
                return lambda data: None

            env = dict(environ)
            env["wsgi.input"] = io.BytesIO(body)
            if body:
                env["CONTENT_LENGTH"] = str(len(body))
                env.pop("wsgi.input_terminated", None)
            try:
                result = self.wsgi_app(env, capture)
            except DBAPIError as error:
                # Escaped the app (e.g. while cleaning up): nothing was sent yet; run again.
                if not is_disconnect(error) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            retry = any(k == RETRY_HEADER for k, _v in captured.get("headers", []))
            if not retry or time.monotonic() + delay > deadline:
                headers = [(k, v) for k, v in captured["headers"] if k != RETRY_HEADER]
                start_response(captured["status"], headers)
                return result
            if hasattr(result, "close"):
                result.close()
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def register(app: Flask) -> None:
    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError):
        if not is_disconnect(error):
            raise error
        return _unavailable()

    @app.errorhandler(sqlalchemy.exc.PendingRollbackError)
    def invalidated_transaction(error):
        # The connection broke earlier in this request and the session still holds its
        # transaction: the same situation as a lost connection.
        return _unavailable()

    @app.teardown_appcontext
    def drop_broken_session(_exc):
        # Runs before Flask-SQLAlchemy's own teardown. Closing a session whose connection
        # the server has terminated raises; the request's answer is ready by now (a write
        # was committed before the connection broke), so forget the session quietly
        # instead of turning a finished request into an error.
        try:
            db.session.remove()
        except DBAPIError as error:
            if not is_disconnect(error):
                raise
            db.session.registry.clear()
            db.engine.dispose()

    app.wsgi_app = RetryOnDatabaseRestart(
        app.wsgi_app, max_body=lambda: app.config.get("MAX_CONTENT_LENGTH")
    )


def _unavailable():
    from flask import render_template

    with contextlib.suppress(Exception):  # the connection is gone anyway
        db.session.rollback()
        db.session.remove()
    db.engine.dispose()
    try:
        # The page's layout asks the database (navigation); it may still be down.
        body = render_template("errors/503.html")
    except Exception:  # noqa: BLE001
        db.session.remove()
        body = "Service unavailable, please try again."
    return body, 503, {RETRY_HEADER: "1"}
