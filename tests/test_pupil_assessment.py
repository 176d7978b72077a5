"""External assessment: one-time expiring links, the public rating page, accepting, comparing."""

import datetime as dt
import hashlib
import re

import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.models import AssessmentRequest, Entry, EntryKind, utcnow
from portfolio.pupil import assessments
from tests.support.entry_forms import qualities


def _request():
    db.session.expire_all()
    return db.session.scalar(sa.select(AssessmentRequest))


def _create_link(pupil_client):
    response = pupil_client.post(
        "/portfolio/assessments",
        data={"rater_name": "Mama", "relation": "guardian", "rater_user_id": ""},
    )
    assert response.status_code == 302
    html = pupil_client.get(response.location).get_data(as_text=True)
    link = re.search(r'id="link-url" type="text" readonly value="([^"]+)"', html).group(1)
    return link, html


def test_link_is_shown_once_and_only_its_hash_is_stored(world, client_for):
    pupil = client_for(world.pupil)
    link, html = _create_link(pupil)
    token = link.rsplit("/", 1)[1]
    assert "Hello Mama" in html and "Copy link" in html
    req = _request()
    assert req.token_hash == hashlib.sha256(token.encode()).hexdigest()
    row = db.session.execute(sa.select(AssessmentRequest.__table__)).one()
    assert all(token not in str(value) for value in row)
    assert req.grade == "9" and req.relation == "guardian"
    assert dt.timedelta(days=13) < req.expires_at - utcnow() <= dt.timedelta(days=14)
    assert token not in pupil.get("/portfolio/assessments").get_data(as_text=True)


def test_required_fields_of_the_request(world, client_for):
    response = client_for(world.pupil).post("/portfolio/assessments", data={"rater_name": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Please fill in this field." in html
    assert "Please choose one." in html and _request() is None


def test_rating_page_single_use(world, client_for, client):
    link, _html = _create_link(client_for(world.pupil))
    path = link.split("localhost", 1)[1]
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Paula" in html and "Pupil" not in html.split("<main", 1)[1]  # first name only
    quals = qualities(world.school.id)
    data = {
        f"ratings-{quals[0].key}": "4",
        f"ratings-{quals[1].key}": "2",
        "comment": "Sehr hilfsbereit.",
    }
    thanks = client.post(path, data=data)
    assert thanks.status_code == 200 and "Thank you!" in thanks.get_data(as_text=True)
    req = _request()
    assert req.answer == {
        "ratings": {quals[0].key: 4, quals[1].key: 2},
        "comment": "Sehr hilfsbereit.",
    }

    second = client.post(path, data={f"ratings-{quals[0].key}": "1", "comment": "Anders"})
    assert second.status_code == 410
    assert "Each link can be used only once, so nothing was changed." in second.get_data(
        as_text=True
    )
    assert _request().answer["comment"] == "Sehr hilfsbereit."
    assert client.get(path).status_code == 410


def test_rating_needs_something_and_validates_the_scale(world, client_for, client):
    link, _html = _create_link(client_for(world.pupil))
    path = link.split("localhost", 1)[1]
    empty = client.post(path, data={"comment": "  "})
    assert "Please rate at least one quality or write a comment." in empty.get_data(as_text=True)
    quals = qualities(world.school.id)
    bad = client.post(path, data={f"ratings-{quals[0].key}": "9"})
    assert "Please choose one of the options." in bad.get_data(as_text=True)
    assert _request().answered_at is None


def test_expired_and_unknown_links(world, client_for, client):
    link, _html = _create_link(client_for(world.pupil))
    path = link.split("localhost", 1)[1]
    req = _request()
    req.expires_at = utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    response = client.get(path)
    assert response.status_code == 410 and "This link has expired" in response.get_data(
        as_text=True
    )
    quals = qualities(world.school.id)
    assert client.post(path, data={f"ratings-{quals[0].key}": "3"}).status_code == 410
    assert _request().answer is None
    assert client.get("/portfolio/rate/not-a-token").status_code == 404


def test_accept_creates_a_private_entry_and_decline_deletes_the_answer(world, client_for):
    quals = qualities(world.school.id)
    accepted, _t = assessments.create_request(world.pupil, "Mama", "guardian")
    assessments.submit_answer(accepted, {quals[0].key: 3}, "Gut")
    declined, _t = assessments.create_request(world.pupil, "Tom", "friend")
    assessments.submit_answer(declined, {quals[0].key: 1}, "Hmm")
    db.session.commit()

    pupil = client_for(world.pupil)
    page = pupil.get("/portfolio/assessments").get_data(as_text=True)
    assert "New answers" in page and "Gut" in page and "Hmm" in page
    assert (
        client_for(world.classmate).post(f"/portfolio/assessments/{accepted.id}/accept").status_code
        == 404
    )

    response = pupil.post(f"/portfolio/assessments/{accepted.id}/accept")
    assert response.status_code == 302
    entry = db.session.scalar(sa.select(Entry).where(Entry.kind == EntryKind.EXTERNAL_ASSESSMENT))
    assert entry.data["ratings"] == {quals[0].key: 3} and entry.data["rater_name"] == "Mama"
    assert entry.shared_with == []
    assert _by_id(accepted.id).entry_id == entry.id

    pupil.post(f"/portfolio/assessments/{declined.id}/decline")
    gone = _by_id(declined.id)
    assert gone.declined_at is not None and gone.answer is None
    assert db.session.scalar(sa.select(sa.func.count(Entry.id))) == 1

    # Accepting twice changes nothing.
    pupil.post(f"/portfolio/assessments/{accepted.id}/accept")
    assert db.session.scalar(sa.select(sa.func.count(Entry.id))) == 1

    # The rater's part stays as given; the pupil writes their reflection.
    edit = pupil.post(
        f"/portfolio/entry/{entry.id}/edit",
        data={
            "reflection": "Mama sieht mich zuverlässiger.",
            "rater_name": "X",
            f"ratings-{quals[0].key}": "1",
            "version": str(entry.version),
        },
    )
    assert edit.status_code == 302
    db.session.expire_all()
    entry = db.session.get(Entry, entry.id)
    assert entry.data["rater_name"] == "Mama" and entry.data["ratings"] == {quals[0].key: 3}
    assert entry.data["reflection"] == "Mama sieht mich zuverlässiger."


def _by_id(request_id):
    db.session.expire_all()
    return db.session.get(AssessmentRequest, request_id)


def test_comparison_page_prompts_reflection(world, client_for):
    quals = qualities(world.school.id)
    k0, k1 = quals[0].key, quals[1].key
    db.session.add_all(
        [
            Entry(
                school_id=world.school.id,
                pupil_id=world.pupil.id,
                kind="strengths",
                grade="8",
                data={"ratings": {k0: 1, k1: 3}},
            ),
            Entry(
                school_id=world.school.id,
                pupil_id=world.pupil.id,
                kind="strengths",
                grade="9",
                data={"ratings": {k0: 2, k1: 3}},
            ),
            Entry(
                school_id=world.school.id,
                pupil_id=world.pupil.id,
                kind="external_assessment",
                grade="9",
                data={"rater_name": "Mama", "relation": "guardian", "ratings": {k0: 4, k1: 3}},
            ),
        ]
    )
    db.session.commit()
    html = client_for(world.pupil).get("/portfolio/strengths").get_data(as_text=True)
    assert 'class="bwp-chart"' in html and "<text" not in html  # labels are HTML text
    assert "Where do others see you differently?" in html
    assert (
        "Me, grade 8" in html
        and "Me, grade 9" in html
        and "Mama (parent or guardian), grade 9" in html
    )
    assert "<table" in html
    assert "score" not in html.lower().replace("there is no score", "")
