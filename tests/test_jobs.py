"""Background jobs: the journey from "start" to the download, errors, expiry, who may see
what, and the bookkeeping that makes jobs survive crashed workers. The queue is in
memory here and runs when the test says so (tests/support/jobs.py); real worker processes
are in test_jobs_worker.py."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
import sqlalchemy as sa
from flask import current_app

from portfolio import accounts
from portfolio.export import classzip
from portfolio.extensions import db
from portfolio.jobs import queue, services
from portfolio.models import AuditEvent, Job, JobState, User, utcnow
from tests.support.jobs import follow, job_url, run_jobs
from tests.support.pdf_fixtures import add_entry
from tests.support.world import PASSWORD

EN = {"Accept-Language": "en"}


def _zip_of_9a(client, world):
    return client.post(f"/export/class/{world.class_9a.id}/zip")


def _job(url: str) -> Job:
    db.session.expire_all()
    return db.session.get(Job, int(url.rsplit("/", 1)[1]))


def _waiting() -> list:
    return queue.get_huey().pending()


# -- the journey ------------------------------------------------------------------------------
def test_class_zip_journey_waiting_progress_ready_download(world, client_for):
    add_entry(
        world.pupil,
        "reflection",
        {"title": "TEACHERMARK", "text": "x"},
        share=("class_teacher", "stubo"),
    )
    db.session.commit()
    client = client_for(world.teacher)
    started = _zip_of_9a(client, world)
    url = job_url(started)

    # Waiting: the page says so, reloads itself without JavaScript, polls with it.
    page = client.get(url, headers=EN).get_data(as_text=True)
    assert "All portfolios of class 9a (ZIP)" in page
    assert "Waiting for its turn" in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert "js/jobs.js" in page and "/download" not in page
    assert client.get(url + ".json").get_json()["state"] == "queued"
    assert client.get(url + "/download").status_code == 410

    assert run_jobs() == 1
    page, download = follow(client, started, run=False)
    assert "The file is ready." in page and "refresh" not in page
    assert "You can download it until" in page
    status = client.get(url + ".json").get_json()
    assert status["state"] == "done" and status["percent"] == 100
    assert status["done"] == status["total"] == 2 and status["download"] == download

    response = client.get(download)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Berufswahlpass_9a.zip" in response.headers["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert sorted(names) == ["Berufswahlpass_Classmate_Carl.pdf", "Berufswahlpass_Pupil_Paula.pdf"]
    # Downloadable again until it expires; listed under "My downloads".
    assert client.get(download).status_code == 200
    listing = client.get("/jobs/", headers=EN).get_data(as_text=True)
    assert "All portfolios of class 9a (ZIP)" in listing and download in listing
    # Audit as before: one "pdf" event per pupil, by the teacher, made when the ZIP was.
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert {e.pupil_id for e in events} == {world.pupil.id, world.classmate.id}
    assert all(e.actor_id == world.teacher.id and e.action == "pdf" for e in events)


def test_asking_again_while_it_is_made_gives_the_same_job(world, client_for):
    client = client_for(world.teacher)
    first = job_url(_zip_of_9a(client, world))
    assert job_url(_zip_of_9a(client, world)) == first
    assert len(_waiting()) == 1
    run_jobs()
    assert job_url(_zip_of_9a(client, world)) != first  # done: a new request makes a new file


def test_the_guardians_takeaway_is_made_in_their_language(world, client_for):
    client = client_for(world.guardian)
    client.post("/language", data={"language": "tr"})
    url = job_url(client.post(f"/privacy/{world.pupil.id}/take-away"))
    assert _job(url).locale == "tr"
    page = client.get(f"/privacy/{world.pupil.id}/take-away").get_data(as_text=True)
    assert url in page  # the take-away page points to the package being made
    run_jobs()
    download = re.search(r'href="(/jobs/\d+/download)"', client.get(url).get_data(as_text=True))
    data = zipfile.ZipFile(io.BytesIO(client.get(download.group(1)).data))
    assert "portfolio.pdf" in data.namelist()
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "takeaway"))
    assert event.actor_id == world.guardian.id and event.pupil_id == world.pupil.id


# -- failures -------------------------------------------------------------------------------
def test_a_failed_job_says_why_in_the_users_language_and_offers_no_download(world, client_for):
    empty = accounts.get_or_create_class(world.school, "9c")
    db.session.commit()
    client = client_for(world.stubo)
    url = job_url(client.post(f"/export/class/{empty.id}/zip"))
    run_jobs()
    job = _job(url)
    assert job.state == JobState.FAILED and job.error_code == "empty"
    assert job.error_params == {"name": "9c"} and job.result_key is None
    page = client.get(url, headers=EN).get_data(as_text=True)
    assert "The file could not be made." in page
    assert "The class 9c has no pupils to export." in page
    assert "/download" not in page and "Try again" in page
    german = client.get(url, headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Die Klasse 9c hat keine Schüler*innen" in german
    assert client.get(url + ".json").get_json()["error"] == (
        "The class 9c has no pupils to export."
    )
    assert client.get(url + "/download").status_code == 410


def test_an_unexpected_error_fails_the_job_and_leaves_nothing_behind(
    world, client_for, monkeypatch
):
    def broken(cls, out, **kw):
        out.write(b"half a zip")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(classzip, "export_class", broken)
    before = set(services.result_folder().iterdir())
    client = client_for(world.teacher)
    url = job_url(_zip_of_9a(client, world))
    run_jobs()
    job = _job(url)
    assert job.state == JobState.FAILED and job.error_code == "internal"
    page = client.get(url, headers=EN).get_data(as_text=True)
    assert "Something went wrong while the file was being made." in page
    assert "disk on fire" not in page
    assert set(services.result_folder().iterdir()) == before
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0


def test_failed_login_slips_change_no_password(world, client_for, monkeypatch):
    from portfolio.roster import slips

    monkeypatch.setattr(slips, "render", lambda *a, **kw: 1 / 0)
    client = client_for(world.teacher)
    started = client.post(
        f"/admin/classes/{world.class_9a.id}/slips",
        data={"pupils": [world.pupil.id], "letter_locale": "de", "confirm": "y"},
    )
    run_jobs()
    assert _job(job_url(started)).state == JobState.FAILED
    assert db.session.get(User, world.pupil.id).check_password(PASSWORD)


# -- expiry and who may see it ------------------------------------------------------------
def test_results_expire_and_are_purged(world, client_for, runner):
    client = client_for(world.teacher)
    started = _zip_of_9a(client, world)
    _page, download = follow(client, started)
    job = _job(job_url(started))
    job_id, path = job.id, services.result_path(job.result_key)
    assert path.is_file()
    job.expires_at = utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    assert client.get(download).status_code == 410
    page = client.get(job_url(started), headers=EN).get_data(as_text=True)
    assert "has been deleted" in page and download not in page

    result = runner.invoke(args=["purge-expired"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 expired download(s)" in result.output
    assert not path.exists() and _job(job_url(started)).result_key is None
    # The record goes a week later.
    services.purge_expired(now=utcnow() + services.ROW_GRACE + dt.timedelta(minutes=5))
    db.session.expire_all()
    assert db.session.get(Job, job_id) is None


def test_only_the_asker_sees_the_job_and_only_while_they_may(world, client_for):
    client = client_for(world.teacher)
    started = _zip_of_9a(client, world)
    _page, download = follow(client, started)
    url = job_url(started)
    # The StuBO may make the same ZIP, but this one is the teacher's.
    stubo = client_for(world.stubo)
    for path in (url, url + ".json", download):
        assert stubo.get(path).status_code == 404
    # (Not just "9a": the page's random CSRF token may contain it.)
    assert client.get("/jobs/", headers=EN).get_data(as_text=True).count(url) >= 1
    assert url not in stubo.get("/jobs/", headers=EN).get_data(as_text=True)
    # The teacher no longer teaches 9a: the job and its result are gone for them too.
    from portfolio.models import TeacherClass

    db.session.execute(sa.delete(TeacherClass).where(TeacherClass.teacher_id == world.teacher.id))
    db.session.commit()
    assert client.get(url).status_code == 404 and client.get(download).status_code == 404


def test_one_time_results_are_deleted_on_download(world, client_for):
    client = client_for(world.admin)
    started = client.post(
        f"/admin/classes/{world.class_9a.id}/slips",
        data={"pupils": [world.pupil.id], "letter_locale": "de", "confirm": "y"},
    )
    page, download = follow(client, started)
    job = _job(job_url(started))
    assert job.expires_at - job.finished_at <= dt.timedelta(minutes=30)
    assert client.get(download).status_code == 200
    assert not services.result_path(job.result_key or "x").exists()
    assert client.get(download).status_code == 410
    page = client.get(job_url(started), headers=EN).get_data(as_text=True)
    assert "was downloaded on" in page


# -- the bookkeeping behind surviving crashes ---------------------------------------------
def test_a_rolled_back_request_starts_no_job(world):
    from portfolio.export import jobs as export_jobs

    export_jobs.start_class_zip(world.teacher, world.class_9a)
    assert _waiting() == []  # not before the commit
    db.session.rollback()
    db.session.commit()
    assert _waiting() == [] and db.session.scalar(sa.select(sa.func.count(Job.id))) == 0
    job = export_jobs.start_class_zip(world.teacher, world.class_9a)
    db.session.commit()
    assert [t.args for t in _waiting()] == [(job.id,)]


def test_a_duplicate_message_does_not_run_a_job_twice(world, client_for):
    client = client_for(world.teacher)
    url = job_url(_zip_of_9a(client, world))
    job_id = _job(url).id
    run_jobs()
    key = _job(url).result_key
    queue.send(current_app._get_current_object(), "jobs.run", job_id)
    assert run_jobs() == 1
    job = _job(url)
    assert job.attempts == 1 and job.result_key == key


def _running(world, *, attempts: int, beat_ago: float) -> Job:
    job = Job(
        school_id=world.school.id,
        user_id=world.teacher.id,
        kind="class_zip",
        params={"class_id": world.class_9a.id, "class_name": "9a"},
        state=JobState.RUNNING,
        attempts=attempts,
        worker="gone-host:4242/dead",
        heartbeat_at=utcnow() - dt.timedelta(seconds=beat_ago),
    )
    db.session.add(job)
    db.session.commit()
    return job


def test_a_job_whose_worker_stopped_beating_is_queued_again_and_completes(world, client_for, app):
    beat = app.config["JOBS_HEARTBEAT_SECONDS"]
    fresh = _running(world, attempts=1, beat_ago=beat)
    stale = _running(world, attempts=1, beat_ago=3 * beat + 1)
    assert services.requeue_stale() == 1
    db.session.expire_all()
    assert fresh.state == JobState.RUNNING  # its worker is still alive
    assert stale.state == JobState.QUEUED and stale.worker is None
    assert [t.args for t in _waiting()] == [(stale.id,)]
    run_jobs()
    db.session.expire_all()
    assert stale.state == JobState.DONE and stale.attempts == 2
    assert client_for(world.teacher).get(f"/jobs/{stale.id}/download").status_code == 200


def test_the_watchdog_never_takes_a_job_from_its_own_process(world):
    """A worker busy rendering may beat late on a loaded machine; its own watchdog knows
    the job is alive (other processes go by the heartbeat)."""
    job = _running(world, attempts=1, beat_ago=3600)
    services._HELD[job.id] = job.worker
    try:
        assert services.requeue_stale() == 0
    finally:
        services._HELD.pop(job.id)
    db.session.expire_all()
    assert job.state == JobState.RUNNING
    assert services.requeue_stale() == 1


def test_a_job_interrupted_too_often_fails_with_a_message(world, client_for, app):
    job = _running(world, attempts=app.config["JOBS_MAX_ATTEMPTS"], beat_ago=3600)
    assert services.requeue_stale() == 0
    db.session.expire_all()
    assert job.state == JobState.FAILED and job.error_code == "interrupted"
    page = client_for(world.teacher).get(f"/jobs/{job.id}", headers=EN).get_data(as_text=True)
    assert "interrupted several times" in page


def test_a_lost_message_is_sent_again(world):
    from portfolio.export import jobs as export_jobs

    job = export_jobs.start_class_zip(world.teacher, world.class_9a)
    db.session.commit()
    queue.get_huey().flush()  # e.g. Redis restarted without its data
    assert services.resend_lost() == 0  # too early to tell a lost message from a busy queue
    job.enqueued_at = utcnow() - services.RESEND_AFTER - dt.timedelta(seconds=1)
    db.session.commit()
    assert services.resend_lost() == 1
    assert services.resend_lost(now=utcnow() + services.RESEND_AFTER * 2) == 0  # in the queue
    run_jobs()
    db.session.expire_all()
    assert job.state == JobState.DONE


# -- plain tasks for other features ---------------------------------------------------------
_seen: list[int] = []


@queue.background("tests.mark_left")
def _mark(pupil_id: int, fail: bool = False) -> None:
    db.session.get(User, pupil_id).status = "left"
    _seen.append(pupil_id)
    if fail:
        raise RuntimeError("no")


def test_background_tasks_run_after_commit_in_their_own_transaction(world):
    _mark.enqueue(world.pupil.id)
    assert _waiting() == []
    db.session.commit()
    run_jobs()
    db.session.expire_all()
    assert world.pupil.status == "left" and _seen[-1] == world.pupil.id
    _mark.enqueue(world.classmate.id, fail=True)
    db.session.commit()
    run_jobs()
    db.session.expire_all()
    assert world.classmate.status == "active"  # rolled back


def test_the_worker_command_is_documented_and_lists_jobs(runner, world, client_for):
    _zip_of_9a(client_for(world.teacher), world)
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0 and "class_zip" in result.output and "queued" in result.output
    assert "worker" in runner.invoke(args=["jobs", "--help"]).output


@pytest.mark.parametrize("url", ["memory://"])
def test_production_refuses_an_in_process_queue(url):
    from portfolio.config import ConfigError, check_production

    with pytest.raises(ConfigError, match="JOBS_URL"):
        check_production(
            {
                "PRODUCTION": True,
                "SQLALCHEMY_DATABASE_URI": "postgresql://x/y",
                "SESSION_COOKIE_SECURE": True,
                "JOBS_URL": url,
            }
        )
