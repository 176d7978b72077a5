"""Configuration from the environment and the production safety checks."""

import os

import pytest

from portfolio import create_app
from portfolio.config import ConfigError, from_environment


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = from_environment(str(tmp_path))["SECRET_KEY"]
    second = from_environment(str(tmp_path))["SECRET_KEY"]
    assert first == second and len(first) >= 40
    assert oct(os.stat(tmp_path / "secret_key").st_mode & 0o777) == "0o600"


def test_secret_key_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert from_environment(str(tmp_path))["SECRET_KEY"] == "from-env"


def test_database_url_defaults_to_sqlite_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    uri = from_environment(str(tmp_path))["SQLALCHEMY_DATABASE_URI"]
    assert uri == f"sqlite:///{tmp_path / 'portfolio.db'}"


def test_postgres_urls_use_psycopg3(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@h/db")
    assert (
        from_environment(str(tmp_path))["SQLALCHEMY_DATABASE_URI"]
        == "postgresql+psycopg://u:p@h/db"
    )


def test_production_refuses_sqlite(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTFOLIO_ENV", "production")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="PostgreSQL"):
        create_app()
    monkeypatch.setenv("ALLOW_SQLITE_IN_PRODUCTION", "1")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_production_refuses_insecure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTFOLIO_ENV", "production")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:1/db")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    with pytest.raises(ConfigError, match="HTTPS"):
        create_app()
    monkeypatch.setenv("ALLOW_INSECURE_COOKIES", "1")
    create_app()


def test_mail_settings_from_the_environment(tmp_path, monkeypatch):
    for name in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USE_SSL"):
        monkeypatch.delenv(name, raising=False)
    config = from_environment(str(tmp_path))
    assert config["MAIL_SERVER"] == ""  # no mail unless configured
    assert (config["MAIL_PORT"], config["MAIL_USE_TLS"], config["MAIL_USE_SSL"]) == (
        587,
        True,
        False,
    )
    monkeypatch.setenv("MAIL_SERVER", "smtp.schule.example")
    monkeypatch.setenv("MAIL_PORT", "465")
    monkeypatch.setenv("MAIL_USE_SSL", "1")
    monkeypatch.setenv("MAIL_USERNAME", "portfolio")
    monkeypatch.setenv("MAIL_PASSWORD", "geheim")
    config = from_environment(str(tmp_path))
    assert config["MAIL_SERVER"] == "smtp.schule.example"
    assert (config["MAIL_PORT"], config["MAIL_USE_TLS"], config["MAIL_USE_SSL"]) == (
        465,
        False,
        True,
    )
    assert (config["MAIL_USERNAME"], config["MAIL_PASSWORD"]) == ("portfolio", "geheim")


def test_production_mail_needs_public_url_and_sender(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTFOLIO_ENV", "production")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:1/db")
    monkeypatch.setenv("MAIL_SERVER", "smtp.schule.example")
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.delenv("MAIL_DEFAULT_SENDER", raising=False)
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        create_app()
    monkeypatch.setenv("PUBLIC_URL", "https://portfolio.schule.example")
    with pytest.raises(ConfigError, match="MAIL_DEFAULT_SENDER"):
        create_app()
    monkeypatch.setenv("MAIL_DEFAULT_SENDER", "Berufswahlpass <bwp@schule.example>")
    create_app()


def test_cookie_settings(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def _client_address(app, **headers) -> str:
    from flask import request

    seen = {}

    def probe():
        seen["ip"] = request.remote_addr
        return "ok"

    app.view_functions["main.healthz"] = probe
    app.test_client().get("/healthz", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    return seen["ip"]


def test_trusted_proxy_gives_the_client_address(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    behind_proxy = create_app({"TRUSTED_PROXIES": 1, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert _client_address(behind_proxy, **{"X-Forwarded-For": "203.0.113.7"}) == "203.0.113.7"
    # Without a trusted proxy a client cannot choose its address (and dodge throttling).
    direct = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert _client_address(direct, **{"X-Forwarded-For": "203.0.113.7"}) == "10.0.0.1"


# -- issue 16, point 10: the environment name, PUBLIC_URL ------------------------------------
@pytest.mark.parametrize("value", ["production", "Production", " PRODUCTION "])
def test_production_is_recognised_in_any_case(tmp_path, monkeypatch, value):
    monkeypatch.setenv("PORTFOLIO_ENV", value)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    config = from_environment(str(tmp_path))
    assert config["PRODUCTION"] is True and config["SESSION_COOKIE_SECURE"] is True
    assert config["PREFERRED_URL_SCHEME"] == "https"


@pytest.mark.parametrize("value", ["", "development", "Development"])
def test_development_is_the_default(tmp_path, monkeypatch, value):
    monkeypatch.setenv("PORTFOLIO_ENV", value)
    assert from_environment(str(tmp_path))["PRODUCTION"] is False


@pytest.mark.parametrize("value", ["prod", "productoin", "staging", "true"])
def test_unknown_environment_refuses_to_start(tmp_path, monkeypatch, value):
    monkeypatch.setenv("PORTFOLIO_ENV", value)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="PORTFOLIO_ENV"):
        create_app()


def test_public_url_must_be_a_usable_address(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://portfolio.schule.example/")
    assert from_environment(str(tmp_path))["PUBLIC_URL"] == "https://portfolio.schule.example"
    for bad in ("portfolio.schule.example", "ftp://x.example", "https://", "https://x.de/?a=1"):
        monkeypatch.setenv("PUBLIC_URL", bad)
        with pytest.raises(ConfigError, match="PUBLIC_URL"):
            from_environment(str(tmp_path))
    monkeypatch.setenv("PUBLIC_URL", "http://portfolio.schule.example")
    assert from_environment(str(tmp_path))["PUBLIC_URL"].startswith("http://")
    monkeypatch.setenv("PORTFOLIO_ENV", "production")
    with pytest.raises(ConfigError, match="https in production"):
        from_environment(str(tmp_path))
