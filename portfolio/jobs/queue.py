"""The task queue: Huey with SQLite in the instance folder, or Redis in production.

Code that wants work done outside the web request declares a task here and enqueues
it; a worker process (`flask jobs worker`) runs it. Two kinds of tasks:

* `background(name)`: a function run once per `enqueue(...)`, e.g. sending one e-mail.
* `periodic(name, crontab(...))`: a function the workers run on a schedule.

Both run inside an app context with a transaction of their own (`transaction.atomic()`):
committed when the function returns, rolled back when it raises. A task declared with
``own_transactions=True`` opens its atomic() blocks itself (a job commits its claim first,
so that other workers see it, and its result later). `enqueue` sends the message only
after the current transaction commits (`transaction.after_commit`), so a request that
rolls back never starts a task.
Arguments travel through the queue pickled: pass ids, never objects or secrets.

User-visible jobs with progress and a result file (class ZIPs, take-away packages,
login slips) are built on this in `portfolio.jobs.services`. See CONTRIBUTING.md.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import huey
from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey

from portfolio import clock, transaction
from portfolio.extensions import db

__all__ = ["background", "crontab", "enqueue_after_commit", "get_huey", "init_app", "periodic"]

log = logging.getLogger(__name__)

#: Huey queue name (a Redis key prefix; one SQLite file holds one queue).
QUEUE_NAME = "berufswahlpass"


@dataclass
class TaskSpec:
    name: str
    func: Callable[..., Any]
    schedule: Any = None  # a huey crontab() for periodic tasks
    retries: int = 0
    retry_delay: int = 0
    #: The function opens its own transaction.atomic() blocks (not one around all of it).
    own_transactions: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def enqueue(self, *args: Any, **kwargs: Any) -> None:
        """Run the task in a worker, after the current transaction commits."""
        if self.schedule is not None:
            raise TypeError(f"{self.name} is periodic; the workers run it on schedule")
        app = current_app._get_current_object()
        enqueue_after_commit(lambda: send(app, self.name, *args, **kwargs))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly, in the current transaction (tests, the CLI)."""
        return self.func(*args, **kwargs)


#: Every task declared in the code, by name (registered on each app's Huey).
_SPECS: dict[str, TaskSpec] = {}


def background(
    name: str, *, retries: int = 0, retry_delay: int = 0, own_transactions: bool = False
):
    """Declare a task that runs in a worker each time it is enqueued.

    ``retries``: how often the worker runs it again after an exception, ``retry_delay``
    seconds apart. Use ``@background("feature.what")`` and ``what.enqueue(id)``.
    """

    def decorate(func: Callable[..., Any]) -> TaskSpec:
        return _declare(
            TaskSpec(
                name,
                func,
                retries=retries,
                retry_delay=retry_delay,
                own_transactions=own_transactions,
            )
        )

    return decorate


def crontab(**fields: str) -> Callable[[dt.datetime], bool]:
    """huey's `crontab` read in the school's time (`clock`): ``hour="4"`` is 04:00 in
    Germany. The queue keeps its times in UTC (`utc=True`), so a plain crontab would run
    an hour or two late, in summer and in winter differently."""
    matches = huey.crontab(**fields)

    def validate(timestamp: dt.datetime) -> bool:  # the consumer's time: naive UTC
        school = timestamp.replace(tzinfo=dt.UTC).astimezone(clock.SCHOOL_TZ)
        return matches(school.replace(tzinfo=None))

    return validate


def periodic(
    name: str,
    schedule: Any,
    *,
    retries: int = 0,
    retry_delay: int = 0,
    own_transactions: bool = False,
):
    """Declare a task the workers run on a schedule, e.g. ``crontab(hour="6", minute="30")``.

    Every worker process checks the schedule once a minute; with several worker
    machines each would run it, so make periodic work idempotent (or take a lock).
    """

    def decorate(func: Callable[..., Any]) -> TaskSpec:
        return _declare(
            TaskSpec(
                name,
                func,
                schedule=schedule,
                retries=retries,
                retry_delay=retry_delay,
                own_transactions=own_transactions,
            )
        )

    return decorate


def _declare(spec: TaskSpec) -> TaskSpec:
    known = _SPECS.get(spec.name)
    if known is not None and known.func is not spec.func:
        raise ValueError(f"a task named {spec.name!r} exists already")
    _SPECS[spec.name] = spec
    return spec


# -- after commit ---------------------------------------------------------------------------
def enqueue_after_commit(fn: Callable[[], None]) -> None:
    """Call `fn` once the current database transaction has committed (never on rollback).

    If sending fails, the commit stands and the watchdog sends the job again later.
    """
    transaction.after_commit(fn)


# -- the Huey instance of an app ----------------------------------------------------------
def make_huey(url: str) -> Huey:
    """A Huey for JOBS_URL: sqlite:///path, redis://host:port/db or memory:// (tests)."""
    scheme = urlsplit(url).scheme
    options = {"results": False, "utc": True}
    if scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError("JOBS_URL: use sqlite:////absolute/path/to/queue.db")
        return SqliteHuey(QUEUE_NAME, filename=path, **options)
    if scheme in ("redis", "rediss", "unix"):
        return RedisHuey(QUEUE_NAME, url=url, **options)
    if scheme == "memory":
        return MemoryHuey(QUEUE_NAME, **options)
    raise ValueError(f"JOBS_URL: unknown queue {scheme!r} (sqlite, redis or memory)")


class Queue:
    """One app's Huey and the app-bound wrappers of the declared tasks."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.huey = make_huey(app.config["JOBS_URL"])
        self._wrappers: dict[str, Any] = {}
        self.register_all()

    def register_all(self) -> None:
        for spec in list(_SPECS.values()):
            self.wrapper(spec.name)

    def wrapper(self, name: str):
        """The Huey task for a declared task (registered on first use)."""
        found = self._wrappers.get(name)
        if found is not None:
            return found
        spec = _SPECS[name]
        run = _bound(self.app, spec)
        if spec.schedule is not None:
            decorate = self.huey.periodic_task(
                spec.schedule, name=name, retries=spec.retries, retry_delay=spec.retry_delay
            )
        else:
            decorate = self.huey.task(name=name, retries=spec.retries, retry_delay=spec.retry_delay)
        wrapper = decorate(run)
        self._wrappers[name] = wrapper
        return wrapper


def _bound(app: Flask, spec: TaskSpec) -> Callable[..., Any]:
    """The task function inside an app context with its own transaction."""

    def run(*args: Any, **kwargs: Any) -> None:
        with app.app_context():
            try:
                if spec.own_transactions:
                    spec.func(*args, **kwargs)
                else:
                    with transaction.atomic():
                        spec.func(*args, **kwargs)
            finally:
                db.session.rollback()  # nothing is left open (own_transactions)
                db.session.remove()

    run.__module__ = "portfolio.tasks"  # stable names in the queue, whatever the module
    run.__name__ = spec.name
    return run


def init_app(app: Flask) -> None:
    app.extensions["jobs_queue"] = Queue(app)


def get_queue(app: Flask | None = None) -> Queue:
    app = app or current_app._get_current_object()
    queue: Queue = app.extensions["jobs_queue"]
    queue.register_all()  # tasks of modules imported after create_app
    return queue


def get_huey(app: Flask | None = None) -> Huey:
    return get_queue(app).huey


def send(app: Flask, name: str, *args: Any, **kwargs: Any) -> None:
    """Put a message on the queue now (use TaskSpec.enqueue: it waits for the commit)."""
    get_queue(app).wrapper(name)(*args, **kwargs)


def send_later(app: Flask, name: str, *args: Any, delay: float) -> None:
    """Put a message on the queue that a worker takes after `delay` seconds (no
    transaction involved: for a worker that cannot reach the database)."""
    get_queue(app).wrapper(name).schedule(args=args, delay=delay)


def pending_args(app: Flask, name: str) -> list[tuple]:
    """The arguments of the messages of task `name` waiting in the queue."""
    huey = get_huey(app)
    return [task.args for task in huey.pending() if type(task).__name__ == name]
