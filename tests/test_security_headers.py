"""Security headers on every response and cookie flags."""

from conftest import login


def test_headers_on_pages(client, world):
    for path in ("/", "/login", "/barrierefreiheit", "/does-not-exist"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_flags(client, world):
    response = login(client, "paula")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_secure_cookie_in_production_setting(app, client, world):
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        cookie = login(client, "paula").headers["Set-Cookie"]
        assert "Secure" in cookie
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False


def test_error_pages_in_the_users_language(client):
    german = client.get("/does-not-exist", headers={"Accept-Language": "de"})
    assert german.status_code == 404
    english = client.get("/does-not-exist", headers={"Accept-Language": "en"})
    assert "Page not found" in english.get_data(as_text=True)
