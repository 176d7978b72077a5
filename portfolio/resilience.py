"""Riding out a database restart: requests that hit a lost connection are run again.

When PostgreSQL restarts (failover, update), the connections in the pool break. A request
that fails for that reason is run again from the start, with its body buffered, until the
database answers or a time limit passes; the user sees a slower answer instead of an
error page. Only what is safe to run twice is run again (`transaction.retry_is_safe`):
GET and HEAD; a request whose COMMIT was never sent (the server rolled its work back); and
a form submission with a submission key, because the run again finds the key if the
first run committed and then answers with its outcome instead of writing twice. A POST
that lost its connection during COMMIT and has no key is not repeated: the user is told
to check whether it was saved.

Before a request (or a job, a command) uses a pooled connection that has been idle for
longer than DATABASE_PING_IDLE_SECONDS, the pool pings it and replaces it if the server
has gone (`ping_idle_connections`): after a restart, the first requests do not each fail
once. A connection used a moment ago is not pinged: SQLAlchemy's `pool_pre_ping` sent one
more round trip with every request, a tenth of the pupil start page's cost under load
(tests/benchmarks/THROUGHPUT.md), and the retry above covers a connection that broke
in between.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import weakref

import sqlalchemy as sa
import sqlalchemy.exc
from flask import Flask, g, request
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from portfolio import transaction
from portfolio.extensions import db

log = logging.getLogger(__name__)

RETRY_HEADER = "X-Portfolio-Retry"


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
            "the database system is not yet accepting connections",  # crash recovery
            "the database system is in recovery mode",
            "connection is closed",
            "consuming input failed",
            "could not connect",
            # The server's socket went away under a connection attempt or a query.
            "connection reset by peer",
            "broken pipe",
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
            env = dict(environ)
            env["wsgi.input"] = io.BytesIO(body)
            if body:
                env["CONTENT_LENGTH"] = str(len(body))
                env.pop("wsgi.input_terminated", None)
            try:
                status, headers, result = self._run(env)
            except DBAPIError as error:
                # Escaped the app (e.g. while cleaning up): nothing was sent yet. Run it
                # again only if that cannot write twice.
                if (
                    not is_disconnect(error)
                    or not transaction.retry_is_safe(env, env.get("REQUEST_METHOD", "GET"))
                    or time.monotonic() + delay > deadline
                ):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            retry = any(k == RETRY_HEADER for k, _v in headers)
            if not retry or time.monotonic() + delay > deadline:
                start_response(status, [(k, v) for k, v in headers if k != RETRY_HEADER])
                return result
            if hasattr(result, "close"):
                result.close()
            log.warning(
                "database connection lost during %s %s; running it again",
                env.get("REQUEST_METHOD"),
                env.get("PATH_INFO"),
            )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _run(self, env):
        """Call the app with the answer held back: (status, headers, body iterable)."""
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        result = self.wsgi_app(env, capture)
        return captured["status"], captured["headers"], result


_RETURNED = "resilience.returned"


def _idle_clock() -> float:
    return time.monotonic()


_PINGED_POOLS: weakref.WeakSet = weakref.WeakSet()


def ping_idle_connections(engine: sa.Engine, idle_seconds: float) -> None:
    """Ping a pooled connection at checkout when it was returned more than `idle_seconds`
    ago; a dead one is replaced (the pool's "disconnect" handling). Once per engine."""

    def checkin(_dbapi_connection, record) -> None:
        record.info[_RETURNED] = _idle_clock()

    def checkout(dbapi_connection, record, _proxy) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None or _idle_clock() - returned <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool invalidates this connection and checks out a new one.
            raise sa.exc.DisconnectionError(str(error)) from error

    if engine.pool not in _PINGED_POOLS:
        _PINGED_POOLS.add(engine.pool)
        event.listen(engine.pool, "checkin", checkin)
        event.listen(engine.pool, "checkout", checkout)


def register(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine, app.config.get("DATABASE_PING_IDLE_SECONDS", 1.0))

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

    # Decided before the session is thrown away: was the COMMIT sent, was a key claimed?
    retry = transaction.retry_is_safe(request.environ, request.method)
    with contextlib.suppress(Exception):  # the connection is gone anyway
        db.session.rollback()
        db.session.remove()
    db.engine.dispose()
    g.pop("_login_user", None)  # Flask-Login's user of the removed session: load it again
    try:
        # The page's layout asks the database (navigation); it may still be down.
        body = render_template("errors/503.html", unsure=not retry)
    except Exception:  # noqa: BLE001
        db.session.remove()
        body = (
            "Service unavailable. We cannot tell whether what you just sent was saved: "
            "please look before you send it again."
            if not retry
            else "Service unavailable, please try again."
        )
    return body, 503, ({RETRY_HEADER: "1"} if retry else {})
