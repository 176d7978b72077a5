"""The pupil's entries over HTTP: every kind, validation, limits, status and deletion."""

import pytest
import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.kinds import LONG_MAX, SEK2, SPECS
from portfolio.models import Entry, EntryKind
from portfolio.pupil import services
from tests.support.entry_forms import form_for, qualities, text

CREATABLE = [k for k in SPECS if k not in services.NOT_CREATABLE]


@pytest.fixture
def pupil_client(world, client_for):
    return client_for(world.pupil)


def _entries(pupil_id, kind=None):
    query = sa.select(Entry).where(Entry.pupil_id == pupil_id)
    if kind:
        query = query.where(Entry.kind == kind)
    db.session.expire_all()
    return list(db.session.scalars(query.order_by(Entry.id)))


@pytest.mark.parametrize("kind", CREATABLE, ids=lambda k: k.value)
def test_every_kind_can_be_created_viewed_and_edited(world, pupil_client, kind):
    spec = SPECS[kind]
    grade = "EF" if spec.stage == SEK2 else "9"  # upper-secondary kinds from EF on
    world.class_9a.grade = grade
    db.session.commit()
    quals = qualities(world.school.id)
    page = pupil_client.get(f"/portfolio/kind/{kind.value}/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for question in spec.guiding_questions:
        assert text(question) in html  # the Berufswahlpass prompts are shown with the form
    assert f'data-draft="new-{kind.value}"' in html

    response = pupil_client.post(
        f"/portfolio/kind/{kind.value}/new", data=form_for(spec, quals, "First")
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    [entry] = _entries(world.pupil.id, kind.value)
    assert entry.grade == grade  # the pupil's grade when it was made
    assert entry.shared_with == []
    for item in spec.fields:
        assert item.name in entry.data

    view = pupil_client.get(f"/portfolio/entry/{entry.id}")
    assert view.status_code == 200
    assert "Only you can see this." in view.get_data(as_text=True)

    edit = pupil_client.get(f"/portfolio/entry/{entry.id}/edit")
    assert edit.status_code == 200
    assert f'data-saved-version="{entry.version}"' in edit.get_data(as_text=True)
    response = pupil_client.post(
        f"/portfolio/entry/{entry.id}/edit", data=form_for(spec, quals, "Second", entry.version)
    )
    assert response.status_code == 302
    [entry] = _entries(world.pupil.id, kind.value)
    text_fields = [f for f in spec.fields if getattr(f, "type", "") in ("text", "textarea")]
    if text_fields:
        assert entry.data[text_fields[0].name].startswith("Second")
    assert entry.version == 2


def test_fields_are_stored_in_the_documented_shape(world, pupil_client):
    spec = SPECS[EntryKind.BERUFSFELDERKUNDUNG]
    data = form_for(spec, qualities(world.school.id))
    data.update({k: "" for k in data if k.startswith("days-2-")})
    data.update({"days-1-date": "04.03.2026", "days-1-field": "it", "days-1-company": "Tech GmbH"})
    assert (
        pupil_client.post("/portfolio/kind/berufsfelderkundung/new", data=data).status_code == 302
    )
    [entry] = _entries(world.pupil.id)
    days = entry.data["days"]
    assert len(days) == 3  # fixed group: exactly three days, even if some are empty
    assert days[1]["date"] == "2026-03-04"  # typed German date stored as ISO
    assert days[1]["field"] == "it"
    assert days[2]["company"] == ""


def test_ratings_and_interests(world, pupil_client):
    quals = qualities(world.school.id)
    data = {
        "ratings-" + quals[0].key: "4",
        "ratings-" + quals[1].key: "1",
        "interests": ["it", "metall"],
        "version": "",
    }
    assert pupil_client.post("/portfolio/kind/strengths/new", data=data).status_code == 302
    [entry] = _entries(world.pupil.id)
    assert entry.data["ratings"] == {quals[0].key: 4, quals[1].key: 1}
    assert entry.data["interests"] == ["it", "metall"]
    html = pupil_client.get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)
    assert "IT and computers" in html and "very well" in html


def test_required_field_and_bad_date_keep_the_input(world, pupil_client):
    data = {
        "company": "",
        "start": "31.02.2026",
        "expectations": "Ich hoffe auf viel Neues",
        "version": "",
    }
    response = pupil_client.post("/portfolio/kind/praktikum/new", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Please fill in this field." in html
    assert "Please enter a real date, for example 24.03.2026." in html
    assert "Ich hoffe auf viel Neues" in html  # nothing typed is lost
    assert 'value="31.02.2026"' in html and 'type="text"' in html
    assert _entries(world.pupil.id) == []


def test_choice_must_be_one_of_the_options(world, pupil_client):
    data = {"goal": "Führerschein", "state": "nonsense", "version": ""}
    response = pupil_client.post("/portfolio/kind/goal/new", data=data)
    assert response.status_code == 200
    assert "Please choose one of the options." in response.get_data(as_text=True)


def test_long_text_limit(world, pupil_client):
    too_long = "a" * (LONG_MAX + 1)
    response = pupil_client.post(
        "/portfolio/kind/reflection/new",
        data={"title": "Mein Tag", "text": too_long, "version": ""},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "This text is too long: 10001 characters, at most 10000 are possible." in html
    assert too_long in html
    assert _entries(world.pupil.id) == []
    ok = pupil_client.post(
        "/portfolio/kind/reflection/new",
        data={"title": "Mein Tag", "text": "a" * LONG_MAX, "version": ""},
    )
    assert ok.status_code == 302


def test_variable_group_adds_a_row_without_javascript(world, pupil_client):
    data = {
        "goal": "Praktikumsplatz finden",
        "steps-0-text": "Bewerbung schreiben",
        "steps-0-due_on": "2026-05-01",
        "add_row": "steps",
        "version": "",
    }
    response = pupil_client.post("/portfolio/kind/goal/new", data=data)
    assert response.status_code == 302
    assert "group=steps" in response.location and "#group-steps" in response.location
    [entry] = _entries(world.pupil.id)
    html = pupil_client.get(response.location).get_data(as_text=True)
    assert 'name="steps-0-text"' in html and 'value="Bewerbung schreiben"' in html
    assert 'name="steps-1-text"' in html  # the new empty row for the next step
    assert 'name="steps-2-text"' not in html
    # Empty rows are not stored.
    assert entry.data["steps"] == [
        {"text": "Bewerbung schreiben", "due_on": "2026-05-01", "done": ""}
    ]


def test_goal_next_due_and_overdue_steps(world, pupil_client):
    data = {
        "goal": "Ausbildungsplatz",
        "version": "",
        "steps-0-text": "Alt",
        "steps-0-due_on": "2020-01-10",
        "steps-1-text": "Erledigt",
        "steps-1-due_on": "2019-01-01",
        "steps-1-done": "yes",
        "steps-2-text": "Später",
        "steps-2-due_on": "2099-01-01",
    }
    assert pupil_client.post("/portfolio/kind/goal/new", data=data).status_code == 302
    [entry] = _entries(world.pupil.id)
    assert entry.next_due_on.isoformat() == "2020-01-10"  # earliest step not done
    html = pupil_client.get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)
    assert "1 step is overdue" in html and "kern-icon--warning" in html
    assert "Alt" in html
    home = pupil_client.get("/portfolio/").get_data(as_text=True)
    assert "step of your goal is overdue" in home


def test_non_repeatable_kind_opens_the_existing_entry(world, pupil_client):
    quals = qualities(world.school.id)
    pupil_client.post("/portfolio/kind/cv/new", data=form_for(SPECS[EntryKind.CV], quals))
    [entry] = _entries(world.pupil.id)
    response = pupil_client.get("/portfolio/kind/cv/new")
    assert response.status_code == 302 and response.location.endswith(f"/entry/{entry.id}/edit")


def test_status_and_delete(world, pupil_client):
    pupil_client.post(
        "/portfolio/kind/reflection/new", data={"title": "T", "text": "x", "version": ""}
    )
    [entry] = _entries(world.pupil.id)
    assert entry.status == "in_progress"
    pupil_client.post(f"/portfolio/entry/{entry.id}/status", data={"done": "1"})
    assert _entries(world.pupil.id)[0].status == "done"
    pupil_client.post(f"/portfolio/entry/{entry.id}/status", data={"done": "0"})
    assert _entries(world.pupil.id)[0].status == "in_progress"
    confirm = pupil_client.get(f"/portfolio/entry/{entry.id}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    assert _entries(world.pupil.id)  # a GET deletes nothing
    assert pupil_client.post(f"/portfolio/entry/{entry.id}/delete").status_code == 302
    assert _entries(world.pupil.id) == []


def test_unknown_kind_and_not_creatable_kind(pupil_client):
    assert pupil_client.get("/portfolio/kind/nonsense").status_code == 404
    assert pupil_client.get("/portfolio/kind/external_assessment/new").status_code == 404


def test_every_page_renders(world, pupil_client):
    for path in (
        "/portfolio/",
        "/portfolio/timeline",
        "/portfolio/kinds",
        "/portfolio/strengths",
        "/portfolio/assessments",
        "/portfolio/section/angebote",
        "/portfolio/section/mein-weg",
        "/portfolio/section/lebensplanung",
    ):
        assert pupil_client.get(path).status_code == 200, path
