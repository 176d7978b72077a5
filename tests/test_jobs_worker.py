"""Real worker processes on the embedded (SQLite) queue: a job survives a worker that is
killed while it runs (SIGKILL or SIGTERM) or before it runs, and the user downloads the
result that the next worker made."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.jobs import queue
from portfolio.models import AuditEvent, Job, JobState, Role
from tests.support.jobs import job_url
from tests.support.pdf_fixtures import add_entry
from tests.support.world import make_user

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HEARTBEAT = 1.0  # seconds: a silent worker's job is queued again after 3 s
PUPILS = 6


@pytest.fixture
def sqlite_queue(app, tmp_path):
    """The app enqueues into a SQLite queue file that worker processes read."""
    saved = app.config["JOBS_URL"], app.extensions["jobs_queue"]
    app.config["JOBS_URL"] = f"sqlite:///{tmp_path / 'queue.db'}"
    app.extensions["jobs_queue"] = queue.Queue(app)
    yield app.config["JOBS_URL"]
    app.config["JOBS_URL"], app.extensions["jobs_queue"] = saved


@pytest.fixture
def workers(app, sqlite_queue, tmp_path):
    """start() -> a `flask jobs worker` process on the test database and queue."""
    started: list[subprocess.Popen] = []
    env = dict(
        os.environ,
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        JOBS_URL=sqlite_queue,
        JOBS_RESULT_FOLDER=app.config["JOBS_RESULT_FOLDER"],
        JOBS_HEARTBEAT_SECONDS=str(HEARTBEAT),
        UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"],
        INSTANCE_PATH=str(tmp_path / "worker-instance"),
        SECRET_KEY="worker-test",
        EXPORT_WORKERS="1",
        PYTHONUNBUFFERED="1",
    )
    env.pop("PORTFOLIO_ENV", None)

    def start() -> subprocess.Popen:
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker", "--verbose"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:  # only the processes this test started, by their handle
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    for log in sorted(tmp_path.glob("worker-*.log")):
        sys.stderr.write(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}\n")


@pytest.fixture
def big_class(world):
    """Class 9a with enough pupils that a ZIP takes a few seconds."""
    for n in range(PUPILS - 2):
        pupil = make_user(world.school, [Role.PUPIL], f"Kim{n}", "Extra", cls=world.class_9a)
        add_entry(
            pupil,
            "reflection",
            {"title": f"Mark{n}", "text": "x" * 200},
            share=("class_teacher", "stubo"),
        )
    db.session.commit()
    return world.class_9a


def _job(job_id: int) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def _wait(job_id: int, ready, timeout: float = 90.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(job_id)
        if ready(job):
            return job
        db.session.rollback()
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not get there: {job.state}, {job.progress_done}")


def _start_zip(client, cls) -> int:
    return int(job_url(client.post(f"/export/class/{cls.id}/zip")).rsplit("/", 1)[1])


def _download(client, job_id: int) -> zipfile.ZipFile:
    page = client.get(f"/jobs/{job_id}", headers={"Accept-Language": "en"})
    assert "The file is ready." in page.get_data(as_text=True)
    response = client.get(f"/jobs/{job_id}/download")
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(response.data))


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_job_survives_a_worker_killed_while_it_runs(world, big_class, client_for, workers, sig):
    client = client_for(world.teacher)
    job_id = _start_zip(client, big_class)
    assert _job(job_id).state == JobState.QUEUED  # no worker yet: the message waits

    first = workers()
    running = _wait(job_id, lambda j: j.state == JobState.RUNNING and j.progress_done >= 1)
    assert running.progress_total == PUPILS
    first.send_signal(sig)
    first.wait(timeout=30)
    stuck = _job(job_id)
    assert stuck.state == JobState.RUNNING and stuck.attempts == 1  # nobody finished it
    assert stuck.result_key is None
    killed = stuck.worker

    workers()
    done = _wait(job_id, lambda j: j.state == JobState.DONE)
    assert done.attempts == 2 and done.worker != killed
    archive = _download(client, job_id)
    assert len([n for n in archive.namelist() if n.endswith(".pdf")]) == PUPILS
    # The killed run committed nothing: one audit event per pupil, from the second run.
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == PUPILS


def test_a_job_started_after_its_worker_was_killed_runs_on_the_next(world, client_for, workers):
    idle = workers()
    time.sleep(2)  # up and polling the queue
    idle.kill()
    idle.wait(timeout=10)
    client = client_for(world.teacher)
    job_id = _start_zip(client, world.class_9a)
    time.sleep(0.5)
    assert _job(job_id).state == JobState.QUEUED
    workers()
    _wait(job_id, lambda j: j.state == JobState.DONE)
    assert len(_download(client, job_id).namelist()) == 2
