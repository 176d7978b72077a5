"""Nothing typed is lost: edit conflicts (optimistic locking) and expired forms (CSRF)."""

import re

import pytest
import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.models import Entry
from portfolio.pupil import services


@pytest.fixture
def entry(world):
    e = Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind="reflection",
        data={"title": "Tag", "text": "Anfang"},
    )
    db.session.add(e)
    db.session.commit()
    return e


def _stored(entry_id):
    db.session.expire_all()
    return db.session.get(Entry, entry_id)


def _version_field(html):
    return re.search(r'name="version"[^>]*value="(\d*)"|value="(\d*)"[^>]*name="version"', html)


def test_stale_version_shows_both_versions_and_overwrites_nothing(world, entry, client_for):
    phone = client_for(world.pupil)
    laptop = client_for(world.pupil)
    assert 'data-saved-version="1"' in phone.get(f"/portfolio/entry/{entry.id}/edit").get_data(
        as_text=True
    )
    laptop.get(f"/portfolio/entry/{entry.id}/edit")

    saved = laptop.post(
        f"/portfolio/entry/{entry.id}/edit",
        data={"title": "Tag", "text": "Vom Laptop", "version": "1"},
    )
    assert saved.status_code == 302
    assert _stored(entry.id).version == 2

    conflict = phone.post(
        f"/portfolio/entry/{entry.id}/edit",
        data={"title": "Tag", "text": "Vom Handy getippt", "version": "1"},
    )
    assert conflict.status_code == 409
    html = conflict.get_data(as_text=True)
    assert "this entry was changed somewhere else in the meantime" in html
    assert "Vom Laptop" in html  # what is stored now
    assert "Vom Handy getippt" in html  # what the pupil typed, still in the form
    assert 'data-saved-version="2"' in html
    match = _version_field(html)
    assert (match.group(1) or match.group(2)) == "2"  # saving again takes the new version
    assert _stored(entry.id).data["text"] == "Vom Laptop"

    # The pupil deliberately saves their version on top.
    again = phone.post(
        f"/portfolio/entry/{entry.id}/edit",
        data={"title": "Tag", "text": "Vom Handy getippt", "version": "2"},
    )
    assert again.status_code == 302
    stored = _stored(entry.id)
    assert stored.data["text"] == "Vom Handy getippt" and stored.version == 3


def test_missing_version_is_a_conflict_too(world, entry, client_for):
    response = client_for(world.pupil).post(
        f"/portfolio/entry/{entry.id}/edit", data={"title": "Tag", "text": "x"}
    )
    assert response.status_code == 409
    assert _stored(entry.id).data["text"] == "Anfang"


def test_concurrent_update_between_check_and_write_is_caught(world, entry, client_for, monkeypatch):
    """Another save lands after the version check: the UPDATE matches no row (StaleDataError)."""
    original = services.apply_data

    def racing(target, data):
        with db.engine.begin() as conn:  # another request, committed first
            conn.execute(
                sa.update(Entry.__table__)
                .where(Entry.__table__.c.id == target.id)
                .values(
                    version=Entry.__table__.c.version + 1,
                    data={"title": "Tag", "text": "Schneller gespeichert"},
                )
            )
        original(target, data)

    monkeypatch.setattr(services, "apply_data", racing)
    response = client_for(world.pupil).post(
        f"/portfolio/entry/{entry.id}/edit", data={"title": "Tag", "text": "Meins", "version": "1"}
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Schneller gespeichert" in html and "Meins" in html
    stored = _stored(entry.id)
    assert stored.data["text"] == "Schneller gespeichert" and stored.version == 2


def test_successful_save_clears_the_local_draft(world, entry, client_for):
    pupil = client_for(world.pupil)
    response = pupil.post(
        f"/portfolio/entry/{entry.id}/edit",
        data={"title": "Tag", "text": "Neu", "version": "1"},
        follow_redirects=True,
    )
    assert f'data-draft-saved="entry-{entry.id}"' in response.get_data(as_text=True)
    # Only once: the next page does not clear drafts again.
    assert "data-draft-saved" not in pupil.get(f"/portfolio/entry/{entry.id}").get_data(
        as_text=True
    )

    new = pupil.post(
        "/portfolio/kind/reflection/new",
        data={"title": "A", "text": "B", "version": ""},
        follow_redirects=True,
    )
    assert 'data-draft-saved="new-reflection"' in new.get_data(as_text=True)


def test_expired_form_loses_nothing(app, world, entry, client_for):
    """A CSRF failure (expired session) saves nothing and returns to the form, where the
    browser's local draft (data-draft, same saved version) brings the text back."""
    pupil = client_for(world.pupil)
    app.config["WTF_CSRF_ENABLED"] = True  # after logging in (reset by the _clean fixture)
    edit_url = f"/portfolio/entry/{entry.id}/edit"
    response = pupil.get(edit_url)
    # Browsers must send the Referer within the site, or the error page cannot lead back.
    assert response.headers["Referrer-Policy"] == "same-origin"
    page = response.get_data(as_text=True)
    assert f'data-draft="entry-{entry.id}"' in page and 'data-saved-version="1"' in page
    response = pupil.post(
        edit_url,
        data={"title": "Tag", "text": "Lange getippt", "version": "1", "csrf_token": "expired"},
        headers={"Referer": "http://localhost" + edit_url},
    )
    assert response.status_code == 302 and response.location.endswith(edit_url)
    assert _stored(entry.id).data["text"] == "Anfang"
    back = pupil.get(edit_url).get_data(as_text=True)
    assert "The form had expired" in back
    # Same draft key and version as before: static/js/app.js restores the typed text.
    assert f'data-draft="entry-{entry.id}"' in back and 'data-saved-version="1"' in back
    assert "data-draft-note" in back and "data-draft-saved" not in back
