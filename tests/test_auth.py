"""Login, logout, throttling, forced password change, password reset."""

import re

import sqlalchemy as sa

from portfolio import accounts
from portfolio.extensions import db
from portfolio.models import LoginSession, Role
from tests.support.world import PASSWORD, login


def test_login_and_logout(client, world):
    response = login(client, "paula")
    assert response.status_code == 302
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    assert "Paula" in page.get_data(as_text=True)
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/password").status_code == 302  # back to the login page


def test_username_is_case_insensitive_and_trimmed(client, world):
    assert login(client, "  PAULA ").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(client, world):
    wrong = login(client, "paula", "not-the-password")
    unknown = login(client, "nobody-here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 200

    def strip(r):
        return re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))

    assert strip(wrong) == strip(unknown)


def test_successful_logins_do_not_count(client, world):
    for _ in range(8):
        assert login(client, "paula").status_code == 302
        client.post("/logout")


def test_logout_ends_the_session_on_the_server(app, client, world):
    login(client, "paula")
    cookie = client.get_cookie("bwp_session").value
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("bwp_session", cookie)
    assert thief.get("/password").status_code == 302


def test_new_session_id_at_login(app, client, world):
    client.get("/login")
    before = client.get_cookie("bwp_session")
    login(client, "paula")
    after = client.get_cookie("bwp_session")
    assert after is not None
    assert before is None or before.value != after.value
    assert db.session.scalar(sa.select(sa.func.count(LoginSession.id))) == 1


def test_forced_password_change(client, world):
    user, initial = accounts.create_user(
        world.school, roles=[Role.PUPIL], first_name="Neu", last_name="Ling"
    )
    db.session.commit()
    response = login(client, user.username, initial)
    assert response.headers["Location"].endswith("/password")
    # Every other page sends the user back to the change form.
    assert client.get("/").headers["Location"].endswith("/password")
    short = client.post(
        "/password", data={"current_password": initial, "new_password": "abc", "confirm": "abc"}
    )
    assert "at least 8 characters" in short.get_data(as_text=True)
    ok = client.post(
        "/password",
        data={
            "current_password": initial,
            "new_password": "Meine-Katze-42",
            "confirm": "Meine-Katze-42",
        },
    )
    assert ok.status_code == 302
    assert client.get("/").status_code in (200, 302)
    assert not client.get("/", follow_redirects=True).request.path.endswith("/password")
    client.post("/logout")
    assert login(client, user.username, initial).status_code == 200
    assert login(client, user.username, "Meine-Katze-42").status_code == 302


def test_staff_password_needs_twelve_characters(client_for, world):
    c = client_for(world.teacher)
    response = c.post(
        "/password",
        data={
            "current_password": PASSWORD,
            "new_password": "Elf-Zeichen",
            "confirm": "Elf-Zeichen",
        },
    )
    assert "at least 12 characters" in response.get_data(as_text=True)
    assert world.teacher.check_password(PASSWORD)


def test_password_change_ends_other_sessions(app, client_for, world):
    first = client_for(world.pupil)
    second = client_for(world.pupil)
    response = first.post(
        "/password",
        data={
            "current_password": PASSWORD,
            "new_password": "Neues-Passwort-7",
            "confirm": "Neues-Passwort-7",
        },
    )
    assert response.status_code == 302
    assert first.get("/password").status_code == 200
    assert second.get("/password").status_code == 302


def test_teacher_resets_a_pupils_password(app, client_for, world):
    c = client_for(world.teacher)
    pupil_client = client_for(world.pupil)
    assert c.get(f"/pupils/{world.pupil.id}/reset-password").status_code == 200
    page = c.post(f"/pupils/{world.pupil.id}/reset-password").get_data(as_text=True)
    new_password = re.search(
        r'<span class="bwp-secret">([A-Za-z]+-[A-Za-z]+-\d{4})</span>', page
    ).group(1)
    # The pupil's open session ended; the new password forces a change.
    assert pupil_client.get("/password").status_code == 302
    fresh = app.test_client()
    assert login(fresh, "paula", new_password).headers["Location"].endswith("/password")


def test_reset_password_is_limited_to_own_pupils(client_for, world):
    for user, pupil, expected in [
        (world.teacher_9b, world.pupil, 404),
        (world.other_teacher, world.pupil, 404),
        (world.classmate, world.pupil, 404),
        (world.guardian, world.pupil, 403),
        (world.stubo, world.pupil, 200),
        (world.admin, world.pupil, 200),
    ]:
        assert client_for(user).get(f"/pupils/{pupil.id}/reset-password").status_code == expected, (
            user
        )


def test_csrf_is_enforced(app, client, world, csrf_enabled):
    response = client.post("/login", data={"username": "paula", "password": PASSWORD})
    assert response.status_code in (302, 400)
    assert client.get_cookie("bwp_session") is None or "_user_id" not in (
        client.get("/password").headers.get("Location", "/login")
    )
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    ok = client.post(
        "/login", data={"username": "paula", "password": PASSWORD, "csrf_token": token}
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/"


# -- issue 16, point 10: absolute session lifetime ---------------------------------------------
def test_a_login_ends_after_its_absolute_lifetime_however_busy(app, client, world):
    import datetime as dt

    from portfolio.models import utcnow

    assert app.config["SESSION_MAX_HOURS"] == 12
    login(client, "paula")
    assert client.get("/portfolio/").status_code == 200
    row = db.session.scalar(sa.select(LoginSession))
    row.created_at = utcnow() - dt.timedelta(hours=11, minutes=50)
    db.session.commit()
    assert client.get("/portfolio/").status_code == 200  # busy all day: still in
    row.created_at = utcnow() - dt.timedelta(hours=12, minutes=1)
    db.session.commit()
    response = client.get("/portfolio/")
    assert response.status_code == 302 and "/login" in response.location


def test_idle_lifetime_is_short_for_shared_computers(app, client, world):
    import datetime as dt

    assert app.config["PERMANENT_SESSION_LIFETIME"] == 2 * 3600
    login(client, "paula")
    cookie = client.get_cookie("bwp_session")
    lifetime = cookie.expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=1, minutes=59) < lifetime <= dt.timedelta(hours=2)


def _session_cookie_set(response) -> bool:
    return any(h.startswith("bwp_session=") for h in response.headers.getlist("Set-Cookie"))


def test_the_session_cookie_is_renewed_once_a_minute(app, client, world, monkeypatch):
    """Signed again when it is older than SESSION_RENEW_SECONDS (or the session changed),
    not with every response (portfolio/auth/cookie.py)."""
    import time

    from portfolio.auth import cookie

    login(client, "paula")
    client.get("/portfolio/")  # (the first page adds the CSRF secret: a change)
    assert not _session_cookie_set(client.get("/portfolio/"))
    assert not _session_cookie_set(client.get("/portfolio/timeline"))
    later = time.time() + app.config["SESSION_RENEW_SECONDS"] + 1
    monkeypatch.setattr(cookie, "_now", lambda: later)
    assert _session_cookie_set(client.get("/portfolio/"))
    # A changed session is saved at once.
    monkeypatch.undo()
    with client.session_transaction() as session:
        session["locale"] = "en"
    response = client.post("/language", data={"language": "de", "next": "/portfolio/"})
    assert _session_cookie_set(response)


def test_a_cookie_signed_longer_ago_than_the_idle_lifetime_is_refused(app, client, world):
    import time

    from itsdangerous import TimestampSigner

    login(client, "paula")
    with client.session_transaction() as session:
        data = dict(session)
    serializer = app.session_interface.get_signing_serializer(app)
    idle = app.config["PERMANENT_SESSION_LIFETIME"]
    idle = idle if isinstance(idle, int) else int(idle.total_seconds())
    signed = time.time() - idle - 60
    original = TimestampSigner.get_timestamp
    TimestampSigner.get_timestamp = lambda self: int(signed)
    try:
        old_cookie = serializer.dumps(data)
    finally:
        TimestampSigner.get_timestamp = original
    client.set_cookie("bwp_session", old_cookie)
    response = client.get("/portfolio/")
    assert response.status_code == 302 and "/login" in response.location
