"""`flask jobs worker` runs the queue; `flask jobs list` shows what it is doing."""

from __future__ import annotations

import logging

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from portfolio.extensions import db
from portfolio.jobs import queue, services
from portfolio.models import Job

jobs_cli = AppGroup("jobs", help="Background jobs: start a worker, list jobs.")


@jobs_cli.command("worker")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="Jobs run at the same time in this process (default: JOBS_WORKER_THREADS, 1).",
)
@click.option("--verbose", is_flag=True, help="Log every task.")
def worker_command(threads: int | None, verbose: bool) -> None:
    """Run jobs from the queue until stopped (SIGINT: finish the running jobs first;
    SIGTERM: stop at once, interrupted jobs are run again by the next worker)."""
    app = current_app._get_current_object()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in ("huey", "portfolio"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    huey = queue.get_huey(app)
    db.session.remove()
    db.engine.dispose()  # no connection opened before starting is shared with the threads
    watchdog = services.Watchdog(app, float(app.config["JOBS_HEARTBEAT_SECONDS"]))
    consumer = huey.create_consumer(
        workers=threads or int(app.config["JOBS_WORKER_THREADS"]),
        worker_type="thread",
        periodic=True,
        check_worker_health=True,
        # SQLite is polled: at most a second between looks when idle (Redis blocks).
        initial_delay=0.1,
        backoff=1.15,
        max_delay=1.0,
    )
    click.echo(f"Jobs worker started ({_describe(app.config['JOBS_URL'])}).", err=True)
    watchdog.start()
    try:
        consumer.run()
    finally:
        watchdog.stopped.set()


def _describe(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True) if "://" in url else url


@jobs_cli.command("list")
@click.option("--limit", default=20, show_default=True)
def list_command(limit: int) -> None:
    """The newest jobs with their state (no names, no contents)."""
    rows = db.session.scalars(sa.select(Job).order_by(Job.id.desc()).limit(limit)).all()
    if not rows:
        click.echo("No jobs.")
    for job in rows:
        progress = f"{job.progress_done}/{job.progress_total}" if job.progress_total else "-"
        click.echo(
            f"#{job.id} {job.kind:<12} {job.state:<8} {progress:>8} attempts={job.attempts}"
            f" created={job.created_at:%Y-%m-%d %H:%M} {job.error_code or ''}".rstrip()
        )


def register(app: Flask) -> None:
    app.cli.add_command(jobs_cli)
