"""Fixtures: the app (one per test session), both databases, clients, a world of users.

The database is SQLite unless TEST_DATABASE_URL names a PostgreSQL database
(`make test` runs the suite once on each). The schema is built by the Alembic
migrations, so every test run also proves that they apply.
"""

from __future__ import annotations

import os
import sys
import tempfile
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))

from portfolio import accounts, create_app
from portfolio.extensions import db, limiter
from portfolio.models import Consent, ConsentPurpose, Role

PASSWORD = "Test-Password-123"
_TMP = tempfile.mkdtemp(prefix="bwp-test-")


_WORKER_URL: dict[str, str] = {}


def database_url() -> str:
    """SQLite in a temporary folder, or TEST_DATABASE_URL (PostgreSQL). Parallel workers
    (pytest-xdist) each get a database of their own on that server."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{os.path.join(_TMP, 'test.db')}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    if worker not in _WORKER_URL:
        import pgserver

        _WORKER_URL[worker] = pgserver.create_database(
            url, f"portfolio_test_{worker}", replace=True
        )
    return _WORKER_URL[worker]


def pytest_report_header(config):
    url = sa.engine.make_url(database_url())
    return f"database: {url.get_backend_name()} ({url.render_as_string(hide_password=True)})"


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context (fresh `g` and
    database session), as in production, although the test itself holds one."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app():
    os.environ.setdefault("INSTANCE_PATH", os.path.join(_TMP, "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": database_url(),
            "WTF_CSRF_ENABLED": False,
            "UPLOAD_FOLDER": os.path.join(_TMP, "uploads"),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "RATELIMIT_STORAGE_URI": "memory://",
            "SERVER_NAME": None,
            # Tests read English messages unless they ask for a language; the app's
            # default (German) is tested in tests/test_i18n.py.
            "BABEL_DEFAULT_LOCALE": "en",
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        _reset_schema()
        from flask_migrate import upgrade

        upgrade()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _reset_schema() -> None:
    """Start from an empty database (the PostgreSQL one is reused between runs)."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
    else:
        path = engine.url.database
        engine.dispose()
        if path and os.path.exists(path):
            os.remove(path)


def _empty_tables() -> None:
    tables = [t for t in db.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(tables):
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(autouse=True)
def _clean(app):
    """Each test runs in an app context and leaves empty tables behind."""
    ctx = app.app_context()
    ctx.push()
    try:
        yield
    finally:
        db.session.rollback()
        db.session.remove()
        _empty_tables()
        db.session.remove()
        limiter.reset()
        app.config["WTF_CSRF_ENABLED"] = False
        ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def csrf_enabled(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def login(client, username: str, password: str = PASSWORD, follow: bool = False):
    return client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=follow
    )


@pytest.fixture
def client_for(app):
    """client_for(user) -> a test client logged in as that user."""

    def make(user):
        c = app.test_client()
        response = login(c, user.username)
        assert response.status_code == 302, f"login of {user.username} failed"
        return c

    return make


def _user(school, roles, first, last, *, cls=None, **kw):
    user, _pw = accounts.create_user(
        school,
        roles=roles,
        first_name=first,
        last_name=last,
        password=PASSWORD,
        must_change_password=False,
        **kw,
    )
    if cls is not None:
        accounts.put_in_class(user, cls)
    return user


def build_world():
    """Two schools and every kind of visitor of issue 8's access matrix."""
    w = SimpleNamespace()
    w.school = accounts.create_school("Realschule Testdorf", "100001", "Realschule", "Siegen")
    w.other_school = accounts.create_school("Gymnasium Anderswo", "100002", "Gymnasium", "Olpe")
    w.class_9a = accounts.get_or_create_class(w.school, "9a")
    w.class_9b = accounts.get_or_create_class(w.school, "9b")
    w.class_other = accounts.get_or_create_class(w.other_school, "9a")

    w.pupil = _user(w.school, [Role.PUPIL], "Paula", "Pupil", cls=w.class_9a, username="paula")
    w.classmate = _user(
        w.school, [Role.PUPIL], "Carl", "Classmate", cls=w.class_9a, username="carl"
    )
    w.pupil_9b = _user(w.school, [Role.PUPIL], "Berta", "Nine-B", cls=w.class_9b, username="berta")
    w.other_pupil = _user(
        w.other_school, [Role.PUPIL], "Otto", "Other", cls=w.class_other, username="otto"
    )
    w.teacher = _user(w.school, [Role.TEACHER], "Tina", "Teacher", username="tina")
    accounts.assign_teacher(w.teacher, w.class_9a)
    w.teacher_9b = _user(w.school, [Role.TEACHER], "Bernd", "Teacher", username="bernd")
    accounts.assign_teacher(w.teacher_9b, w.class_9b)
    w.other_teacher = _user(w.other_school, [Role.TEACHER], "Olga", "Teacher", username="olga")
    accounts.assign_teacher(w.other_teacher, w.class_other)
    w.stubo = _user(w.school, [Role.STUBO], "Stefan", "Stubo", username="stefan")
    w.counsellor = _user(w.school, [Role.COUNSELLOR], "Conny", "Consent", username="conny")
    accounts.assign_counsellor(w.counsellor, w.pupil)
    w.counsellor_no_consent = _user(
        w.school, [Role.COUNSELLOR], "Nora", "Noconsent", username="nora"
    )
    accounts.assign_counsellor(w.counsellor_no_consent, w.classmate)
    w.counsellor_unassigned = _user(
        w.school, [Role.COUNSELLOR], "Uwe", "Unassigned", username="uwe"
    )
    w.guardian = _user(w.school, [Role.GUARDIAN], "Gabi", "Guardian", username="gabi")
    accounts.link_guardian(w.guardian, w.pupil)
    w.other_guardian = _user(w.school, [Role.GUARDIAN], "Hans", "Guardian", username="hans")
    accounts.link_guardian(w.other_guardian, w.classmate)
    w.admin = _user(w.school, [Role.ADMIN], "Anna", "Admin", username="anna")
    db.session.flush()
    # Consent for counsellor access to the pupil (not to the classmate).
    db.session.add(
        Consent(
            school_id=w.school.id,
            pupil_id=w.pupil.id,
            purpose=ConsentPurpose.COUNSELLOR_ACCESS.value,
            given_by_id=w.guardian.id,
            given_by_role="guardian",
        )
    )
    db.session.commit()
    return w


@pytest.fixture
def world(app):
    return build_world()
