"""Jobs a user starts and waits for: progress while a worker makes a file, then a download.

A feature declares a kind of job with `register(JobKind(...))`: the function that does
the work (it gets a `JobContext`), the title shown to the user, the access rule (from
portfolio.access: the same rule as for the thing the job produces) and its error
messages. A view calls `start(kind, user, params=...)` and redirects to the job's page.

How a job survives crashes (the row in the `job` table is the truth, the queue carries
only its id):
* A worker claims a queued job with a conditional UPDATE (a second message for the same
  job finds it claimed and does nothing), then keeps `heartbeat_at` fresh from a thread.
* The result file and the state "done" are committed with the job's own writes (audit
  records, new passwords) in one transaction, only by the worker that holds the claim.
* A worker killed mid-job leaves a "running" row whose heartbeat goes stale: every
  worker's watchdog queues such a job again (up to JOBS_MAX_ATTEMPTS runs), and sends
  queued jobs whose message was lost once more.
* Results are kept until `expires_at` (JOBS_RESULT_HOURS), then deleted with the rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NoReturn

import sqlalchemy as sa
from flask import abort, current_app, g, has_request_context, request
from flask_babel import force_locale

from portfolio import access, transaction
from portfolio.extensions import db
from portfolio.i18n import _l, current_language
from portfolio.jobs import queue
from portfolio.models import Job, JobState, User, utcnow

log = logging.getLogger(__name__)

#: Messages every job can end with (kinds add their own).
COMMON_ERRORS = {
    "internal": _l(
        "Something went wrong while the file was being made. Please try again. If it "
        "happens again, please tell the school's administrator."
    ),
    "interrupted": _l(
        "The work was interrupted several times and has been stopped. Please try again later."
    ),
    "gone": _l("What this file was to be made of no longer exists."),
}

#: Finished jobs' rows are deleted this long after their result expired.
ROW_GRACE = dt.timedelta(days=7)
#: A queued job not found in the queue for this long is sent again.
RESEND_AFTER = dt.timedelta(minutes=2)
#: Seconds until a worker that could not reach the database tries a job's claim again.
CLAIM_RETRY = 5.0


class JobFailed(Exception):
    """Ends a job with a message for the user: `code` is a key of the kind's messages."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class JobKind:
    name: str
    #: Does the work: reads ctx.params, reports ctx.progress(), writes ctx.result(...).
    run: Callable[[JobContext], None]
    #: What the user asked for, e.g. "All portfolios of class 9a (ZIP)".
    title: Callable[[Job], str]
    #: Whether the asker may still see this job (portfolio.access rules of the result).
    allowed: Callable[[User, Job], bool]
    #: The page the job was started from (for "back"), or None.
    origin: Callable[[Job], str | None] = lambda job: None
    #: error code -> translatable message with %(name)s placeholders from JobFailed.
    messages: dict[str, Any] = field(default_factory=dict)
    #: The result is deleted after its first download (login slips with passwords).
    one_time: bool = False
    #: Keep the result at most this long (shorter than JOBS_RESULT_HOURS), or None.
    keep: dt.timedelta | None = None


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


def kind_of(job: Job) -> JobKind | None:
    return KINDS.get(job.kind)


# -- starting and finding jobs ----------------------------------------------------------
def start(kind: str, user: User, *, params: dict[str, Any], pupil_id: int | None = None) -> Job:
    """Queue a job for `user` (flushes; the message goes out after the commit).

    The same user asking again for the same thing while it is still being made gets
    the job already under way, not a second one.
    """
    if kind not in KINDS:
        raise KeyError(kind)
    same = db.session.scalars(
        sa.select(Job).where(
            Job.user_id == user.id,
            Job.kind == kind,
            Job.state.in_([JobState.QUEUED, JobState.RUNNING]),
        )
    ).all()
    for job in same:
        if job.params == params and job.pupil_id == pupil_id:
            return job
    job = Job(
        school_id=user.school_id,
        user_id=user.id,
        pupil_id=pupil_id,
        kind=kind,
        params=params,
        locale=current_language() if has_request_context() else "de",
        base_url=_base_url(),
    )
    db.session.add(job)
    db.session.flush()
    run_job.enqueue(job.id)
    return job


def _base_url() -> str:
    if has_request_context():
        return request.url_root
    return current_app.config.get("PUBLIC_URL") or ""


def load(user: User, job_id: int) -> Job:
    """The job if it is the user's and they may still see what it makes; 404 otherwise."""
    job = db.session.get(Job, job_id)
    if job is None or not access.can_see_job(user, job):
        abort(404)
    kind = kind_of(job)
    if kind is None or not kind.allowed(user, job):
        abort(404)
    return job


def recent(user: User, limit: int = 20) -> list[Job]:
    """The user's jobs, newest first, that they may still see."""
    jobs = db.session.scalars(
        sa.select(Job)
        .where(Job.user_id == user.id, Job.school_id == user.school_id)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
    ).all()
    return [j for j in jobs if (k := kind_of(j)) is not None and k.allowed(user, j)]


def has_jobs(user: User) -> bool:
    """Whether the user has jobs whose rows still exist ("My downloads" in the menu):
    read with the logged-in user (auth.services), else one EXISTS; cached for the request."""
    from portfolio.auth.services import preloaded

    cache = g.setdefault("_has_jobs", {})
    if user.id not in cache:
        known = preloaded(user, "has_jobs")
        cache[user.id] = bool(
            known
            if known is not None
            else db.session.scalar(
                sa.select(
                    sa.select(Job.id)
                    .where(Job.user_id == user.id, Job.school_id == user.school_id)
                    .exists()
                )
            )
        )
    return cache[user.id]


def has_jobs_column() -> sa.ColumnElement[bool]:
    """`has_jobs` as a column on `User`, for the statement that loads the logged-in user."""
    return sa.select(Job.id).where(Job.user_id == User.id, Job.school_id == User.school_id).exists()


def latest(
    user: User, kind: str, *, pupil_id: int | None = None, params: dict | None = None
) -> Job | None:
    """The user's newest job of this kind that is still being made or can be downloaded."""
    query = sa.select(Job).where(
        Job.user_id == user.id,
        Job.kind == kind,
        Job.state.in_([JobState.QUEUED, JobState.RUNNING, JobState.DONE]),
    )
    if pupil_id is not None:
        query = query.where(Job.pupil_id == pupil_id)
    for job in db.session.scalars(query.order_by(Job.id.desc()).limit(5)):
        if params is not None and job.params != params:
            continue
        if job.is_active or can_download(job):
            return job
    return None


def error_message(job: Job) -> str:
    """The job's error in the current language."""
    kind = kind_of(job)
    messages = {**COMMON_ERRORS, **(kind.messages if kind else {})}
    template = messages.get(job.error_code or "", COMMON_ERRORS["internal"])
    try:
        return str(template) % (job.error_params or {})
    except (KeyError, TypeError, ValueError):
        return str(COMMON_ERRORS["internal"])


def can_download(job: Job, now: dt.datetime | None = None) -> bool:
    return (
        job.state == JobState.DONE
        and job.result_key is not None
        and not job.is_expired(now)
        and result_path(job.result_key).is_file()
    )


# -- result files --------------------------------------------------------------------------
def result_folder() -> Path:
    folder = Path(current_app.config["JOBS_RESULT_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def result_path(key: str) -> Path:
    if not key or not all(c.isalnum() or c in "-_." for c in key) or key.startswith("."):
        raise ValueError("invalid result key")
    return result_folder() / key


def take_one_time(job: Job) -> bytes | None:
    """Read a one-time result; it is deleted once its download is committed (flushes)."""
    path = result_path(job.result_key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    job.result_key = None
    job.downloaded_at = utcnow()
    db.session.flush()
    transaction.after_commit(lambda: path.unlink(missing_ok=True))
    return data


# -- running a job (in a worker) -------------------------------------------------------------
class JobContext:
    """What a kind's `run` gets: the job, its asker, progress and the result file."""

    def __init__(self, job: Job, heartbeat: Heartbeat) -> None:
        self.job = job
        self.params: dict[str, Any] = dict(job.params or {})
        self._heartbeat = heartbeat
        self.result_key: str | None = None
        self.result_name: str | None = None

    @property
    def user(self) -> User:
        return self.job.user

    def progress(self, done: int, total: int) -> None:
        """Report `done` of `total` steps (written by the heartbeat thread, never blocks)."""
        self._heartbeat.report(done, total)

    def fail(self, code: str, **params: Any) -> NoReturn:
        raise JobFailed(code, **params)

    @contextlib.contextmanager
    def result(self, download_name: str) -> Iterator[IO[bytes]]:
        """Write the result file; it counts only when the job commits as done."""
        suffix = Path(download_name).suffix.lower()
        suffix = suffix if suffix[1:].isalnum() else ""
        key = f"{self.job.id}-{secrets.token_urlsafe(18)}{suffix}"
        path = result_path(key)
        tmp = path.with_name(path.name + ".part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)
        self.discard()
        self.result_key, self.result_name = key, download_name

    def discard(self) -> None:
        if self.result_key:
            result_path(self.result_key).unlink(missing_ok=True)
            self.result_key = None


class Heartbeat(threading.Thread):
    """Keeps the claimed job's heartbeat fresh and writes its progress, on its own
    connection, so that the job's transaction never waits for it."""

    def __init__(self, engine: sa.Engine, job_id: int, worker: str, interval: float) -> None:
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.engine, self.job_id, self.worker, self.interval = engine, job_id, worker, interval
        self._stop_event = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._progress: tuple[int, int] | None = None
        #: The last progress reported, written with the job's final state whether or not
        #: a beat got to write it (the last beat may be skipped when the job ends).
        self.last_progress: tuple[int, int] | None = None

    def report(self, done: int, total: int) -> None:
        with self._lock:
            self._progress = self.last_progress = (max(0, done), max(0, total))
        self._wake.set()

    def stop(self) -> None:
        self._stop_event.set()
        self._wake.set()
        if self.is_alive():
            self.join(timeout=10)

    def run(self) -> None:
        while not self._stop_event.is_set():
            self._wake.wait(timeout=self.interval)
            if self._stop_event.is_set():
                return
            self._wake.clear()
            with self._lock:
                progress, self._progress = self._progress, None
            values: dict[str, Any] = {"heartbeat_at": utcnow()}
            if progress is not None:
                values.update(progress_done=progress[0], progress_total=progress[1])
            self._write(values)
            self._stop_event.wait(0.5)  # at most two writes a second

    def _write(self, values: dict[str, Any]) -> None:
        table = Job.__table__
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    table.update()
                    .where(
                        table.c.id == self.job_id,
                        table.c.worker == self.worker,
                        table.c.state == JobState.RUNNING.value,
                    )
                    .values(**values)
                )
        except sa.exc.DBAPIError:  # busy database: the next beat tries again
            log.warning("job %s: heartbeat not written", self.job_id, exc_info=True)


#: Jobs this process is running now (job id -> worker token): its own watchdog never takes
#: them away, however slow their heartbeat is on a busy machine.
_HELD: dict[int, str] = {}
_HELD_LOCK = threading.Lock()


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}/{secrets.token_hex(4)}"


def _claim(job_id: int, worker: str) -> bool:
    now = utcnow()
    with transaction.atomic():  # committed at once: other workers see the job is taken
        result = db.session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED)
            .values(
                state=JobState.RUNNING,
                worker=worker,
                attempts=Job.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                error_code=None,
            )
            .execution_options(synchronize_session=False)
        )
    return result.rowcount == 1


def _settle(job_id: int, worker: str, **values: Any) -> bool:
    """Set the state of a job this worker holds (in the current transaction)."""
    result = db.session.execute(
        sa.update(Job)
        .where(Job.id == job_id, Job.worker == worker, Job.state == JobState.RUNNING)
        .values(finished_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _keep(kind: JobKind | None) -> dt.timedelta:
    keep = dt.timedelta(hours=float(current_app.config["JOBS_RESULT_HOURS"]))
    if kind is not None and kind.keep is not None:
        keep = min(keep, kind.keep)
    return keep


def execute(job_id: int) -> None:
    """Run a queued job: claim it, do the work, commit the result or the error."""
    worker = worker_id()
    try:
        claimed = _claim(job_id, worker)
    except sa.exc.DBAPIError as error:
        from portfolio.resilience import is_disconnect

        if not is_disconnect(error):
            raise
        # The database is restarting: keep the message instead of losing it (the job
        # would otherwise wait for the watchdog's RESEND_AFTER).
        log.warning("job %s: database unreachable; tried again in %s s", job_id, CLAIM_RETRY)
        queue.send_later(current_app._get_current_object(), "jobs.run", job_id, delay=CLAIM_RETRY)
        return
    if not claimed:
        return  # done, running elsewhere or deleted: a duplicate message
    job = db.session.get(Job, job_id)
    kind = kind_of(job)
    if kind is None:
        _fail(job_id, worker, "internal", {}, None)
        return
    beat = Heartbeat(db.engine, job_id, worker, float(current_app.config["JOBS_HEARTBEAT_SECONDS"]))
    ctx = JobContext(job, beat)
    beat.start()
    with _HELD_LOCK:
        _HELD[job_id] = worker
    try:
        _run_held(job_id, worker, kind, ctx, beat)
    finally:
        with _HELD_LOCK:
            _HELD.pop(job_id, None)


def _run_held(job_id: int, worker: str, kind: JobKind, ctx: JobContext, beat: Heartbeat) -> None:
    try:
        with _job_request(ctx.job):
            kind.run(ctx)
        if ctx.result_key is None:
            raise RuntimeError(f"job kind {kind.name} wrote no result")
    except JobFailed as failure:
        beat.stop()
        _abandon(ctx)
        _fail(job_id, worker, failure.code, failure.params, kind)
        return
    except Exception as error:
        beat.stop()
        _abandon(ctx)
        from portfolio.resilience import is_disconnect

        if is_disconnect(error):  # the database went away: try again later
            log.warning("job %s: database connection lost; queued again", job_id)
            _requeue_own(job_id, worker)
            return
        log.exception("job %s (%s) failed", job_id, kind.name)
        _fail(job_id, worker, "internal", {}, kind)
        return
    beat.stop()
    _finish(job_id, worker, ctx, kind, beat.last_progress)


def _abandon(ctx: JobContext) -> None:
    with contextlib.suppress(Exception):
        db.session.rollback()
    ctx.discard()


class _ClaimLost(Exception):
    """The watchdog gave the job to another worker meanwhile."""


def _finish(
    job_id: int, worker: str, ctx: JobContext, kind: JobKind, progress: tuple[int, int] | None
) -> None:
    now = utcnow()
    size = result_path(ctx.result_key).stat().st_size
    final = {}
    if progress is not None:
        final = {"progress_done": progress[0], "progress_total": progress[1]}
    try:
        # The job's own writes (made by kind.run in this transaction) and "done": one commit.
        with transaction.atomic():
            held = _settle(
                job_id,
                worker,
                state=JobState.DONE,
                result_key=ctx.result_key,
                result_name=ctx.result_name,
                result_size=size,
                expires_at=now + _keep(kind),
                **final,
            )
            if not held:
                raise _ClaimLost()
    except _ClaimLost:
        log.warning("job %s: lost its claim; result dropped", job_id)
        _abandon(ctx)
    except Exception:
        _abandon(ctx)
        raise


def _fail(job_id: int, worker: str, code: str, params: dict, kind: JobKind | None) -> None:
    with transaction.atomic():
        _settle(
            job_id,
            worker,
            state=JobState.FAILED,
            error_code=code,
            error_params=params,
            expires_at=utcnow() + _keep(kind),
        )


def _requeue_own(job_id: int, worker: str) -> None:
    """Give the job back to the queue after the database went away mid-job. If the
    database answers again already (a restart), the message goes out at once, so the
    user does not wait for the watchdog; if not, the job stays "running" and the
    watchdog queues it again when its heartbeat is stale (requeue_stale)."""
    with contextlib.suppress(Exception), transaction.atomic():
        result = db.session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.worker == worker, Job.state == JobState.RUNNING)
            .values(state=JobState.QUEUED, worker=None, heartbeat_at=None, enqueued_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            run_job.enqueue(job_id)  # sent after the commit; a duplicate finds it claimed


@contextlib.contextmanager
def _job_request(job: Job) -> Iterator[None]:
    """A request context at the asker's address, in the asker's language."""
    base = job.base_url or current_app.config.get("PUBLIC_URL") or "http://localhost/"
    with current_app.test_request_context(base_url=base), force_locale(job.locale or "de"):
        yield


run_job = queue.background("jobs.run", own_transactions=True)(execute)


# -- the watchdog: stale jobs, lost messages, expired results ------------------------------
def requeue_stale(now: dt.datetime | None = None) -> int:
    """Queue again the running jobs whose worker stopped beating; fail those that ran
    JOBS_MAX_ATTEMPTS times. Commits. Returns how many were queued again."""
    with transaction.atomic():
        return _requeue_stale(now)


def _requeue_stale(now: dt.datetime | None) -> int:
    now = now or utcnow()
    config = current_app.config
    cutoff = now - dt.timedelta(seconds=3 * float(config["JOBS_HEARTBEAT_SECONDS"]))
    stale = db.session.execute(
        sa.select(Job.id, Job.attempts, Job.worker).where(
            Job.state == JobState.RUNNING, Job.heartbeat_at < cutoff
        )
    ).all()
    requeued = 0
    with _HELD_LOCK:
        held = set(_HELD.values())
    for job_id, attempts, worker in stale:
        if worker in held:
            continue  # running in this very process: alive, only slow to beat
        if attempts >= int(config["JOBS_MAX_ATTEMPTS"]):
            _settle(
                job_id,
                worker,
                state=JobState.FAILED,
                error_code="interrupted",
                error_params={},
                expires_at=now + _keep(None),
            )
            continue
        result = db.session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.worker == worker, Job.state == JobState.RUNNING)
            .values(state=JobState.QUEUED, worker=None, heartbeat_at=None, enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            log.warning("job %s: worker %s stopped; queued again", job_id, worker)
            run_job.enqueue(job_id)
            requeued += 1
    return requeued


def resend_lost(now: dt.datetime | None = None) -> int:
    """Send queued jobs again whose message is not in the queue (lost). Commits."""
    with transaction.atomic():
        return _resend_lost(now)


def _resend_lost(now: dt.datetime | None) -> int:
    now = now or utcnow()
    waiting = db.session.scalars(
        sa.select(Job.id).where(Job.state == JobState.QUEUED, Job.enqueued_at < now - RESEND_AFTER)
    ).all()
    if not waiting:
        return 0
    app = current_app._get_current_object()
    in_queue = {args[0] for args in queue.pending_args(app, "jobs.run") if args}
    lost = [job_id for job_id in waiting if job_id not in in_queue]
    for job_id in lost:
        db.session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED)
            .values(enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
        run_job.enqueue(job_id)
    return len(lost)


def expired_results(now: dt.datetime | None = None) -> int:
    """How many results purge_expired would delete now."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(Job.id)).where(
                Job.expires_at <= (now or utcnow()), Job.result_key.is_not(None)
            )
        )
        or 0
    )


@dataclass
class PurgeCount:
    results: int = 0
    rows: int = 0
    stray_files: int = 0


def purge_expired(now: dt.datetime | None = None) -> PurgeCount:
    """Delete expired results, old job rows and files no job holds. Commits."""
    now = now or utcnow()
    count = PurgeCount()
    with transaction.atomic():
        expired = db.session.scalars(
            sa.select(Job).where(Job.expires_at <= now, Job.result_key.is_not(None))
        ).all()
        for job in expired:
            path = result_path(job.result_key)
            transaction.after_commit(lambda path=path: path.unlink(missing_ok=True))
            job.result_key = None
            count.results += 1
        db.session.flush()
        count.rows = (
            db.session.execute(
                sa.delete(Job)
                .where(Job.expires_at <= now - ROW_GRACE)
                .execution_options(synchronize_session=False)
            ).rowcount
            or 0
        )
    count.stray_files = _sweep(now)
    return count


def _sweep(now: dt.datetime) -> int:
    """Remove result files of deleted jobs and leftovers of crashed runs (> 1 hour old)."""
    folder = result_folder()
    held = set(db.session.scalars(sa.select(Job.result_key).where(Job.result_key.is_not(None))))
    limit = now.timestamp() - 3600
    removed = 0
    for path in folder.iterdir():
        try:
            if path.name in held or path.stat().st_mtime > limit:
                continue
            path.unlink(missing_ok=True)
            removed += 1
        except OSError:
            continue
    return removed


class Watchdog(threading.Thread):
    """Runs in each worker process: stale jobs every heartbeat, the rest every minute."""

    def __init__(self, app, interval: float) -> None:
        super().__init__(name="jobs-watchdog", daemon=True)
        self.app, self.interval = app, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        last_purge = 0.0
        while True:
            with self.app.app_context():
                try:
                    requeue_stale()
                    clock = utcnow().timestamp()
                    if clock - last_purge >= 60:
                        resend_lost()
                        purge_expired()
                        last_purge = clock
                except Exception:  # the database may be restarting: try again later
                    db.session.rollback()
                    log.exception("jobs watchdog")
                finally:
                    db.session.remove()
            if self.stopped.wait(self.interval):
                return
