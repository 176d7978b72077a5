"""Language choice: German by default, the browser's preference, the user's stored choice."""

from tests.support.world import login


def test_german_is_the_default(app, client):
    app.config["BABEL_DEFAULT_LOCALE"] = "de"
    try:
        page = client.get("/login").get_data(as_text=True)
    finally:
        app.config["BABEL_DEFAULT_LOCALE"] = "en"
    assert '<html lang="de"' in page
    assert "Anmelden" in page


def test_browser_preference_for_visitors(client):
    page = client.get("/login", headers={"Accept-Language": "tr-TR,tr;q=0.9"}).get_data(
        as_text=True
    )
    assert '<html lang="tr"' in page
    arabic = client.get("/login", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert 'dir="rtl"' in arabic


def test_switch_is_stored_for_the_user(client, world):
    login(client, "paula")
    response = client.post("/language", data={"language": "uk", "next": "/password"})
    assert response.status_code == 302 and response.headers["Location"] == "/password"
    from portfolio.extensions import db

    db.session.refresh(world.pupil)
    assert world.pupil.locale == "uk"
    page = client.get("/password", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="uk"' in page


def test_unknown_language_is_refused(client):
    assert client.post("/language", data={"language": "xx"}).status_code == 400


def test_switch_never_redirects_to_another_host(client):
    response = client.post("/language", data={"language": "en", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_dates_follow_the_locale(app):
    import datetime as dt

    from flask_babel import force_locale

    from portfolio.main.template_helpers import _date

    with app.test_request_context(), force_locale("de"):
        assert _date(dt.date(2026, 3, 7), "short") == "07.03.26"
        assert _date(dt.date(2026, 3, 7)) == "07.03.2026"


def test_language_chosen_before_login_is_kept(client, world):
    client.post("/language", data={"language": "pl", "next": "/login"})
    login(client, "paula")
    page = client.get("/password").get_data(as_text=True)
    assert '<html lang="pl"' in page
    from portfolio.extensions import db

    db.session.refresh(world.pupil)
    assert world.pupil.locale == "pl"
