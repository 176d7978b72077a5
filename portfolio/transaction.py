"""Who commits: the request, once. Outside a request: `atomic()`. Nobody else.

The contract (CONTRIBUTING.md, "Transactions"):

* Services change objects and `db.session.flush()`; they never commit.
* A request commits once, after its view returned and before the response is sent. When
  the view (or a `before_request` hook) raises, everything it wrote is rolled back and
  its flashed messages and session changes are forgotten. When the COMMIT itself fails
  (StaleDataError, IntegrityError, a lost connection), the same happens and the error goes
  to the app's error handlers (conflict page, 503): nobody is told "saved" for a write
  that was not kept. A request that wrote nothing sends no COMMIT.
* CLI commands, seeds and workers: ``with transaction.atomic(): ...``.
* ``after_commit(fn)``: effects outside the database (e-mail, enqueueing a job, deleting a
  stored file) happen only once the writes are committed, never for a rolled-back one.
  ``on_rollback(fn)`` undoes an outside effect made early (an uploaded file already
  stored) when the writes are not kept.
* Every POST form carries a submission key (the ``csrf()`` macro in
  templates/macros/forms.html renders a fresh one). The request claims the key before the
  view runs and stores it with its writes, in the same transaction. So a submission
  commits at most once: a replay of the same form (a resent POST, a double click, the
  retry after a lost connection) finds its key and is answered with the first run's
  outcome (the same redirect and messages) without running again; a key that is not
  stored proves that the first run did not commit, so running it again is safe.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import itertools
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import (
    Flask,
    Response,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
)
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portfolio.extensions import db
from portfolio.models import Submission, utcnow

log = logging.getLogger(__name__)

#: The form field that holds the submission key.
KEY_FIELD = "submission_key"
_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: A key answers replays this long; `flask purge-expired` deletes older ones.
KEY_LIFETIME = dt.timedelta(days=1)
#: WSGI environ entries for the retry layer (portfolio/resilience.py), which runs outside
#: the request: whether the COMMIT was sent ("started", then "done") and whether a
#: submission key was claimed.
COMMIT_STATE = "portfolio.commit"
CLAIMED_KEY = "portfolio.submission_key"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Per-session bookkeeping in Session.info (one session per request or per atomic block).
_WROTE = "transaction.wrote"
#: The names of the tables written ("*": a statement whose table is not known).
_TABLES = "transaction.tables"
_COMMITTED = "transaction.committed"
_AFTER_COMMIT = "transaction.after_commit"
_ON_ROLLBACK = "transaction.on_rollback"
_ATOMIC = "transaction.atomic"


# -- effects outside the database -----------------------------------------------------------
def after_commit(fn: Callable[[], object]) -> None:
    """Run `fn()` once the current transaction has committed; never if it rolls back.

    For effects outside the database that must not happen for a write that is not kept
    (sending an e-mail, waking a job worker, deleting a stored file). `fn` runs right after
    the COMMIT: it may read the database, but nothing it writes is committed. So rows
    belong in the transaction itself (a job queue table: add the job row with the write,
    then it commits with it or not at all; `after_commit` only wakes the worker). If `fn`
    raises, the error is logged and the request still succeeds (its writes are kept). A
    request that wrote nothing runs `fn` when it ends.
    """
    db.session.info.setdefault(_AFTER_COMMIT, []).append(fn)


def on_rollback(fn: Callable[[], object]) -> None:
    """Run `fn()` if the current transaction is rolled back instead of committed.

    Undoes an outside effect made before the commit, e.g. deletes an uploaded file that was
    stored before its row. Errors in `fn` are logged.
    """
    db.session.info.setdefault(_ON_ROLLBACK, []).append(fn)


def _run(callbacks: list[Callable[[], object]]) -> None:
    for fn in callbacks:
        try:
            fn()
        except Exception:  # noqa: BLE001  (the transaction's outcome stands)
            log.exception("transaction callback %r failed", fn)


def has_writes(sess: Session | None = None, tables: Iterable[str] | None = None) -> bool:
    """Whether the session holds writes that a COMMIT would keep; with `tables`, writes
    to one of those tables (or a statement whose table is not known): what a figure read
    at the start of the request depends on (an audit event does not change the news)."""
    sess = sess or db.session()
    if tables is None:
        return bool(sess.info.get(_WROTE) or sess.new or sess.dirty or sess.deleted)
    wanted = set(tables)
    written = sess.info.get(_TABLES, set())
    if "*" in written or written & wanted:
        return True
    return bool(wanted & _pending_tables(sess))


def _pending_tables(sess: Session) -> set[str]:
    """The tables of the objects the session adds, changes or deletes."""
    return {
        table.name
        for obj in itertools.chain(sess.new, sess.dirty, sess.deleted)
        for table in sa.inspect(obj).mapper.tables
    }


def _wrote(sess: Session, tables: Iterable[str]) -> None:
    sess.info[_WROTE] = True
    sess.info.setdefault(_TABLES, set()).update(tables)


def _forget_writes(sess: Session) -> None:
    sess.info.pop(_WROTE, None)
    sess.info.pop(_TABLES, None)


@event.listens_for(Session, "after_flush")
def _after_flush(sess: Session, _context) -> None:
    # (After a flush, new, dirty and deleted still hold what it wrote.)
    _wrote(sess, _pending_tables(sess))


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state):
    """Statements count as writes: INSERT, text we cannot read, and UPDATE or DELETE that
    matched a row (marking news read when there is none is no reason to COMMIT)."""
    if state.is_select:
        return None
    name = getattr(getattr(state.statement, "table", None), "name", None)
    tables = {name} if isinstance(name, str) else {"*"}
    if state.is_update or state.is_delete:
        result = state.invoke_statement()
        if getattr(result, "rowcount", 1) != 0:
            _wrote(state.session, tables)
        return result
    _wrote(state.session, tables)
    return None


@event.listens_for(Session, "after_commit")
def _after_commit(sess: Session) -> None:
    if not sess.in_nested_transaction():
        sess.info[_COMMITTED] = True


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(sess: Session, transaction) -> None:
    if transaction.parent is not None:  # a savepoint: the outer transaction decides
        return
    committed = sess.info.pop(_COMMITTED, False)
    _forget_writes(sess)
    done, undo = sess.info.pop(_AFTER_COMMIT, []), sess.info.pop(_ON_ROLLBACK, [])
    _run(done if committed else undo)


# -- outside a request --------------------------------------------------------------------
@contextlib.contextmanager
def atomic() -> Iterator[None]:
    """Commit what the block wrote, or roll all of it back when the block raises.

    For CLI commands, seeds and workers (code outside a request). Inside a request the
    request commits: using this there is an error. Not nestable.
    """
    sess = db.session()
    if has_request_context() and _STATE in request.environ:
        raise RuntimeError("inside a request, the request commits (portfolio/transaction.py)")
    if sess.info.get(_ATOMIC):
        raise RuntimeError("transaction.atomic() blocks do not nest")
    sess.info[_ATOMIC] = True
    try:
        yield
        sess.commit()
    except BaseException:
        sess.rollback()
        raise
    finally:
        sess.info.pop(_ATOMIC, None)


# -- the request ----------------------------------------------------------------------------
@dataclass
class _RequestState:
    #: The session as the request found it, restored when the request fails.
    session_before: dict[str, Any] | None = None
    #: The submission key this request claimed (stored with its writes).
    claim: Submission | None = None
    #: A replay answered from a stored outcome: nothing of this request is committed.
    replayed: bool = False


_STATE = "portfolio.transaction"


def _state() -> _RequestState:
    # Kept with the request (its WSGI environ), not in `g`: a retried request is a new one.
    return request.environ.setdefault(_STATE, _RequestState())


def _session_items() -> dict[str, Any]:
    # dict.copy reads the cookie session without marking it accessed (no Vary: Cookie).
    return dict.copy(session._get_current_object())  # type: ignore[attr-defined]


def _session_copy() -> dict[str, Any]:
    return copy.deepcopy(_session_items())


def new_key() -> str:
    """A fresh submission key for a form (templates: `submission_key()`)."""
    return secrets.token_urlsafe(24)


def _begin_request() -> Response | None:
    state = _state()
    state.session_before = _session_copy()
    if request.method == "POST":
        return _claim(state)
    return None


def _claim(state: _RequestState) -> Response | None:
    """Claim the form's submission key; answer a replay of a committed submission."""
    key = request.form.get(KEY_FIELD, "")
    if not _KEY_PATTERN.fullmatch(key):
        return None
    user_id = current_user.id if current_user.is_authenticated else None
    claim = Submission(key=key, user_id=user_id)
    sess = db.session()
    sess.add(claim)
    try:
        # PostgreSQL: a concurrent request with the same key waits here until the first
        # one commits (then IntegrityError) or rolls back (then this one goes ahead).
        sess.flush()
    except IntegrityError:
        sess.rollback()
        return _replay(state, key, user_id)
    _forget_writes(sess)  # the claim alone is not a write
    state.claim = claim
    request.environ[CLAIMED_KEY] = key
    return None


def _replay(state: _RequestState, key: str, user_id: int | None) -> Response:
    """Answer a submission that committed before with what it answered then."""
    state.replayed = True
    log.info("submission %s... sent again: answered with its first outcome", key[:6])
    stored = db.session.get(Submission, key)
    outcome = (stored.outcome if stored is not None and stored.user_id == user_id else None) or {}
    for category, message in outcome.get("flashes", []):
        flash(message, category)
    session.update(outcome.get("session", {}))
    location, status = outcome.get("location"), outcome.get("status", 200)
    if location and 300 <= status < 400:
        return redirect(location, code=status)
    return Response(render_template("errors/already_sent.html"), 409 if not outcome else 200)


def _outcome(response: Response, before: dict[str, Any]) -> dict[str, Any]:
    """What a replay of this submission is answered with (stored with its key)."""
    now = _session_items()
    flashes = list(now.get("_flashes", []))
    earlier = list(before.get("_flashes", []))
    if flashes[: len(earlier)] == earlier:
        flashes = flashes[len(earlier) :]
    changed = {
        k: v
        for k, v in now.items()
        if not k.startswith("_") and k != "csrf_token" and before.get(k) != v and _is_json(v)
    }
    outcome: dict[str, Any] = {"status": response.status_code, "flashes": flashes}
    if changed:
        outcome["session"] = changed
    if 300 <= response.status_code < 400 and response.location:
        outcome["location"] = response.location
    return outcome


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _finish_request(response: Response) -> Response:
    """after_request: commit what the request wrote (the one COMMIT of the request)."""
    state = _state()
    sess = db.session()
    if state.replayed:
        return response
    if not has_writes(sess):
        # Nothing to keep: no COMMIT. The claim (if any) is dropped at teardown.
        _run(sess.info.pop(_AFTER_COMMIT, []))
        sess.info.pop(_ON_ROLLBACK, None)
        return response
    try:
        if state.claim is not None:
            state.claim.outcome = _outcome(response, state.session_before or {})
            sess.add(state.claim)  # again, if a rollback in the view dropped it
        request.environ[COMMIT_STATE] = "started"
        sess.commit()
        request.environ[COMMIT_STATE] = "done"
    except Exception as error:  # noqa: BLE001  (handed to the app's error handlers)
        log.warning("commit failed: %s", type(error).__name__)
        return current_app.make_response(current_app.handle_user_exception(error))
    return response


def abandon() -> None:
    """The request failed: roll back what it wrote and forget its session changes."""
    sess = db.session()
    with contextlib.suppress(Exception):  # a lost connection has rolled back already
        sess.rollback()
    _forget_writes(sess)
    for name in (_AFTER_COMMIT, _COMMITTED):
        sess.info.pop(name, None)
    _run(sess.info.pop(_ON_ROLLBACK, []))
    state = _state()
    state.claim = None  # a failed submission is not stored: sending it again runs it again
    if state.session_before is not None and _session_items() != state.session_before:
        session.clear()
        session.update(copy.deepcopy(state.session_before))


#: A concurrent write got there first: unique or foreign key violations (PostgreSQL SQLSTATE,
#: SQLite extended error names). Other integrity errors are bugs, not conflicts.
_CONFLICT_STATES = frozenset({"23505", "23503"})
_CONFLICT_SQLITE = frozenset(
    {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_FOREIGNKEY"}
)


def is_conflict(error: IntegrityError) -> bool:
    """Whether an IntegrityError means "someone else saved the same thing at once"."""
    orig = error.orig
    return (
        getattr(orig, "sqlstate", None) in _CONFLICT_STATES
        or getattr(orig, "sqlite_errorname", None) in _CONFLICT_SQLITE
    )


def retry_is_safe(environ: dict[str, Any], method: str) -> bool:
    """Whether running a request again cannot write twice.

    True for GET/HEAD; for a request whose COMMIT was never sent (the database rolled its
    work back); and for one that claimed a submission key (the run again finds the key if
    the first run committed, and answers with its outcome).
    """
    return (
        method in SAFE_METHODS
        or environ.get(COMMIT_STATE) is None
        or environ.get(CLAIMED_KEY) is not None
    )


def purge_expired_keys(now: dt.datetime | None = None, *, dry_run: bool = False) -> int:
    """Delete submission keys older than KEY_LIFETIME (flushes); returns how many."""
    cutoff = (now or utcnow()) - KEY_LIFETIME
    old = Submission.created_at < cutoff
    if dry_run:
        return db.session.scalar(sa.select(sa.func.count()).where(old)) or 0
    return db.session.execute(sa.delete(Submission).where(old)).rowcount


def register(app: Flask) -> None:
    """Install the request's transaction. Call last in create_app: its after_request hook
    must run before the others (Flask runs them in reverse order), so that an error page
    that replaces the response still gets the security headers."""
    app.before_request(_begin_request)
    app.after_request(_finish_request)
    app.jinja_env.globals["submission_key"] = new_key

    handle_user_exception = app.handle_user_exception

    def handle_failed_request(error: Exception):
        # Flask calls this for every exception of a view or before_request hook, and the
        # commit hook above calls it for a failed COMMIT: roll back first, then let the
        # app's error handler answer (its own writes, if any, are committed afterwards).
        abandon()
        return handle_user_exception(error)

    app.handle_user_exception = handle_failed_request  # type: ignore[method-assign]
