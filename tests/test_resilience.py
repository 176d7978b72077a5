"""A request that meets a restarting database is run again instead of failing."""

from sqlalchemy.exc import OperationalError


class _Lost(Exception):
    def __str__(self):
        return "server closed the connection unexpectedly"


def test_request_is_retried_after_a_lost_connection(app, client):
    calls = {"n": 0}
    original = app.view_functions["main.healthz"]

    def flaky():
        calls["n"] += 1
        if calls["n"] < 3:
            raise OperationalError("SELECT 1", {}, _Lost(), connection_invalidated=True)
        return original()

    app.view_functions["main.healthz"] = flaky
    try:
        response = client.get("/healthz")
    finally:
        app.view_functions["main.healthz"] = original
    assert response.status_code == 200
    assert calls["n"] == 3
    assert "X-Portfolio-Retry" not in response.headers


def test_posted_body_is_replayed(app, client, world):
    calls = {"n": 0}
    original = app.view_functions["auth.login"]

    def flaky():
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("SELECT 1", {}, _Lost(), connection_invalidated=True)
        return original()

    app.view_functions["auth.login"] = flaky
    try:
        response = client.post(
            "/login", data={"username": "paula", "password": "Test-Password-123"}
        )
    finally:
        app.view_functions["auth.login"] = original
    assert response.status_code == 302
    assert calls["n"] == 2


def test_other_database_errors_are_not_retried(app, client):
    calls = {"n": 0}
    original = app.view_functions["main.healthz"]

    def broken():
        calls["n"] += 1
        raise OperationalError("SELECT 1", {}, Exception("syntax error"))

    app.view_functions["main.healthz"] = broken
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.get("/healthz")
    finally:
        app.view_functions["main.healthz"] = original
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    assert calls["n"] == 1


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(app, world, client_for, monkeypatch):
    """Instead of a ping before every use (a round trip per request), a connection idle
    for longer than DATABASE_PING_IDLE_SECONDS is pinged when taken from the pool, and
    replaced if the server has gone."""
    from portfolio import resilience
    from portfolio.extensions import db

    pupil = client_for(world.pupil)
    assert pupil.get("/portfolio/").status_code == 200
    dialect = db.engine.dialect
    real_ping, pinged = dialect.do_ping, []

    def ping(dbapi_connection):
        pinged.append(dbapi_connection)
        if len(pinged) == 1:  # the server closed this one while it was idle
            raise dialect.loaded_dbapi.OperationalError("server closed the connection")
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", ping)
    # Busy: taken again at once, no ping.
    assert pupil.get("/portfolio/timeline").status_code == 200
    assert pinged == []
    # Idle for longer than the limit: pinged, found dead, replaced; the page still answers.
    idle = app.config["DATABASE_PING_IDLE_SECONDS"] + 1
    clock = resilience._idle_clock
    monkeypatch.setattr(resilience, "_idle_clock", lambda: clock() + idle)
    assert pupil.get("/portfolio/timeline").status_code == 200
    assert len(pinged) == 1
    assert pinged[0] is not None
