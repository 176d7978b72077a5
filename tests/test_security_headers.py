"""Security headers on every response and cookie flags."""

from tests.support.jobs import fetch
from tests.support.world import login


def test_headers_on_pages(client, world):
    for path in ("/", "/login", "/barrierefreiheit", "/does-not-exist"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"


def _cookies(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


def test_session_cookie_flags(client, world):
    cookies = _cookies(login(client, "paula"))
    assert "HttpOnly" in cookies["bwp_session"]
    assert "SameSite=Lax" in cookies["bwp_session"]
    # The device cookie (login throttling) goes to the login page only.
    assert "HttpOnly" in cookies["bwp_device"] and "SameSite=Strict" in cookies["bwp_device"]
    assert "Path=/login" in cookies["bwp_device"]


def test_secure_cookie_in_production_setting(app, client, world):
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        cookies = _cookies(login(client, "paula"))
        assert "Secure" in cookies["bwp_session"] and "Secure" in cookies["bwp_device"]
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False


def test_error_pages_in_the_users_language(client):
    german = client.get("/does-not-exist", headers={"Accept-Language": "de"})
    assert german.status_code == 404
    english = client.get("/does-not-exist", headers={"Accept-Language": "en"})
    assert "Page not found" in english.get_data(as_text=True)


# -- issue 8: every kind of answer, production cookies --------------------------------------
# (Every route x every visitor is checked for these headers in test_access_matrix.py.)
def test_headers_on_errors_redirects_and_downloads(app, client, world, monkeypatch):
    from portfolio.extensions import limiter
    from tests.support.matrix import fast_client, header_problems

    pupil = fast_client(app, world.pupil)
    answers = {
        "redirect": client.get("/portfolio/"),
        "405": client.get("/logout"),
        "400": pupil.post("/language", data={"language": "xx"}),
        "404": pupil.get("/portfolio/entry/999999"),
        "403": pupil.get("/review/classes"),
    }
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100)
    answers["413"] = pupil.post("/portfolio/assessments", data={"rater_name": "x" * 500})
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 11 * 1024 * 1024)
    for _ in range(6):
        answers["429"] = login(client, "paula", "wrong")
    limiter.reset()
    answers["pdf"] = fetch(pupil, "/export/mine/summary.pdf")
    assert answers["429"].status_code == 429 and answers["413"].status_code == 413
    assert answers["pdf"].status_code == 200
    problems = {k: header_problems(r) for k, r in answers.items() if header_problems(r)}
    assert not problems, problems


def test_hsts_follows_the_scheme_the_browser_used(app, client, tmp_path, monkeypatch):
    assert "max-age=" in client.get("/", base_url="https://localhost").headers.get(
        "Strict-Transport-Security", ""
    )
    assert "Strict-Transport-Security" not in client.get("/").headers
    # A client's own X-Forwarded-Proto means nothing without a trusted proxy ...
    forged = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in forged.headers
    # ... behind TRUSTED_PROXIES=1 (TLS ends at nginx) it is the browser's scheme.
    from portfolio import create_app

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    proxied = create_app({"TRUSTED_PROXIES": 1, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    behind = proxied.test_client()
    over_tls = behind.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=31536000" in over_tls.headers["Strict-Transport-Security"]
    plain = behind.get("/healthz", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers
    # Production is reached over https (PREFERRED_URL_SCHEME), also when TLS ends at a proxy
    # that forwards no scheme.
    monkeypatch.setitem(app.config, "PRODUCTION", True)
    monkeypatch.setitem(app.config, "PREFERRED_URL_SCHEME", "https")
    assert "max-age=" in client.get("/").headers["Strict-Transport-Security"]


def test_takeaway_zip_and_files_are_not_stored_by_the_browser(client_for, world):
    """send_file answers 'no-cache' (which still stores the file on a shared computer)."""
    from tests.support.jobs import fetch

    response = fetch(client_for(world.pupil), f"/privacy/{world.pupil.id}/take-away")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"


def test_production_settings_make_cookies_secure(monkeypatch, tmp_path):
    from portfolio.config import from_environment

    monkeypatch.setenv("PORTFOLIO_ENV", "production")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    config = from_environment(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_logout_then_back_button_shows_nothing(client, world):
    login(client, "paula")
    client.post("/logout")
    response = client.get("/portfolio/")
    assert response.status_code == 302 and "/login" in response.location
    assert response.headers["Cache-Control"] == "no-store"
