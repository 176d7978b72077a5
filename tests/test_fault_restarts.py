"""Fault test: PostgreSQL restarts again and again under a stream of creates and edits.

The production setup in small: gunicorn (two workers, gthread) serves `wsgi:app` against a
throwaway PostgreSQL of its own (tests/support/pgserver.py; never the suite's server, which
other test processes use meanwhile). Pupils, one client thread each, create reflections
and edit them through the real forms, CSRF token and submission key included, as a browser
does: a 503 answer makes them send the same form again. Meanwhile PostgreSQL is restarted
over and over, alternately with `pg_ctl restart -m fast` (sessions terminated) and
`-m immediate` (a crash, recovery from the WAL), some with the database down for a while.

Afterwards, from the database: no create stored twice, no edit answered "changed
elsewhere" (409: each pupil edits only their own entries, one after the other, so any 409
is false), and every acknowledged write is what the database holds.

    FAULT_TEST=1 .venv/bin/python -m pytest -q -s tests/test_fault_restarts.py   # the figures
    FAULT_TEST=1 FAULT_RESTARTS=20 FAULT_CLIENTS=6 .venv/bin/python -m pytest -q -s \
        tests/test_fault_restarts.py
"""

from __future__ import annotations

import http.client
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import pytest
import sqlalchemy as sa

from tests.support.world import PASSWORD

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")
RESTARTS = int(os.environ.get("FAULT_RESTARTS", "8"))
CLIENTS = int(os.environ.get("FAULT_CLIENTS", "4"))
SECRET = "fault-test-secret-key-not-for-production"
FIELD = re.compile(r'<input[^>]*name="(csrf_token|submission_key|version)"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')


def _have_postgres() -> bool:
    try:
        from tests.support import pgserver

        pgserver.find_bindir()
    except Exception:  # noqa: BLE001
        return False
    return True


pytestmark = [
    pytest.mark.slow,
    # It starts a PostgreSQL of its own: part of the PostgreSQL pass of `make test`, not of
    # `make test-quick` (SQLite only). FAULT_TEST=1 runs it anywhere.
    pytest.mark.skipif(
        not (os.environ.get("TEST_DATABASE_URL") or os.environ.get("FAULT_TEST")),
        reason="runs with TEST_DATABASE_URL (the PostgreSQL pass) or FAULT_TEST=1",
    ),
    pytest.mark.skipif(not os.path.exists(GUNICORN), reason="gunicorn is not installed"),
    pytest.mark.skipif(not _have_postgres(), reason="PostgreSQL server binaries not found"),
]


# -- a browser, small ---------------------------------------------------------------------
class Browser:
    """Cookies, forms and redirects by hand (http.client), one request at a time."""

    def __init__(self, port: int, stats: Stats) -> None:
        self.port, self.stats = port, stats
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, form: dict | None = None):
        body = urlencode(form) if form is not None else None
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        self.stats.count(method, response.status)
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                cookie = rest.split(";", 1)[0]
                if cookie and "Max-Age=0" not in value:
                    self.cookies[key] = cookie
                else:
                    self.cookies.pop(key, None)
        location = response.getheader("Location") or ""
        return response.status, urlsplit(location).path, text

    def form(self, path: str) -> dict[str, str]:
        """GET a page with a form: its hidden fields (CSRF token, submission key, version)."""
        for _attempt in range(10):
            status, _location, html = self.send("GET", path)
            if status == 200:
                return {
                    m.group(1): VALUE.search(m.group(0)).group(1)
                    for m in FIELD.finditer(html)
                    if VALUE.search(m.group(0))
                }
            time.sleep(1)  # the server said 503 after waiting: look again, as a person would
        raise AssertionError(f"GET {path} kept failing ({status})")

    def submit(self, path: str, form: dict) -> tuple[int, str]:
        """POST a form; on 503 send the very same form again (same submission key)."""
        for _attempt in range(10):
            status, location, _html = self.send("POST", path, form)
            if status != 503:
                return status, location
            self.stats.resent += 1
            time.sleep(1)
        return status, location


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: Counter = field(default_factory=Counter)
    resent: int = 0
    false_conflicts: int = 0
    unexpected: list = field(default_factory=list)

    def count(self, method: str, status: int) -> None:
        with self.lock:
            self.requests[(method, status)] += 1


@dataclass
class Pupil:
    username: str
    #: text of each acknowledged create -> entry id; entry id -> last acknowledged text
    created: dict[str, int] = field(default_factory=dict)
    latest: dict[int, str] = field(default_factory=dict)


def _work(browser: Browser, pupil: Pupil, stop: threading.Event, stats: Stats) -> None:
    login = browser.form("/login")
    status, _ = browser.submit(
        "/login", {**login, "username": pupil.username, "password": PASSWORD}
    )
    assert status == 302, f"login of {pupil.username}: {status}"
    n = 0
    while not stop.is_set():
        n += 1
        text = f"{pupil.username} Eintrag {n}"
        form = browser.form("/portfolio/kind/reflection/new")
        status, location = browser.submit(
            "/portfolio/kind/reflection/new", {**form, "title": text, "text": text}
        )
        if status != 302 or not location.startswith("/portfolio/entry/"):
            stats.unexpected.append(("create", status, location))
            continue
        entry_id = int(location.rsplit("/", 1)[1])
        pupil.created[text] = entry_id
        pupil.latest[entry_id] = text
        for edit in range(2):
            new_text = f"{text}, Fassung {edit + 2}"
            form = browser.form(f"/portfolio/entry/{entry_id}/edit")
            status, location = browser.submit(
                f"/portfolio/entry/{entry_id}/edit", {**form, "title": text, "text": new_text}
            )
            if status == 409:
                stats.false_conflicts += 1
            elif status == 302:
                pupil.latest[entry_id] = new_text
            else:
                stats.unexpected.append(("edit", status, location))


# -- the server -------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(url: str, instance: str, usernames: list[str]) -> None:
    """Schema and accounts, made in this process with the app's own code."""
    from flask_migrate import upgrade

    from portfolio import accounts, create_app, transaction
    from portfolio.extensions import db
    from portfolio.models import Role

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "UPLOAD_FOLDER": os.path.join(instance, "uploads"),
        }
    )
    with app.app_context():
        upgrade()
        with transaction.atomic():
            school = accounts.create_school("Fehlerschule", "199999", "Realschule", "Siegen")
            cls = accounts.get_or_create_class(school, "9a")
            for username in usernames:
                user, _pw = accounts.create_user(
                    school,
                    roles=[Role.PUPIL],
                    first_name=username.title(),
                    last_name="Test",
                    username=username,
                    password=PASSWORD,
                    must_change_password=False,
                )
                accounts.put_in_class(user, cls)
        db.session.remove()
        db.engine.dispose()


_LOGGING = """
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s [%(process)d] %(levelname)s %(message)s"}},
    "handlers": {"err": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"level": "INFO", "handlers": ["err"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["err"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": ["err"], "propagate": False},
    },
}
"""


def _start_gunicorn(url: str, instance: str, port: int, log_path: str) -> subprocess.Popen:
    config = os.path.join(instance, "gunicorn.conf.py")
    with open(config, "w", encoding="utf-8") as fh:
        fh.write(_LOGGING)
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY=SECRET,
        INSTANCE_PATH=instance,
        UPLOAD_FOLDER=os.path.join(instance, "uploads"),
        PORTFOLIO_ENV="development",
    )
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115  (closed with the process)
    proc = subprocess.Popen(
        [
            GUNICORN,
            "-c",
            config,
            "-w",
            "2",
            "--threads",
            "4",
            "--timeout",
            "120",
            "-b",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log_path, encoding="utf-8") as fh:
                raise RuntimeError(f"gunicorn exited ({proc.returncode}):\n{fh.read()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not answer")


def _restarts(pg_dir: str, stop: threading.Event, done: list[str]) -> None:
    from tests.support import pgserver

    rng = random.Random(13)
    time.sleep(2)  # let the clients log in first
    for i in range(RESTARTS):
        mode = "immediate" if i % 2 else "fast"
        down = 2.0 if i % 4 == 3 else 0.0
        pgserver.restart(pg_dir, mode=mode, down=down)
        done.append(f"{mode}{f' (down {down:.0f} s)' if down else ''}")
        time.sleep(rng.uniform(0.5, 2.0))
    time.sleep(2)  # and a little calm at the end
    stop.set()


@pytest.fixture
def fault_server():
    from tests.support import pgserver

    workdir = tempfile.mkdtemp(prefix="bwp-fault-")
    instance = os.path.join(workdir, "instance")
    os.makedirs(instance)
    pg_dir = tempfile.mkdtemp(prefix="bwp-fault-pg-")  # its own: the server's user enters it
    # Durable, as in production: `-m immediate` is a crash, and an answered COMMIT must survive.
    url = pgserver.start(pg_dir, durable=True)
    proc = None
    try:
        usernames = [f"schueler{i}" for i in range(CLIENTS)]
        _prepare(url, instance, usernames)
        port = _free_port()
        log_path = os.path.join(workdir, "gunicorn.log")
        proc = _start_gunicorn(url, instance, port, log_path)
        yield {"url": url, "pg_dir": pg_dir, "port": port, "users": usernames, "log": log_path}
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        pgserver.stop(pg_dir)
        shutil.rmtree(workdir, ignore_errors=True)


def test_no_duplicate_and_no_false_conflict_while_postgresql_restarts(fault_server):
    stats = Stats()
    pupils = [Pupil(u) for u in fault_server["users"]]
    stop, restarts = threading.Event(), []
    threads = [
        threading.Thread(
            target=_work, args=(Browser(fault_server["port"], stats), p, stop, stats), daemon=True
        )
        for p in pupils
    ]
    restarter = threading.Thread(
        target=_restarts, args=(fault_server["pg_dir"], stop, restarts), daemon=True
    )
    started = time.monotonic()
    for t in [*threads, restarter]:
        t.start()
    restarter.join(timeout=600)
    for t in threads:
        t.join(timeout=300)
    seconds = time.monotonic() - started

    engine = sa.create_engine(fault_server["url"])
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, data FROM entry WHERE kind = 'reflection' ORDER BY id")
        ).all()
    engine.dispose()
    import json

    stored = {
        row.id: (row.data if isinstance(row.data, dict) else json.loads(row.data)) for row in rows
    }
    titles = Counter(d["title"] for d in stored.values())
    duplicates = sum(n - 1 for n in titles.values() if n > 1)
    created = {t: i for p in pupils for t, i in p.created.items()}
    latest = {i: t for p in pupils for i, t in p.latest.items()}
    lost = [t for t, i in created.items() if i not in stored]
    wrong = [i for i, t in latest.items() if i in stored and stored[i]["text"] != t]
    with open(fault_server["log"], encoding="utf-8") as fh:
        log = fh.read()
    retried = log.count("running it again")
    replayed = log.count("answered with its first outcome")
    requests = sum(stats.requests.values())
    print(
        f"\nfault test: {len(restarts)} PostgreSQL restarts ({', '.join(restarts)}) in "
        f"{seconds:.0f} s; {requests} requests from {len(pupils)} clients "
        f"({len(created)} creates, {sum(len(p.latest) for p in pupils)} entries edited); "
        f"run again by the server after a lost connection: {retried}; answered from a "
        f"stored submission key: {replayed}; forms sent again after 503: {stats.resent}; "
        f"duplicates: {duplicates}; false conflicts: {stats.false_conflicts}; lost writes: "
        f"{len(lost) + len(wrong)}; statuses: {dict(sorted(stats.requests.items()))}"
    )
    assert len(restarts) == RESTARTS and created, "the test did not run"
    assert duplicates == 0, titles.most_common(5)
    assert stats.false_conflicts == 0
    assert lost == [] and wrong == []
    assert stats.unexpected == []
    assert "Traceback" not in log, log[-3000:]
