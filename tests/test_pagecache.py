"""Pages kept in memory (portfolio/pagecache.py): served again only while nothing was
written, never to another login session, always with fresh per-response values."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask import current_app

from portfolio import pagecache, progress
from portfolio.extensions import db
from portfolio.models import PageGeneration, User
from tests.support.queries import count_queries
from tests.support.world import login

HOME = "/portfolio/"
_KEYS = re.compile(r'name="submission_key" value="([^"]+)"')
_TOKENS = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def pupil(world, client_for, english_users):
    client = client_for(world.pupil)
    client.get(HOME)  # rendered and kept
    return client


def _served(client, url=HOME):
    """(HTML, statements) of a GET that must answer 200."""
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True), len(statements)


def _generation():
    return db.session.scalar(pagecache.generation_column().element)


def _without_per_response_values(html: str) -> str:
    return _TOKENS.sub("", _KEYS.sub("", html))


def test_a_kept_page_is_served_again_with_one_statement(pupil):
    first, rendered = _served(pupil)
    pagecache.clear()
    again_rendered, statements_rendered = _served(pupil)
    kept, statements_kept = _served(pupil)
    assert statements_kept == 1  # the login session, with the generation
    assert statements_rendered > statements_kept
    assert _without_per_response_values(kept) == _without_per_response_values(again_rendered)
    assert "Paula" in kept


def test_every_response_gets_its_own_submission_keys(pupil, csrf_enabled):
    one, _ = _served(pupil)
    two, _ = _served(pupil)
    keys_one, keys_two = _KEYS.findall(one), _KEYS.findall(two)
    assert keys_one and len(keys_one) == len(keys_two)
    assert not set(keys_one) & set(keys_two)
    assert len(set(keys_one)) == len(keys_one)  # each form of the page its own
    assert pagecache.KEY_MARK not in two and pagecache.CSRF_MARK not in two
    # The CSRF token of a kept page works: the language switch of the served page.
    token = _TOKENS.findall(two)[0]
    response = pupil.post(
        "/language",
        data={"csrf_token": token, "submission_key": keys_two[0], "language": "de", "next": HOME},
    )
    assert response.status_code == 302
    german, _ = _served(pupil)
    assert 'lang="de"' in german


@pytest.mark.parametrize("how", ["orm", "core", "text"])
def test_a_committed_write_anywhere_shows_on_the_next_view(world, pupil, how):
    _served(pupil)
    before = _generation()
    if how == "orm":
        db.session.get(User, world.pupil.id).first_name = "Paulina"
    elif how == "core":
        db.session.execute(
            sa.update(User).where(User.id == world.pupil.id).values(first_name="Paulina")
        )
    else:
        db.session.execute(
            sa.text("UPDATE user_account SET first_name = 'Paulina' WHERE id = :id"),
            {"id": world.pupil.id},
        )
    db.session.commit()
    assert _generation() != before
    html, statements = _served(pupil)
    assert "Paulina" in html and statements > 1


def test_a_write_that_is_rolled_back_or_a_read_keeps_the_generation(world, pupil):
    before = _generation()
    db.session.get(User, world.pupil.id).first_name = "Never"
    db.session.flush()
    db.session.rollback()
    db.session.scalar(sa.select(User.id))
    db.session.commit()  # a transaction that only read
    assert _generation() == before
    _html, statements = _served(pupil)
    assert statements == 1


def test_a_write_by_another_user_shows(world, pupil, client_for):
    """The class teacher asks for a revision: the pupil's to-do list says so at once."""
    from portfolio.models import Entry, ReviewState

    entry = Entry(
        pupil_id=world.pupil.id,
        school_id=world.school.id,
        kind="reflection",
        grade="9",
        data={"title": "Mein Praktikum"},
    )
    db.session.add(entry)
    db.session.commit()
    _served(pupil)
    kept, _ = _served(pupil)
    assert "revise" not in kept
    entry = db.session.get(Entry, entry.id)
    entry.review_state = ReviewState.REVISION
    db.session.commit()
    html, _ = _served(pupil)
    assert "Your teacher asked you to revise" in html and "Mein Praktikum" in html


def test_nothing_is_shared_between_login_sessions(world, app, pupil):
    # The same pupil on a second computer: a page of its own, rendered for that session.
    other_computer = app.test_client()
    assert login(other_computer, world.pupil.username).status_code == 302
    _html, statements = _served(other_computer)
    assert statements > 1
    # A classmate sees her own page, never Paula's.
    classmate = app.test_client()
    assert login(classmate, world.classmate.username).status_code == 302
    html, _ = _served(classmate)
    assert "Carl" in html and "Paula" not in html


def test_a_logged_out_session_gets_no_kept_page(pupil):
    assert pupil.post("/logout").status_code == 302
    response = pupil.get(HOME)
    assert response.status_code == 302 and "/login" in response.location


def test_a_login_older_than_its_absolute_lifetime_gets_no_kept_page(pupil, app, monkeypatch):
    """The kept page is answered before the user is loaded: its one statement checks the
    login session as the user loader does (here: SESSION_MAX_HOURS has passed)."""
    _served(pupil)
    monkeypatch.setitem(app.config, "SESSION_MAX_HOURS", 0)
    response = pupil.get(HOME)
    assert response.status_code == 302 and "/login" in response.location


def test_a_deactivated_account_gets_no_kept_page(world, pupil):
    _served(pupil)
    # Deactivated by hand in the database, so that the generation stays the same: the
    # statement of the kept page itself must refuse the account.
    rows = db.session.execute(sa.select(PageGeneration.id, PageGeneration.value)).all()
    generation = _generation()
    db.session.execute(
        sa.update(User).where(User.id == world.pupil.id).values(is_active_account=False)
    )
    db.session.commit()
    db.session.execute(sa.delete(PageGeneration))
    db.session.execute(sa.insert(PageGeneration), [{"id": i, "value": v} for i, v in rows])
    db.session.connection().info.pop("pagecache.wrote", None)
    db.session.commit()
    assert _generation() == generation
    response = pupil.get(HOME)
    assert response.status_code == 302 and "/login" in response.location


def test_a_flashed_message_is_shown_once_and_its_page_not_kept(world, pupil):
    pagecache.clear()
    with pupil.session_transaction() as session:
        session["_flashes"] = [("success", "Gespeichert-Test")]
    with_message, _ = _served(pupil)
    assert "Gespeichert-Test" in with_message
    after, statements = _served(pupil)
    assert "Gespeichert-Test" not in after
    assert statements > 1  # the page with the message was not kept; this one is new


def test_a_new_day_renders_again(pupil, monkeypatch):
    _served(pupil)
    tomorrow = progress.current_date() + dt.timedelta(days=1)
    monkeypatch.setattr(progress, "current_date", lambda: tomorrow)
    _html, statements = _served(pupil)
    assert statements > 1


def test_a_kept_page_expires(pupil, monkeypatch):
    _served(pupil)
    later = pagecache.time.monotonic() + current_app.config["PAGE_CACHE_SECONDS"] + 1
    monkeypatch.setattr(pagecache.time, "monotonic", lambda: later)
    _html, statements = _served(pupil)
    assert statements > 1


def test_no_generation_no_kept_page(pupil):
    db.session.execute(sa.delete(PageGeneration))
    # (The DELETE was a write: its COMMIT makes the row again. Remove it without one.)
    db.session.commit()
    db.session.execute(sa.delete(PageGeneration))
    db.session.connection().info.pop("pagecache.wrote", None)
    db.session.commit()
    assert _generation() is None
    _served(pupil)
    _html, statements = _served(pupil)
    assert statements > 1


def test_off_when_the_size_is_zero(pupil, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_SIZE", 0)
    _served(pupil)
    _html, statements = _served(pupil)
    assert statements > 1


def test_least_recently_used_pages_go_first(world, app, pupil, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_SIZE", 1)
    _served(pupil)
    classmate = app.test_client()
    assert login(classmate, world.classmate.username).status_code == 302
    _served(classmate)  # takes the only place
    _html, statements = _served(pupil)
    assert statements > 1


def test_the_generation_table_appears_and_goes_with_migrations(tmp_path):
    """Before its migration the table is missing: writes commit as before. A connection
    that ran DDL asks again whether it exists (made, or dropped by a downgrade)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'generation.db'}")
    pagecache.watch(engine)

    def value():
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT sum(value) FROM page_generation")).scalar()

    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE probe (id INTEGER)"))
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO probe VALUES (1)"))  # no table yet: no error
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE page_generation (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)")
        )
    first = value()
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO probe VALUES (2)"))
    second = value()
    assert first is not None and second is not None and first != second
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE page_generation"))
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO probe VALUES (3)"))  # the table is gone: no error
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM probe")).scalar() == 3
    engine.dispose()


def test_a_write_whose_generation_cannot_change_is_not_committed(world, monkeypatch):
    """The new generation is part of the transaction: if it cannot be written, nothing
    is committed (no kept page can outlive the write), and the error is SQLAlchemy's, as
    for any statement (a lost connection: portfolio/resilience.py runs the request again)."""
    dialect = db.engine.dialect.name
    monkeypatch.setitem(pagecache._BUMP, dialect, "UPDATE no_such_table SET value = 1")
    db.session.get(User, world.pupil.id).first_name = "Lost"
    with pytest.raises(sa.exc.DBAPIError):
        db.session.commit()
    db.session.rollback()
    monkeypatch.undo()
    assert db.session.get(User, world.pupil.id).first_name == "Paula"
