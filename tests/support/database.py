"""The test database: SQLite in a temporary folder, or TEST_DATABASE_URL (PostgreSQL).

`make test` runs the suite once on each. Parallel workers (pytest-xdist) each get a
database of their own on the PostgreSQL server.
"""

from __future__ import annotations

import os
import tempfile

import sqlalchemy as sa

from portfolio.extensions import db

#: One temporary folder per test process: the SQLite file, the instance folder, uploads.
TMP_DIR = tempfile.mkdtemp(prefix="bwp-test-")

_WORKER_URL: dict[str, str] = {}


def database_url() -> str:
    """SQLite in TMP_DIR, or TEST_DATABASE_URL; an xdist worker gets its own database."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{os.path.join(TMP_DIR, 'test.db')}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    if worker not in _WORKER_URL:
        from tests.support import pgserver

        _WORKER_URL[worker] = pgserver.create_database(
            url, f"portfolio_test_{worker}", replace=True
        )
    return _WORKER_URL[worker]


def separate_database_url(folder, name: str) -> str:
    """A fresh database of its own, e.g. for migrating up and down: a SQLite file in
    `folder`, or a new database `name` on the TEST_DATABASE_URL server."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{os.path.join(str(folder), name + '.db')}"
    from tests.support import pgserver

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return pgserver.create_database(url, f"{name}_{worker}", replace=True)


def reset_schema() -> None:
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


def empty_tables() -> None:
    """Delete every row of every table (the schema stays)."""
    tables = [t for t in db.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(tables):
            db.session.execute(table.delete())
    db.session.commit()
