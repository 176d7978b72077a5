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
