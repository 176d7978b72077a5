"""The benchmark crawler (tests/benchmarks/crawl.py) reaches the pages a user reaches by
clicking, three clicks deep, and says which routes no role reached."""

from __future__ import annotations

import sqlalchemy as sa

from portfolio.export.jobs import CLASS_ZIP
from portfolio.extensions import db
from portfolio.models import Job
from tests.benchmarks.crawl import LINKLESS, PageTiming, discover, unreached


def test_a_teacher_reaches_a_pupils_agreement_and_guidance_three_clicks_deep(
    app, world, client_for
):
    found = discover(app, client_for(world.teacher), per_endpoint=2, depth=3)
    endpoints = {endpoint for _path, endpoint in found}
    # Navigation -> the class -> a pupil -> the pupil's agreement and guidance records.
    assert {"review.classes", "review.class_overview", "review.pupil"} <= endpoints
    assert {"agreement.overview", "guidance.records", "guidance.new"} <= endpoints
    # At most two addresses of one route, each once.
    paths = [path for path, _endpoint in found]
    assert len(paths) == len(set(paths))
    assert sum(endpoint == "review.pupil" for endpoint in endpoints) <= 2
    # One click from the navigation only: no pupil pages.
    shallow = {e for _p, e in discover(app, client_for(world.teacher), per_endpoint=2, depth=0)}
    assert "review.pupil" not in shallow and "review.classes" in shallow


def test_the_class_zip_a_page_offers_is_started_and_its_page_timed(app, world, client_for):
    found = discover(app, client_for(world.teacher), per_endpoint=2, depth=2)
    endpoints = {endpoint for _path, endpoint in found}
    assert {"jobs.status", "jobs.index"} <= endpoints
    job = db.session.scalars(sa.select(Job).where(Job.user_id == world.teacher.id)).one()
    assert job.kind == CLASS_ZIP and (f"/jobs/{job.id}", "jobs.status") in found


def test_unreached_lists_the_routes_no_role_reached(app):
    reached = [PageTiming("Pupil", "p", "/portfolio/", "pupil.home")]
    expected, missed = unreached(app, reached)
    assert "pupil.home" not in missed and "review.pupil" in missed
    assert set(expected) <= LINKLESS and "rate.rate" in expected
    assert not set(missed) & LINKLESS
