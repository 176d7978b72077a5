"""Whole pages kept in the worker's memory per login session, until anything is written.

The pupil start page is the page pupils open most, again and again between the others;
rendering it (progress, entries, navigation) cost three times what the request around it
does (tests/benchmarks/THROUGHPUT.md). A view that returns ``pagecache.page(render)``
renders once; the next request for the same page is answered before the user is even
loaded (`serve_kept`, the first before_request hook), with one statement, while the page
is still true.

Why a kept page is true:

* **The write generation.** Every transaction that wrote anything (any statement but a
  SELECT, through the ORM, Core or text: an engine event sees them all) gives one of the
  `ROWS` rows of `page_generation` a new random value just before its COMMIT, in the
  same transaction (`watch`); the generation is their sum. So it changes atomically with
  the data, whoever writes: another worker, a job, a command, a migration. The request
  that renders reads it in the statement that loads its user (`auth.services`), before
  anything it shows, and keeps the page under it; a later request is answered with it
  only if the generation is still the same. A page rendered from data committed after
  the generation was read is kept under one that is already gone.
* **What else a page depends on** is in the key or in the database: the login session
  (a server-side token: one user in one browser, so nothing is shared across users or
  sessions), the address, what the language is chosen from beside the user's setting
  (the session's choice, the browser's Accept-Language), the day the progress counts
  from. The user's roles, account state, password state and the pupil's access are rows:
  a change to any of them changes the generation. The one statement of `serve_kept`
  reads the generation only for a login session that still lets its user in (not ended,
  not older than SESSION_MAX_HOURS, an active account); the idle lifetime is the cookie's.
* **Per response, fresh**: the CSRF token and the forms' submission keys are placeholders
  in the kept HTML, filled anew each time it is served (a replayed submission key would
  answer a form with an earlier outcome, portfolio/transaction.py).
* **Never kept**: a page whose request wrote anything (an audit event, a draft; its COMMIT
  changes the generation anyway) or changed the session; a page for a session holding
  one-time content (flashed messages, a saved draft to forget: only sessions whose keys
  are all in `_STEADY_SESSION_KEYS`); a page when the table has no row yet.
* **Bounded**: at most PAGE_CACHE_SIZE pages per worker (least recently used go first),
  each for at most PAGE_CACHE_SECONDS; PAGE_CACHE_SIZE = 0 turns it off. A change made by
  hand in the database (psql), which no engine event sees, shows after that time.

The cost: any write anywhere changes the generation for every page of every worker. Where
the database is busy with writes, fewer pages are served from memory; each is then
rendered as it would be without this module (tests/test_pagecache.py).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app, g, request, session
from flask_login import current_user
from sqlalchemy import event

from portfolio.extensions import db
from portfolio.models import PageGeneration

# -- the write generation ------------------------------------------------------------------
#: Statements that write nothing (the first word). Anything else counts as a write.
_READS = frozenset(
    {"SELECT", "SET", "SHOW", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "EXPLAIN"}
)
_DDL = frozenset({"CREATE", "DROP", "ALTER"})
# Per database connection (its `info`): the transaction has written; it ran DDL; the table
# is known to exist.
_WROTE, _RAN_DDL, _HAS_TABLE = "pagecache.wrote", "pagecache.ddl", "pagecache.table"

_TABLE = PageGeneration.__tablename__
#: The generation is spread over this many rows; each writer replaces one, picked at
#: random, so that concurrent COMMITs rarely wait for each other's lock on the same row
#: (with one row, every writing transaction held it through its COMMIT's disk flush:
#: half the commits per second under eight concurrent writers).
ROWS = 16
_BUMP = {
    "postgresql": f"INSERT INTO {_TABLE} (id, value) "
    f"VALUES (floor(random() * {ROWS})::int, floor(random() * 2147483647)::bigint) "
    "ON CONFLICT (id) DO UPDATE SET value = excluded.value",
    "sqlite": f"INSERT INTO {_TABLE} (id, value) "
    f"VALUES (abs(random()) % {ROWS}, abs(random()) % 2147483647) "
    "ON CONFLICT (id) DO UPDATE SET value = excluded.value",
}
_EXISTS = {
    "postgresql": f"SELECT to_regclass('{_TABLE}') IS NOT NULL",
    "sqlite": f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{_TABLE}'",
}


def generation_column() -> sa.ColumnElement[int]:
    """The generation (the sum of the rows: it changes whenever one of them does) as a
    scalar subquery, for the statement that loads the user. NULL while there is no row."""
    return sa.select(sa.cast(sa.func.sum(PageGeneration.value), sa.BigInteger)).scalar_subquery()


def _first_word(statement: str) -> str:
    head = statement.lstrip(" \t\r\n(")[:12].split(None, 1)
    return head[0].upper() if head else ""


def _before_cursor_execute(conn, _cursor, statement, _parameters, _context, _many) -> None:
    word = _first_word(statement)
    if word in _READS:
        return
    info = conn.info
    info[_WROTE] = True
    if word in _DDL:
        info[_RAN_DDL] = True


def _on_commit(conn) -> None:
    """Just before the COMMIT of a transaction that wrote: a new generation, in it."""
    info = conn.info
    ran_ddl = info.pop(_RAN_DDL, False)
    if not info.pop(_WROTE, False):
        return
    dialect = conn.dialect
    if dialect.name not in _BUMP:
        return
    if ran_ddl:  # (a migration may have made or dropped the table)
        info.pop(_HAS_TABLE, None)
    dbapi_connection = conn.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    statement = _EXISTS[dialect.name]
    try:
        if not info.get(_HAS_TABLE):
            cursor.execute(statement)
            if not cursor.fetchone()[0]:
                return
            if not ran_ddl:
                info[_HAS_TABLE] = True
        statement = _BUMP[dialect.name]
        cursor.execute(statement)
    except dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy would for its own statements: a lost connection is invalidated and
        # said to be one (the retry of portfolio/resilience.py), nothing is committed.
        lost = dialect.is_disconnect(error, dbapi_connection, cursor)
        if lost:
            conn.invalidate(error)
        raise sa.exc.DBAPIError.instance(
            statement,
            None,
            error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        ) from error
    finally:
        with contextlib.suppress(Exception):  # (closed with an invalidated connection)
            cursor.close()


def _on_rollback(conn) -> None:
    conn.info.pop(_WROTE, None)
    conn.info.pop(_RAN_DDL, None)


def _on_reset(_dbapi_connection, record, _reset_state) -> None:
    # The pool rolls back a connection returned with its transaction open.
    record.info.pop(_WROTE, None)
    record.info.pop(_RAN_DDL, None)


def watch(engine: sa.Engine) -> None:
    """Give every writing transaction on `engine` a new generation (once per engine)."""
    if event.contains(engine, "commit", _on_commit):
        return
    event.listen(engine, "before_cursor_execute", _before_cursor_execute)
    event.listen(engine, "commit", _on_commit)
    event.listen(engine, "rollback", _on_rollback)
    event.listen(engine.pool, "reset", _on_reset)


# -- the pages -------------------------------------------------------------------------------
#: Session keys that say nothing to show once: the login, the CSRF secret, the language.
_STEADY_SESSION_KEYS = frozenset(
    {"_user_id", "_fresh", "_id", "_permanent", "csrf_token", "locale"}
)
#: Placeholders for what each response gets fresh (random per process: no user can write
#: them into a page).
_MARK = secrets.token_hex(8)
CSRF_MARK = f"pagecache-csrf-{_MARK}"
KEY_MARK = f"pagecache-key-{_MARK}"
_RENDERING = "_pagecache_rendering"


@dataclass(frozen=True)
class _Kept:
    html: str
    generation: int
    at: float


_PAGES: OrderedDict[tuple, _Kept] = OrderedDict()
_LOCK = threading.Lock()
#: The endpoints whose views have answered with `page` (only they can have kept pages).
_KEPT_ENDPOINTS: set[str] = set()
_STILL_TRUE: sa.Select | None = None  # the generation, if the login session lets its user in


def _key() -> tuple | None:
    """The page's key, or None when this request may not be answered with a kept page:
    the login session (Flask-Login keeps its token in the cookie), the address, what the
    language is chosen from beside the user's own setting (that is in the database), and
    the day."""
    from portfolio import progress

    if request.method != "GET" or request.content_length:
        return None
    if not current_app.config.get("PAGE_CACHE_SIZE"):
        return None
    if not _STEADY_SESSION_KEYS.issuperset(session.keys()):
        return None  # a message to show once, a draft to forget: rendered
    token = session.get("_user_id")
    if not token or not isinstance(token, str):
        return None
    return (
        token,
        request.host,
        request.full_path,
        session.get("locale"),
        request.headers.get("Accept-Language"),
        progress.current_date(),
    )


def serve_kept():
    """before_request, first of all: answer with a kept page that is still true, before
    the user is loaded. One statement: the generation, read only if the login session
    still lets its user in (not ended, not too old, an active account). Everything else
    the hooks and the view would check (the user's roles, a password to change, the
    pupil's access) is in the database, so it is as it was when the page was rendered
    while the generation is the same."""
    global _STILL_TRUE
    from portfolio.auth.services import live_session_statement, session_parameters

    if request.endpoint not in _KEPT_ENDPOINTS:
        return None  # (every other request: not even its session is looked at)
    key = _key()
    if key is None:
        return None
    with _LOCK:
        kept = _PAGES.get(key)
        if kept is not None:
            _PAGES.move_to_end(key)
    if kept is None:
        return None
    if time.monotonic() - kept.at >= current_app.config.get("PAGE_CACHE_SECONDS", 300):
        return None
    parameters = session_parameters(key[0])
    if parameters is None:
        return None
    if _STILL_TRUE is None:
        _STILL_TRUE = live_session_statement(generation_column())
    if db.session.execute(_STILL_TRUE, parameters).scalar() != kept.generation:
        return None
    return _fill(kept.html)


def page(render: Callable[[], str]) -> str:
    """The HTML `render()` makes, kept to be served again while it is true (module doc)."""
    from portfolio import transaction
    from portfolio.auth.services import preloaded

    _KEPT_ENDPOINTS.add(request.endpoint)
    key = _key()
    # The generation read with the user, before anything the page shows.
    generation = preloaded(current_user, "page_generation") if key else None
    if generation is None or current_user.session_token != key[0]:
        return render()
    g.setdefault(_RENDERING, True)
    try:
        html = render()
    finally:
        g.pop(_RENDERING, None)
    if _key() == key and not transaction.has_writes():  # nothing written or flashed meanwhile
        _keep(key, _Kept(html, generation, time.monotonic()))
    return _fill(html)


def _keep(key: tuple, kept: _Kept) -> None:
    limit = current_app.config.get("PAGE_CACHE_SIZE", 0)
    with _LOCK:
        _PAGES[key] = kept
        _PAGES.move_to_end(key)
        while len(_PAGES) > limit:
            _PAGES.popitem(last=False)


def _fill(html: str) -> str:
    from flask_wtf.csrf import generate_csrf

    from portfolio.transaction import new_key

    if CSRF_MARK in html:
        html = html.replace(CSRF_MARK, generate_csrf())
    if KEY_MARK in html:
        parts = html.split(KEY_MARK)
        html = "".join(part + new_key() for part in parts[:-1]) + parts[-1]
    return html


def clear() -> None:
    """Forget every kept page of this process (tests)."""
    with _LOCK:
        _PAGES.clear()


def register(app: Flask) -> None:
    """Watch the app's database for writes; answer from kept pages before any other hook;
    render placeholders for the per-response values while a page is rendered to be kept.
    After CSRFProtect and transaction.register, whose template globals it wraps."""
    with app.app_context():
        for engine in db.engines.values():
            watch(engine)
    app.before_request_funcs.setdefault(None, []).insert(0, serve_kept)
    globals_ = app.jinja_env.globals
    csrf_token, submission_key = globals_["csrf_token"], globals_["submission_key"]

    def csrf_token_or_mark():
        return CSRF_MARK if g.get(_RENDERING) else csrf_token()

    def submission_key_or_mark():
        return KEY_MARK if g.get(_RENDERING) else submission_key()

    globals_["csrf_token"] = csrf_token_or_mark
    globals_["submission_key"] = submission_key_or_mark
