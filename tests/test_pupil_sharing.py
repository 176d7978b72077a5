"""Sharing is the pupil's choice per entry; others' access follows it. Handing in for feedback."""

import pytest
import sqlalchemy as sa
from flask import g

from portfolio import access
from portfolio.extensions import db
from portfolio.models import Audience, Entry, ReviewState
from portfolio.pupil import services


@pytest.fixture
def entry(world):
    e = Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind="reflection",
        data={"title": "Mein Praktikumstag", "text": "Es war gut."},
    )
    db.session.add(e)
    db.session.commit()
    return e


def _reload(entry_id):
    db.session.expire_all()
    return db.session.get(Entry, entry_id)


def _can_see(user, entry):
    g.pop("_pupil_access", None)
    return access.access_to(user, entry.pupil).can_view_shared(entry)


def test_private_by_default_and_sharing_follows_the_choice(world, entry, client_for):
    pupil = client_for(world.pupil)
    html = pupil.get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)
    assert "Only you can see this." in html
    for user in (world.teacher, world.guardian, world.counsellor, world.stubo):
        assert not _can_see(user, entry)

    pupil.post(
        f"/portfolio/entry/{entry.id}/sharing", data={"share_teachers": "y", "share_guardians": "y"}
    )
    entry = _reload(entry.id)
    assert entry.share_teachers and entry.share_guardians and not entry.share_counsellor
    html = pupil.get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)
    assert "Visible to: your teachers, your parents" in html
    assert _can_see(world.teacher, entry) and _can_see(world.stubo, entry)
    assert _can_see(world.guardian, entry)
    assert not _can_see(world.counsellor, entry)
    assert not _can_see(world.teacher_9b, entry) and not _can_see(world.other_guardian, entry)

    # The lists for staff and guardians load only what is shared with them.
    assert services.entries_for(world.pupil, {Audience.COUNSELLOR}) == []
    assert [e.id for e in services.entries_for(world.pupil, {Audience.GUARDIANS})] == [entry.id]

    pupil.post(f"/portfolio/entry/{entry.id}/sharing", data={})
    entry = _reload(entry.id)
    assert not (entry.share_teachers or entry.share_guardians or entry.share_counsellor)
    assert not _can_see(world.teacher, entry)


def test_anonymous_visitors_are_sent_to_login(client, entry):
    response = client.get("/portfolio/")
    assert response.status_code == 302 and "/login" in response.location


def test_hand_in_needs_sharing_with_teachers(world, entry, client_for):
    pupil = client_for(world.pupil)
    response = pupil.post(f"/portfolio/entry/{entry.id}/hand-in", data={}, follow_redirects=True)
    assert "your teachers must be able to see this entry" in response.get_data(as_text=True)
    entry = _reload(entry.id)
    assert entry.review_state == ReviewState.NONE and entry.submitted_at is None

    pupil.post(f"/portfolio/entry/{entry.id}/hand-in", data={"share_teachers": "y"})
    entry = _reload(entry.id)
    assert entry.review_state == ReviewState.REQUESTED and entry.share_teachers
    assert entry.submitted_at is not None
    html = pupil.get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)
    assert "Handed in – waiting for feedback" in html

    # Taking teachers off the entry also takes back the hand-in.
    pupil.post(f"/portfolio/entry/{entry.id}/sharing", data={"share_guardians": "y"})
    entry = _reload(entry.id)
    assert entry.review_state == ReviewState.NONE and entry.submitted_at is None


def test_review_state_is_shown_to_the_pupil(world, entry, client_for):
    entry.share_teachers = True
    entry.review_state = ReviewState.REVISION
    db.session.commit()
    pupil = client_for(world.pupil)
    assert "Please revise" in pupil.get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)
    assert "Your teacher asked you to revise:" in pupil.get("/portfolio/").get_data(as_text=True)
    entry = _reload(entry.id)
    entry.review_state = ReviewState.REVIEWED
    db.session.commit()
    assert "Feedback given" in pupil.get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)


def test_withdraw_hand_in(world, entry, client_for):
    pupil = client_for(world.pupil)
    pupil.post(f"/portfolio/entry/{entry.id}/hand-in", data={"share_teachers": "y"})
    pupil.post(f"/portfolio/entry/{entry.id}/withdraw")
    entry = _reload(entry.id)
    assert entry.review_state == ReviewState.NONE and entry.share_teachers


def test_entries_for_orders_by_section_and_kind(world):
    for kind in ("cv", "reflection", "strengths", "goal"):
        db.session.add(
            Entry(school_id=world.school.id, pupil_id=world.pupil.id, kind=kind, data={})
        )
    db.session.add(
        Entry(school_id=world.school.id, pupil_id=world.classmate.id, kind="goal", data={})
    )
    db.session.commit()
    kinds = [e.kind for e in services.entries_for(world.pupil)]
    assert kinds == ["strengths", "goal", "reflection", "cv"]


def test_own_portfolio_and_load_own_rules(world):
    from werkzeug.exceptions import Forbidden, NotFound

    from portfolio.models import AssessmentRequest, utcnow

    assert access.own_portfolio(world.pupil).is_self
    with pytest.raises(Forbidden):
        access.own_portfolio(world.teacher)
    req = AssessmentRequest(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        token_hash="x" * 64,
        rater_name="Mama",
        relation="guardian",
        expires_at=utcnow(),
    )
    db.session.add(req)
    db.session.commit()
    assert access.load_own(world.pupil, AssessmentRequest, req.id) is req
    for user in (world.classmate, world.guardian, world.teacher):
        with pytest.raises(NotFound):
            access.load_own(user, AssessmentRequest, req.id)
    assert db.session.scalar(sa.select(sa.func.count(AssessmentRequest.id))) == 1
