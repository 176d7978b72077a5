"""Sharing is the pupil's choice per entry; others' access follows it. Asking for feedback."""

import pytest
import sqlalchemy as sa
from flask import g

from portfolio import access
from portfolio.extensions import db
from portfolio.models import Audience, Entry, Notification, ReviewState
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


def _notices(user) -> list[tuple[str, int | None]]:
    return [
        (n.kind, n.entry_id)
        for n in db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id))
    ]


def test_private_by_default_and_sharing_follows_the_choice(world, entry, client_for):
    pupil = client_for(world.pupil)
    html = pupil.get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)
    assert "Only you can see this." in html
    for user in (world.teacher, world.guardian, world.counsellor, world.stubo):
        assert not _can_see(user, entry)

    pupil.post(
        f"/portfolio/entry/{entry.id}/sharing",
        data={"share_class_teacher": "y", "share_guardians": "y"},
    )
    entry = _reload(entry.id)
    assert entry.shared_with == [Audience.CLASS_TEACHER, Audience.GUARDIANS]
    html = pupil.get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)
    assert "Visible to: your class teacher and your parents" in html
    assert _can_see(world.teacher, entry) and _can_see(world.guardian, entry)
    assert not _can_see(world.stubo, entry) and not _can_see(world.counsellor, entry)
    assert not _can_see(world.teacher_9b, entry) and not _can_see(world.other_guardian, entry)
    # The guardians (and the class teacher) hear of it, once; nobody else.
    assert _notices(world.guardian) == [("entry_shared", entry.id)]
    assert _notices(world.teacher) == [("entry_shared", entry.id)]
    assert _notices(world.stubo) == [] and _notices(world.counsellor) == []

    # The lists for staff and guardians load only what is shared with them.
    assert services.entries_for(world.pupil, {Audience.COUNSELLOR}) == []
    assert services.entries_for(world.pupil, {Audience.STUBO}) == []
    assert [e.id for e in services.entries_for(world.pupil, {Audience.GUARDIANS})] == [entry.id]

    pupil.post(f"/portfolio/entry/{entry.id}/sharing", data={})
    entry = _reload(entry.id)
    assert entry.shared_with == []
    assert not _can_see(world.teacher, entry)
    # Their news no longer names what they may not see any more.
    assert _notices(world.guardian) == [] and _notices(world.teacher) == []


def test_the_sharing_control_names_the_people(world, entry, client_for):
    html = client_for(world.pupil).get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)
    form = html[html.index('id="sharing"') :]
    form = form[: form.index("</form>")]
    for label, person in (
        ("My class teacher", "Tina Teacher"),
        ("The StuBO (careers coordinator at my school)", "Stefan Stubo"),
        ("My counsellor (Berufsberatung)", "Conny Consent"),
        ("My parents", "Gabi Guardian"),
    ):
        assert label in form and person in form
    # The control comes before the content.
    assert html.index('id="sharing"') < html.index('id="content-heading"')


def test_anonymous_visitors_are_sent_to_login(client, entry):
    response = client.get("/portfolio/")
    assert response.status_code == 302 and "/login" in response.location


def test_ask_for_feedback_says_whom_it_asks_and_shares_with_them(world, entry, client_for):
    pupil = client_for(world.pupil)
    html = pupil.get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)
    form = html[html.index(f'action="/portfolio/entry/{entry.id}/hand-in"') :]
    form = form[: form.index("</form>")]
    # Whom: the people by name; what it means, before sending.
    assert "My class teacher: Tina Teacher" in form
    assert "The StuBO (careers coordinator at my school): Stefan Stubo" in form
    assert "My counsellor (Berufsberatung): Conny Consent" in form
    assert "parents" not in form.lower()  # feedback is the staff's
    assert "can see this entry from then on and gets a message" in form

    response = pupil.post(
        f"/portfolio/entry/{entry.id}/hand-in", data={"ask": "stubo"}, follow_redirects=True
    )
    text = response.get_data(as_text=True)
    assert "You asked the StuBO for feedback." in text
    assert "From now on, the StuBO can also see this entry." in text
    entry = _reload(entry.id)
    assert entry.review_state == ReviewState.REQUESTED and entry.submitted_at is not None
    assert entry.asked == [Audience.STUBO] and entry.shared_with == [Audience.STUBO]
    assert "You asked the StuBO for feedback on" in text
    assert "Handed in – waiting for feedback" in text
    # The StuBO is told and sees it; the class teacher neither.
    assert _notices(world.stubo) == [("feedback_requested", entry.id)]
    assert _notices(world.teacher) == []
    assert _can_see(world.stubo, entry) and not _can_see(world.teacher, entry)


def test_asking_the_class_teacher_reaches_her_waiting_list_only(world, entry, client_for):
    pupil = client_for(world.pupil)
    pupil.post(f"/portfolio/entry/{entry.id}/hand-in", data={"ask": ["class_teacher"]})
    overview = f"/review/classes/{world.class_9a.id}?filter=feedback"
    teacher = client_for(world.teacher).get(overview).get_data(as_text=True)
    assert "Pupil, Paula" in teacher
    stubo = client_for(world.stubo).get(overview).get_data(as_text=True)
    assert "Pupil, Paula" not in stubo
    assert _notices(world.teacher) == [("feedback_requested", entry.id)]


@pytest.mark.parametrize(
    "data,why",
    [
        ({}, "Please tick whom you ask for feedback."),
        ({"ask": "guardians"}, "is not a valid choice"),
    ],
)
def test_asking_nobody_or_someone_else_changes_nothing(world, entry, client_for, data, why):
    response = client_for(world.pupil).post(f"/portfolio/entry/{entry.id}/hand-in", data=data)
    assert response.status_code == 400
    assert why in response.get_data(as_text=True)
    entry = _reload(entry.id)
    assert entry.review_state == ReviewState.NONE and entry.shared_with == []
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0


def test_nobody_without_consent_can_be_asked(world, client_for):
    """Carl's counsellor has no consent: she is not offered, and a forged request fails."""
    entry = Entry(school_id=world.school.id, pupil_id=world.classmate.id, kind="goal", data={})
    db.session.add(entry)
    db.session.commit()
    carl = client_for(world.classmate)
    html = carl.get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)
    assert "My counsellor (Berufsberatung):" not in html
    response = carl.post(f"/portfolio/entry/{entry.id}/hand-in", data={"ask": "counsellor"})
    assert response.status_code == 400
    assert _reload(entry.id).review_state == ReviewState.NONE


def test_unsharing_with_whom_was_asked_withdraws_the_request(world, entry, client_for):
    pupil = client_for(world.pupil)
    pupil.post(f"/portfolio/entry/{entry.id}/hand-in", data={"ask": ["class_teacher", "stubo"]})
    pupil.post(f"/portfolio/entry/{entry.id}/sharing", data={"share_stubo": "y"})
    entry = _reload(entry.id)
    assert entry.review_state == ReviewState.REQUESTED and entry.asked == [Audience.STUBO]
    assert _notices(world.teacher) == []  # she no longer sees it, nor its name in her news
    response = pupil.post(
        f"/portfolio/entry/{entry.id}/sharing", data={"share_guardians": "y"}, follow_redirects=True
    )
    assert "you no longer ask for it" in response.get_data(as_text=True)
    entry = _reload(entry.id)
    assert entry.review_state == ReviewState.NONE and entry.submitted_at is None
    assert entry.asked == []


def test_review_state_is_shown_to_the_pupil(world, entry, client_for):
    entry.share_class_teacher = True
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
    pupil.post(f"/portfolio/entry/{entry.id}/hand-in", data={"ask": "class_teacher"})
    pupil.post(f"/portfolio/entry/{entry.id}/withdraw")
    entry = _reload(entry.id)
    assert entry.review_state == ReviewState.NONE and entry.asked == []
    assert entry.shared_with == [Audience.CLASS_TEACHER]


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
