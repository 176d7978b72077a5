"""Two app servers, one database, one Redis: the app keeps no state of its own.

Starts one redis-server and two gunicorn instances of `wsgi:app` on free 127.0.0.1
ports, each with its own instance folder but the same database (the test database:
PostgreSQL when TEST_DATABASE_URL is set, else the shared SQLite file), the same
SECRET_KEY and RATELIMIT_STORAGE_URI pointing to the Redis. Then:

* a login on instance A works on instance B with the same cookie;
* logging out on B ends the session on A too (also for a copy of the old cookie);
* failed logins spread over both instances are throttled together, and a device cookie
  made by one instance lets its owner in on the other during the attack.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import urllib.parse

import pytest

from portfolio import accounts
from portfolio.extensions import db
from portfolio.models import Role
from tests.support.database import database_url
from tests.support.servers import (
    free_port,
    redis_executable,
    redis_server,
    stop,
    wait_until_listening,
)
from tests.support.world import PASSWORD

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")
REDIS = redis_executable()
SECRET = "two-instances-shared-secret-key"
ACCOUNT_LIMIT = 5

pytestmark = [
    pytest.mark.skipif(REDIS is None, reason="redis-server is not installed (make sysdeps)"),
    pytest.mark.skipif(
        not os.path.exists(GUNICORN), reason="gunicorn is not installed in the venv"
    ),
]


class Browser:
    """A cookie jar that talks to any of the instances, as one browser behind a balancer."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, port, method, path, form=None):
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                val = rest.split(";")[0]
                if val:
                    self.cookies[key] = val
                else:
                    self.cookies.pop(key, None)
        return response.status, response.getheader("Location") or "", text

    def csrf(self, port, path):
        status, _location, text = self.request(port, "GET", path)
        assert status == 200, (path, status)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, port, username, password):
        token = self.csrf(port, "/login")
        return self.request(
            port,
            "POST",
            "/login",
            {"csrf_token": token, "username": username, "password": password},
        )


@pytest.fixture(scope="module")
def instances(app, tmp_path_factory):
    """Ports of two gunicorn instances sharing the test database and one Redis."""
    tmp_path = tmp_path_factory.mktemp("two-instances")
    with redis_server(tmp_path) as redis_url:
        servers = []
        try:
            ports = []
            for name in ("a", "b"):
                port = free_port()
                servers.append(_gunicorn(port, tmp_path, name, redis_url))
                ports.append(port)
            for port, proc in zip(ports, servers, strict=False):
                wait_until_listening(port, proc, "/healthz", timeout=60)
            yield ports
        finally:
            for proc in servers:
                stop(proc)


def _gunicorn(port, tmp_path, name, redis_url) -> subprocess.Popen:
    """An instance of the app on `port` with the test database and the shared Redis."""
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        SECRET_KEY=SECRET,
        INSTANCE_PATH=str(tmp_path / f"instance-{name}"),
        UPLOAD_FOLDER=str(tmp_path / f"uploads-{name}"),
        RATELIMIT_STORAGE_URI=redis_url,
        LOGIN_LIMIT_PER_ACCOUNT=f"{ACCOUNT_LIMIT} per 15 minutes",
        LOGIN_LIMIT_PER_ADDRESS="100 per 15 minutes",
        PORTFOLIO_ENV="development",
        DEFAULT_LOCALE="en",
    )
    return subprocess.Popen(
        [
            GUNICORN,
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _pupil(school_name: str, school_number: str, last_name: str):
    """A pupil Mia with PASSWORD in a school of her own (committed)."""
    school = accounts.create_school(school_name, school_number, "Realschule", "Siegen")
    user, _initial = accounts.create_user(
        school, roles=[Role.PUPIL], first_name="Mia", last_name=last_name
    )
    user.set_password(PASSWORD)
    user.must_change_password = False
    db.session.commit()
    return user


@pytest.fixture
def pupil(app):
    return _pupil("Zwei-Server-Schule", "654321", "Zwei").username


def test_login_on_one_instance_works_on_the_other(instances, pupil):
    a, b = instances
    browser = Browser()
    status, location, _ = browser.login(a, pupil, PASSWORD)
    assert status == 302 and "/login" not in location
    # The next request goes to the other server: still logged in.
    status, location, _ = browser.request(b, "GET", "/portfolio/")
    assert status == 200, (status, location)
    copied = dict(browser.cookies)  # e.g. a cookie copied before the logout

    # Logout on B ends the login on A as well, also for the old cookie.
    token = browser.csrf(b, "/portfolio/")
    status, location, _ = browser.request(b, "POST", "/logout", {"csrf_token": token})
    assert status == 302 and "/login" in location
    status, location, _ = browser.request(a, "GET", "/portfolio/")
    assert status == 302 and "/login" in location
    thief = Browser()
    thief.cookies = copied
    status, location, _ = thief.request(a, "GET", "/portfolio/")
    assert status == 302 and "/login" in location


def test_failed_logins_are_counted_across_instances(instances, pupil):
    a, b = instances
    # The pupil's own phone logged in once (on A) and got the device cookie.
    phone = Browser()
    status, _location, _ = phone.login(a, pupil, PASSWORD)
    assert status == 302 and "bwp_device" in phone.cookies
    token = phone.csrf(a, "/portfolio/")
    phone.request(a, "POST", "/logout", {"csrf_token": token})

    browser = Browser()
    # Five wrong passwords, alternating between the servers: each one alone saw fewer.
    for i in range(ACCOUNT_LIMIT):
        status, _location, _ = browser.login((a, b)[i % 2], pupil, "wrong-password")
        assert status == 200, f"attempt {i + 1} should only be refused, got {status}"
    # The next attempt from that browser waits on either server, even with the right password.
    for port in (b, a):
        status, _location, _ = browser.login(port, pupil, PASSWORD)
        assert status == 429
    # The phone's device cookie, made by A, is honoured by B: the owner gets in at once.
    status, location, _ = phone.login(b, pupil, PASSWORD)
    assert status == 302 and "/login" not in location


def test_a_page_kept_by_an_instance_shows_a_write_made_elsewhere(instances):
    """Instance A keeps the pupil's start page in memory (portfolio/pagecache.py); a write
    committed by another process (here: this test) shows on A's next answer."""
    user = _pupil("Merk-Schule", "654322", "Merk")  # (not throttled by the test above)
    a, _b = instances
    browser = Browser()
    status, _location, _ = browser.login(a, user.username, PASSWORD)
    assert status == 302
    for _ in range(2):  # rendered, then served from A's memory
        status, _location, html = browser.request(a, "GET", "/portfolio/")
        assert status == 200 and "Hello, Mia!" in html
    user.first_name = "Mila"
    db.session.commit()
    status, _location, html = browser.request(a, "GET", "/portfolio/")
    assert status == 200 and "Hello, Mila!" in html
