"""Fixtures: the app (one per test session), both databases, clients, a world of users.

The database is SQLite unless TEST_DATABASE_URL names a PostgreSQL database
(`make test` runs the suite once on each). The schema is built by the Alembic
migrations, so every test run also proves that they apply. Helpers shared by the tests
live in `tests/support/` (`from tests.support.world import login, PASSWORD`, ...).
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from portfolio import create_app, pagecache
from portfolio.extensions import db, limiter
from portfolio.jobs.queue import get_huey
from tests.support.database import TMP_DIR, database_url, empty_tables, reset_schema
from tests.support.world import build_world, everyone_reads_english, login


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
    os.environ.setdefault("INSTANCE_PATH", os.path.join(TMP_DIR, "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": database_url(),
            "WTF_CSRF_ENABLED": False,
            "UPLOAD_FOLDER": os.path.join(TMP_DIR, "uploads"),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "RATELIMIT_STORAGE_URI": "memory://",
            "SERVER_NAME": None,
            # Tests read English messages unless they ask for a language; the app's
            # default (German) is tested in tests/test_i18n.py.
            "BABEL_DEFAULT_LOCALE": "en",
            # Jobs wait in memory until a test runs them (tests/support/jobs.py);
            # tests/test_jobs_worker.py starts real workers on a SQLite queue.
            "JOBS_URL": "memory://",
            "JOBS_RESULT_FOLDER": os.path.join(TMP_DIR, "job-results"),
            "EXPORT_WORKERS": 1,  # class ZIPs in-process; the CLI test uses a pool
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        reset_schema()
        from flask_migrate import upgrade

        upgrade()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


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
        empty_tables()
        db.session.remove()
        limiter.reset()
        pagecache.clear()
        get_huey(app).flush()
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


@pytest.fixture
def client_for(app):
    """client_for(user) -> a test client logged in as that user."""

    def make(user):
        c = app.test_client()
        response = login(c, user.username)
        assert response.status_code == 302, f"login of {user.username} failed"
        return c

    return make


@pytest.fixture
def world(app):
    return build_world()


@pytest.fixture
def english_users(world):
    """Every user of the world reads English (for assertions on English text)."""
    everyone_reads_english()


@pytest.fixture
def english_locale(app):
    """The test's own app context speaks English (services that render text)."""
    from flask import g

    g.force_locale = "en"


@pytest.fixture
def smtp_server(app):
    """A real SMTP server (aiosmtpd) that the app sends to; `.inbox` holds what arrived."""
    from tests.support.smtp import SMTPServer, mail_settings

    server = SMTPServer().start()
    settings = mail_settings(server)
    saved = {key: app.config.get(key) for key in settings}
    app.config.update(settings)
    try:
        yield server
    finally:
        server.stop()
        app.config.update(saved)
