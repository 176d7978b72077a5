"""`flask backup`: a consistent copy of the database and of the uploaded files.

SQLite: SQLite's online backup API. PostgreSQL: `pg_dump -Fc` run on a snapshot that the
app's own connection exports, so that the manifest's row counts and list of documents are
exactly those of the dump. Connection settings reach pg_dump as PG* environment variables:
not as a URL on its command line (where `ps` shows the password), and not in the SQLAlchemy
form `postgresql+psycopg://` that the app accepts and libpq does not (a plain
`pg_dump "$DATABASE_URL"` fails with it). The database is copied before the files: a file
uploaded in between is then an unused extra in the backup, never a missing one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from portfolio.extensions import db
from portfolio.models import utcnow

# libpq's environment variables for the query parameters a DATABASE_URL may carry.
_LIBPQ_PARAMETERS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "host": "PGHOST",  # ?host=/var/run/postgresql: a Unix socket
    "port": "PGPORT",
}


class BackupError(RuntimeError):
    """Why a backup cannot be made."""


def make_backup(out_dir: str | os.PathLike[str], now: dt.datetime | None = None) -> Path:
    """Copy the database and the upload folder to `out_dir/backup-YYYYmmdd-HHMMSS/`
    (mode 0700) with a manifest.json; returns that folder."""
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        copy = _copy_sqlite
    elif dialect == "postgresql":
        copy = _dump_postgresql
    else:
        raise BackupError(f"No backup for a {dialect} database.")
    stamp = (now or utcnow()).strftime("%Y%m%d-%H%M%S")
    target = Path(out_dir).resolve() / f"backup-{stamp}"
    if target.exists():
        raise BackupError(f"{target} exists already.")
    target.mkdir(parents=True, mode=0o700)
    try:
        database, keys, counts = copy(target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    uploads = Path(current_app.config["UPLOAD_FOLDER"])
    copy_dir = target / "uploads"
    if uploads.is_dir():
        shutil.copytree(uploads, copy_dir, ignore=shutil.ignore_patterns("*.part"))
    else:
        copy_dir.mkdir()
    manifest = {
        "created_at": (now or utcnow()).isoformat(),
        "database": database,
        "uploads": "uploads/",
        "rows": counts,
        "documents": len(keys),
        "missing_files": [k for k in keys if not (copy_dir / k[:2] / k).is_file()],
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return target


def _copy_sqlite(target: Path) -> tuple[str, list[str], dict[str, int]]:
    source = db.engine.url.database
    if not source or source == ":memory:" or not os.path.exists(source):
        raise BackupError(f"The SQLite database file {source!r} does not exist.")
    db_copy = target / "portfolio.db"
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(db_copy)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()
    os.chmod(db_copy, 0o600)
    check = sqlite3.connect(f"file:{db_copy}?mode=ro", uri=True)
    try:
        keys = [row[0] for row in check.execute("SELECT storage_key FROM document")]
        counts = {
            name: check.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for (name,) in check.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    finally:
        check.close()
    return db_copy.name, keys, counts


def libpq_environment(url: sa.engine.URL | str) -> dict[str, str]:
    """PG* variables for pg_dump/pg_restore/psql from the app's database URL (any of the
    forms it accepts: postgres://, postgresql://, postgresql+psycopg://)."""
    url = sa.engine.make_url(url) if isinstance(url, str) else url
    env = {}
    for name, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value not in (None, ""):
            env[name] = str(value)
    for key, value in url.query.items():
        if key in _LIBPQ_PARAMETERS:
            env[_LIBPQ_PARAMETERS[key]] = value if isinstance(value, str) else value[-1]
    return env


def _dump_postgresql(target: Path) -> tuple[str, list[str], dict[str, int]]:
    pg_dump = os.environ.get("PG_DUMP") or shutil.which("pg_dump")
    if not pg_dump:
        raise BackupError(
            "pg_dump is not installed (Debian: apt-get install postgresql-client, the "
            "version of the server or newer); or set PG_DUMP to its path."
        )
    dump = target / "portfolio.dump"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PG")},
        **libpq_environment(db.engine.url),
    }
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            # pg_dump sees exactly this transaction's snapshot, as do the counts below.
            snapshot = conn.scalar(sa.text("SELECT pg_export_snapshot()"))
            keys = list(conn.scalars(sa.text("SELECT storage_key FROM document")))
            counts = {
                name: conn.scalar(sa.text(f'SELECT count(*) FROM "{name}"'))
                for name in sa.inspect(conn).get_table_names()
            }
            result = subprocess.run(
                [pg_dump, "-Fc", "--no-owner", f"--snapshot={snapshot}", "-f", str(dump)],
                env=env,
                capture_output=True,
                text=True,
                timeout=3600,
                check=False,
            )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    os.chmod(dump, 0o600)
    return dump.name, keys, counts
