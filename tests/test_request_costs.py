"""What every page costs beside its own work, and that what is read once stays correct.

* The navigation's figures (unread news, "My downloads") come with the statement that loads
  the logged-in user (auth.services.preloaded): a new notice or job shows on the next page,
  and a page that wrote (the News page marks its notices read) asks the database again.
* A school's standard elements are kept per process under the school's elements_version
  (progress.elements_for_school): every change gives the school a new version, so another
  process (here: a second app instance with a cache of its own) shows the change on its
  next request, and a change that is rolled back leaves nothing behind.
* A rendered template lets go of what the view gave it at once, not when the garbage
  collector comes by (main/template_helpers.Template).
"""

from __future__ import annotations

import contextlib
import gc
import secrets
import weakref

import pytest
import sqlalchemy as sa

from portfolio import create_app, progress, transaction
from portfolio.auth import services as auth_services
from portfolio.extensions import db
from portfolio.models import (
    AuditEvent,
    Entry,
    Job,
    LoginSession,
    Notification,
    School,
    StandardElement,
)
from portfolio.notifications import services as news
from tests.support.queries import count_queries
from tests.support.world import login

NAV_BADGE = "bwp-nav__count"


def _page(client, url="/portfolio/timeline") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _notice(user) -> None:
    db.session.add(
        Notification(
            school_id=user.school_id, user_id=user.id, kind="steps_reminder", pupil_id=user.id
        )
    )
    db.session.commit()


# -- the navigation's figures ---------------------------------------------------------------
def test_the_navigation_needs_no_statement_of_its_own(world, client_for):
    c = client_for(world.pupil)
    _page(c)
    with count_queries() as statements:
        _page(c, "/datenschutz")
    # The logged-in user with roles, school, unread news and jobs: one statement.
    assert len(statements) == 1, statements


def test_a_new_notice_raises_the_count_on_the_next_page(world, client_for):
    c = client_for(world.pupil)
    assert NAV_BADGE not in _page(c)
    _notice(world.pupil)
    page = _page(c)
    assert NAV_BADGE in page and "(1 unread)" in page
    _notice(world.pupil)
    assert "(2 unread)" in _page(c)


def test_the_news_page_marks_read_and_the_next_page_counts_again(world, client_for):
    c = client_for(world.pupil)
    _notice(world.pupil)
    assert "(1 unread)" in _page(c)
    assert "(1 unread)" in _page(c, "/news/")  # shown as it was, then marked read
    assert NAV_BADGE not in _page(c)


def _login_session(user) -> str:
    """A server-side login session of `user`: its token, as the session cookie names it."""
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(token=token, user_id=user.id))
    db.session.commit()
    return token


def test_figures_read_with_the_user_are_not_used_after_a_write(world, app):
    _notice(world.pupil)
    token = _login_session(world.pupil)
    with app.app_context(), app.test_request_context():
        user = auth_services.load_user_from_session(token)
        assert auth_services.preloaded(user, "unread_news") == 1
        assert auth_services.preloaded(user, "has_jobs") is False
        db.session.add(
            Notification(school_id=user.school_id, user_id=user.id, kind="steps_reminder")
        )
        db.session.flush()
        # This request wrote: what was read with the user may be out of date.
        assert auth_services.preloaded(user, "unread_news") is None
        assert news.unread_count(user) == 2
        db.session.rollback()


def test_a_write_elsewhere_keeps_the_figures_a_write_to_them_does_not(world, app):
    """Only writes to what a figure counts make it out of date: an entry does not change
    the news count, a notice does; a statement whose table is not known changes all."""
    _notice(world.pupil)
    token = _login_session(world.pupil)
    with app.app_context(), app.test_request_context():
        user = auth_services.load_user_from_session(token)
        db.session.add(Entry(school_id=user.school_id, pupil_id=user.id, kind="strengths"))
        db.session.flush()
        assert transaction.has_writes()
        assert auth_services.preloaded(user, "unread_news") == 1
        assert auth_services.preloaded(user, "has_jobs") is False
        # An UPDATE that matched nothing is no write; one that matched is.
        db.session.execute(
            sa.update(Notification).where(Notification.id == -1).values(read_at=sa.func.now())
        )
        assert auth_services.preloaded(user, "unread_news") == 1
        db.session.execute(
            sa.update(Notification)
            .where(Notification.user_id == user.id)
            .values(read_at=sa.func.now())
        )
        assert auth_services.preloaded(user, "unread_news") is None
        assert auth_services.preloaded(user, "has_jobs") is False
        assert news.unread_count(user) == 0
        db.session.rollback()

        user = auth_services.load_user_from_session(token)
        db.session.add(Job(school_id=user.school_id, user_id=user.id, kind="class_zip"))
        assert auth_services.preloaded(user, "has_jobs") is None  # pending, not yet flushed
        assert auth_services.preloaded(user, "unread_news") == 1
        db.session.rollback()

        user = auth_services.load_user_from_session(token)
        db.session.execute(sa.text("UPDATE entry SET title = title WHERE id = -1"))
        assert auth_services.preloaded(user, "unread_news") is None  # (text: table unknown)
        assert auth_services.preloaded(user, "has_jobs") is None
        db.session.rollback()


def test_a_staff_page_that_records_its_view_reads_no_figure_again(world, client_for):
    """The staff pupil page writes an audit event (and marks news read: with nothing
    unread, no statement for it): the navigation's figures and the school's elements
    read at the start still hold."""
    c = client_for(world.teacher)
    page = f"/review/pupils/{world.pupil.id}"
    _page(c, page)
    before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    with count_queries() as statements:
        _page(c, page)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before + 1
    again = [s for s in statements if "login_session" not in s]  # (the user's statement)
    assert not [s for s in again if "FROM job" in s or "count(notification.id)" in s]
    assert not [s for s in again if "FROM standard_element" in s]
    # Nothing unread: nothing to mark read, and no statement for it.
    assert not [s for s in again if "UPDATE notification" in s]
    # A notice about this pupil is marked read by the view: the count is read again.
    db.session.add(
        Notification(
            school_id=world.school.id,
            user_id=world.teacher.id,
            kind="pa_consent_given",  # (leads to the pupil's page: read there)
            pupil_id=world.pupil.id,
        )
    )
    db.session.commit()
    with count_queries() as statements:
        html = _page(c, page)
    again = [s for s in statements if "login_session" not in s]
    assert [s for s in again if "UPDATE notification" in s]
    assert [s for s in again if "count(notification.id)" in s]
    assert NAV_BADGE not in html
    assert db.session.scalar(sa.select(Notification.read_at)) is not None


def test_a_new_job_shows_my_downloads_on_the_next_page(world, client_for):
    c = client_for(world.teacher)
    assert "My downloads" not in _page(c, "/datenschutz")
    db.session.add(Job(school_id=world.school.id, user_id=world.teacher.id, kind="class_zip"))
    db.session.commit()
    assert "My downloads" in _page(c, "/datenschutz")
    db.session.execute(sa.delete(Job))
    db.session.commit()
    assert "My downloads" not in _page(c, "/datenschutz")


def test_figures_of_another_user_are_never_used(world, client_for):
    _notice(world.classmate)
    _notice(world.classmate)
    page = _page(client_for(world.pupil))
    assert NAV_BADGE not in page
    assert "(2 unread)" in _page(client_for(world.classmate))


# -- the school's standard elements ------------------------------------------------------------
@contextlib.contextmanager
def _process(kept: dict):
    """Run as another app process: the elements it keeps are its own."""
    saved = progress._KEPT_ELEMENTS
    progress._KEPT_ELEMENTS = kept
    try:
        yield
    finally:
        progress._KEPT_ELEMENTS = saved


class _OwnContextClient:
    """A client of another app instance: each request in an app context of that app."""

    def __init__(self, app, username):
        self.app = app
        self.client = app.test_client()
        with app.app_context():
            assert login(self.client, username).status_code == 302

    def get(self, url):
        with self.app.app_context():
            return self.client.get(url)


@pytest.fixture
def second_app(app):
    keys = (
        "TESTING",
        "SECRET_KEY",
        "SQLALCHEMY_DATABASE_URI",
        "WTF_CSRF_ENABLED",
        "UPLOAD_FOLDER",
        "PASSWORD_HASH_METHOD",
        "RATELIMIT_STORAGE_URI",
        "BABEL_DEFAULT_LOCALE",
        "JOBS_URL",
        "JOBS_RESULT_FOLDER",
    )
    other = create_app({k: app.config[k] for k in keys})
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def _add_element(school_id, name, key="schnuppertag") -> None:
    db.session.add(
        StandardElement(school_id=school_id, key=key, name=name, grades="9", position=99)
    )


def test_another_process_shows_a_new_element_on_its_next_request(world, client_for, second_app):
    process_a, process_b = {}, {}
    a = client_for(world.pupil)
    b = _OwnContextClient(second_app, world.pupil.username)
    with _process(process_a):
        assert "Schnuppertag im Rathaus" not in _page(a)
    with _process(process_b):
        assert "Schnuppertag im Rathaus" not in _page(b)
        # Process B writes (as a request or a command there would).
        with second_app.app_context():
            with transaction.atomic():
                _add_element(world.school.id, "Schnuppertag im Rathaus")
        assert "Schnuppertag im Rathaus" in _page(b)
    assert process_a[world.school.id][1]  # A still keeps the old elements...
    with _process(process_a):
        assert "Schnuppertag im Rathaus" in _page(a)  # ...and sees they are out of date


def test_changed_and_deactivated_elements_show_at_once(world, client_for):
    c = client_for(world.pupil)
    assert "Praktikum beim Bäcker" not in _page(c)
    element = db.session.scalar(
        sa.select(StandardElement).where(
            StandardElement.school_id == world.school.id, StandardElement.key == "praktikum"
        )
    )
    element.name = "Praktikum beim Bäcker"
    db.session.commit()
    assert "Praktikum beim Bäcker" in _page(c)
    element.active = False
    db.session.commit()
    assert "Praktikum beim Bäcker" not in _page(c)


def test_a_change_in_bulk_shows_at_once(world, client_for):
    c = client_for(world.pupil)
    _page(c)
    db.session.execute(
        sa.update(StandardElement)
        .where(StandardElement.school_id == world.school.id, StandardElement.key == "praktikum")
        .values(name="Praktikum im Sägewerk")
    )
    db.session.commit()
    assert "Praktikum im Sägewerk" in _page(c)


def test_a_change_rolled_back_leaves_nothing_behind(world, client_for):
    c = client_for(world.pupil)
    _page(c)
    before = db.session.get(School, world.school.id).elements_version
    _add_element(world.school.id, "Nie gespeichert")
    db.session.flush()
    # The writing transaction sees its own change, under a version nobody else sees.
    assert "Nie gespeichert" in {el.name for el in progress.elements_for_school(world.school.id)}
    db.session.rollback()
    assert db.session.get(School, world.school.id).elements_version == before
    assert "Nie gespeichert" not in _page(c)


def test_elements_are_read_once_per_process_and_version(world, client_for):
    c = client_for(world.pupil)
    _page(c)
    with count_queries() as statements:
        _page(c)
    assert not [s for s in statements if "FROM standard_element" in s]
    _add_element(world.other_school.id, "Anderswo")  # another school's change
    db.session.commit()
    with count_queries() as statements:
        _page(c)
    assert not [s for s in statements if "FROM standard_element" in s]


# -- prepared statements (PostgreSQL) ----------------------------------------------------------
def test_connections_keep_their_prepared_statements_through_a_rollback(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements: PostgreSQL only")
    engine = sa.create_engine(db.engine.url, pool_size=1, max_overflow=0)
    query = sa.select(School.id).where(School.schulnummer == sa.bindparam("nr"))
    try:
        for _ in range(7):  # psycopg prepares on the fifth run; each run ends in a ROLLBACK
            with engine.connect() as conn:
                conn.execute(query, {"nr": "000000"}).all()
                conn.rollback()
        with engine.connect() as conn:
            prepared = conn.exec_driver_sql(
                "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %(q)s",
                {"q": "%FROM school%schulnummer%"},
            ).all()
            assert len(prepared) == 1, prepared
            conn.rollback()
    finally:
        engine.dispose()


# -- templates ------------------------------------------------------------------------------
class _Rows(list):
    """What a view hands to a template (a list that can be watched with a weak reference)."""


def test_a_rendered_template_lets_go_of_the_page_data_at_once(app):
    """A template that defines macros holds its context in a reference cycle; the context
    is emptied after rendering, so the rows die with their last reference instead of
    waiting for a garbage collection (which walks every young object of the process)."""
    from flask import render_template_string

    source = (
        "{% macro row(r) %}<li>{{ _(r) }}</li>{% endmacro %}"
        "<ul>{% for r in rows %}{{ row(r) }}{% endfor %}</ul>"
    )
    rows = _Rows(["Ada", "Ben"])
    alive = weakref.ref(rows)
    gc.collect()
    gc.disable()
    try:
        with app.test_request_context():
            html = render_template_string(source, rows=rows)
        del rows
        assert html == "<ul><li>Ada</li><li>Ben</li></ul>"
        assert alive() is None
    finally:
        gc.enable()
