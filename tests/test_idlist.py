"""Lists of ids as one parameter (portfolio/idlist.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from portfolio import idlist
from portfolio.extensions import db
from portfolio.models import User

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: A process as a web worker starts (wsgi.py: create_app, then requests), counting the
#: lists psycopg's own list dumper writes.
_WORKER = """
import sys
from psycopg.types import array
written = []
original = array.ListDumper.dump
def dump(self, obj):
    written.append(len(obj))
    return original(self, obj)
array.ListDumper.dump = dump
from portfolio import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "x" * 32})
with app.app_context():
    import sqlalchemy as sa
    from portfolio import idlist
    from portfolio.extensions import db
    from portfolio.models import User
    for n in (3, 1500):
        found = db.session.scalars(
            sa.select(User.id).where(idlist.match(User.id, list(range(1, n + 1))))
        ).all()
print(written)
"""


def test_a_list_of_ids_finds_exactly_those(world):
    ids = [world.pupil.id, world.classmate.id, 10**9]
    found = db.session.scalars(sa.select(User.id).where(idlist.match(User.id, ids))).all()
    assert sorted(found) == sorted([world.pupil.id, world.classmate.id])
    assert db.session.scalars(sa.select(User.id).where(idlist.match(User.id, []))).all() == []


def test_a_web_worker_sends_lists_of_ids_in_one_piece(app, tmp_path):
    """psycopg's list dumper inspects every id (1.5 ms for 1,500); ours writes the array
    at once. It must be ours in a process started as gunicorn starts one."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("an int4[] parameter: PostgreSQL only")
    url = db.engine.url.render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTFOLIO_")}
    env["INSTANCE_PATH"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _WORKER, url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
