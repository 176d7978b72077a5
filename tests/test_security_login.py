"""Issue 8, login: throttling shared through Redis, no timing difference between known and
unknown names, password rules, fresh login sessions."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from portfolio.auth.passwords import STAFF_MIN_LENGTH, readable_password
from tests.support.database import database_url
from tests.support.servers import (
    free_port,
    redis_executable,
    redis_server,
    stop,
    wait_until_listening,
)
from tests.support.world import PASSWORD, login

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- timing --------------------------------------------------------------------------------
def test_unknown_and_known_names_take_the_same_time(app, client, world):
    """Median times of many failed logins for an existing and an unknown name are close.

    Interleaved (so that load on the machine hits both alike), with a generous bound: a
    missing or differently expensive dummy hash shows as a factor, not a few percent.
    """
    from portfolio.extensions import db

    # As in production: a real (slow) password hash for the account and the dummy alike,
    # so that the comparison is about the work an attacker could time.
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    try:
        world.pupil.set_password("Test-Password-123")
        db.session.commit()
        known, unknown = _time_failed_logins(client)
    finally:
        app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:1000"
    k, u = statistics.median(known), statistics.median(unknown)
    assert max(k, u) / min(k, u) < 1.5, f"median known {k * 1000:.1f} ms, unknown {u * 1000:.1f} ms"


def _time_failed_logins(client):
    from portfolio.extensions import limiter

    known, unknown = [], []
    for i in range(15):
        limiter.reset()  # the throttle is tested elsewhere; here only the work counts
        for name, times in (("paula", known), (f"ghost{i}", unknown)):
            started = time.perf_counter()
            response = login(client, name, "wrong-password")
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
    return known, unknown


def test_dummy_hash_uses_the_configured_method(app):
    from portfolio.auth import services

    assert services._dummy_hash().startswith(app.config["PASSWORD_HASH_METHOD"].split(":")[0])


# -- throttling shared between app servers through Redis ----------------------------------
SERVER = textwrap.dedent("""
    import sys
    from werkzeug.serving import run_simple
    from portfolio import create_app
    app = create_app({
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": sys.argv[1], "RATELIMIT_STORAGE_URI": sys.argv[2],
        "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "LOGIN_LIMIT_PER_ACCOUNT": "3 per 15 minutes",
    })
    run_simple("127.0.0.1", int(sys.argv[3]), app, threaded=True)
""")


@pytest.fixture
def redis_url(tmp_path):
    if redis_executable() is None:
        pytest.skip("redis-server is not installed (make sysdeps)")
    with redis_server(tmp_path) as url:
        yield url


def _post_login(port: int, username: str, password: str) -> int:
    data = urllib.parse.urlencode({"username": username, "password": password}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/login", data=data)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        return opener.open(request, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code


def test_two_app_servers_share_the_login_counter_in_redis(world, redis_url, tmp_path):
    """Two processes (two app servers) with RATELIMIT_STORAGE_URI=redis://: failed attempts
    on one count on the other."""
    env = dict(os.environ, INSTANCE_PATH=str(tmp_path / "instance"), PYTHONPATH=ROOT)
    servers, ports = [], []
    try:
        for _ in range(2):
            port = free_port()
            proc = subprocess.Popen(
                [sys.executable, "-c", SERVER, database_url(), redis_url, str(port)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            servers.append(proc)
            wait_until_listening(port, proc, timeout=60)
            ports.append(port)
        a, b = ports
        assert _post_login(a, "paula", "wrong") == 200
        assert _post_login(b, "paula", "wrong") == 200
        assert _post_login(a, "paula", "wrong") == 200
        # The limit (3) is reached across both servers: the 4th attempt is refused on either.
        assert _post_login(b, "paula", PASSWORD) == 429
        assert _post_login(a, "paula", PASSWORD) == 429
        # Another account is not affected.
        assert _post_login(b, "carl", PASSWORD) == 302
    finally:
        for proc in servers:
            stop(proc)


# -- passwords -----------------------------------------------------------------------------
def test_initial_passwords_are_random_and_readable():
    passwords = [readable_password() for _ in range(500)]
    assert len(set(passwords)) == len(passwords)
    for pw in passwords:
        assert re.fullmatch(r"[A-Z][a-z]{5}-[A-Z][a-z]{5}-\d{4}", pw), pw
        letters = pw[:-5]
        assert not set(letters) & set("lIoO"), pw  # no letters easily confused with digits
        assert len(pw) >= STAFF_MIN_LENGTH


def test_staff_account_gets_a_long_initial_password(client_for, world):
    response = client_for(world.admin).post(
        "/admin/staff/new",
        data={
            "first_name": "Neue",
            "last_name": "Lehrerin",
            "username": "neue.lehrerin",
            "email": "",
            "roles": ["teacher"],
        },
    )
    assert response.status_code == 200
    shown = re.findall(r"[A-Z][a-z]{5}-[A-Z][a-z]{5}-\d{4}", response.get_data(as_text=True))
    assert shown and all(len(p) >= STAFF_MIN_LENGTH for p in shown)


def test_login_session_token_is_new_at_every_login(app, world):
    from portfolio.extensions import db
    from portfolio.models import LoginSession

    tokens = set()
    for _ in range(3):
        c = app.test_client()
        c.get("/login")
        planted = c.get_cookie("bwp_session")
        assert login(c, "paula").status_code == 302
        after = c.get_cookie("bwp_session")
        assert planted is None or planted.value != after.value
        tokens = {t for t in db.session.scalars(db.select(LoginSession.token))}
    assert len(tokens) == 3


def test_cookie_planted_before_login_is_not_logged_in(app, world):
    """Session fixation: the attacker's pre-login cookie does not become the victim's."""
    victim = app.test_client()
    victim.get("/login")
    victim.post("/language", data={"language": "en"})  # a pre-login session exists
    planted = victim.get_cookie("bwp_session").value
    assert login(victim, "paula").status_code == 302
    attacker = app.test_client()
    attacker.set_cookie("bwp_session", planted)
    assert attacker.get("/portfolio/").status_code == 302  # to the login page


def test_logout_ends_a_copied_cookie(app, client_for, world):
    victim = client_for(world.pupil)
    stolen = victim.get_cookie("bwp_session").value
    thief = app.test_client()
    thief.set_cookie("bwp_session", stolen)
    assert thief.get("/portfolio/").status_code == 200  # the stolen cookie works ...
    victim.post("/logout")
    response = thief.get("/portfolio/")  # ... until the victim logs out
    assert response.status_code == 302 and "/login" in response.location
