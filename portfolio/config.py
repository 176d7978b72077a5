"""Configuration from environment variables, with safe defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from portfolio import clock

LANGUAGES: dict[str, str] = {
    # code: name of the language in itself (shown in the switcher)
    "de": "Deutsch",
    "en": "English",
    "tr": "Türkçe",
    "ar": "العربية",
    "ru": "Русский",
    "uk": "Українська",
    "pl": "Polski",
}
RTL_LANGUAGES = frozenset({"ar"})


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the app refuses to start."""


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


ENVIRONMENTS = ("development", "production")


def _environment() -> str:
    """PORTFOLIO_ENV, case-insensitive; an unknown value refuses to start (a typo must not
    run a school's installation in development mode)."""
    raw = os.environ.get("PORTFOLIO_ENV", "")
    value = raw.strip().lower() or "development"
    if value not in ENVIRONMENTS:
        raise ConfigError(
            f"PORTFOLIO_ENV={raw!r} is not known: set it to 'production' or 'development'."
        )
    return value


def _public_url(production: bool) -> str:
    """PUBLIC_URL without a trailing slash; refused at start when it is not a usable address
    (absolute, http(s), with a host; https in production)."""
    value = os.environ.get("PUBLIC_URL", "").strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    schemes = ("https",) if production else ("http", "https")
    if parts.scheme not in schemes or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            f"PUBLIC_URL={value!r} is not a usable address: give the full address at which "
            "users reach the app, e.g. https://portfolio.schule.example"
            + (" (https in production)." if production else ".")
        )
    return value


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def from_environment(instance_path: str) -> dict[str, Any]:
    """Build the settings dict from environment variables (see the README's table)."""
    instance = Path(instance_path)
    production = _environment() == "production"
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'portfolio.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return {
        "PRODUCTION": production,
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # No ping before every use of a pooled connection: portfolio/resilience.py pings
        # those idle for longer than DATABASE_PING_IDLE_SECONDS (a busy one is caught by
        # the retry of its request).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
        "DATABASE_PING_IDLE_SECONDS": float(os.environ.get("DATABASE_PING_IDLE_SECONDS", "1")),
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER") or str(instance / "uploads"),
        "MAX_UPLOAD_BYTES": int(os.environ.get("MAX_UPLOAD_MB", "10")) * 1024 * 1024,
        # Whole request limit: a 10 MB file plus form fields; Werkzeug refuses larger
        # bodies before reading them.
        "MAX_CONTENT_LENGTH": (int(os.environ.get("MAX_UPLOAD_MB", "10")) + 1) * 1024 * 1024,
        # A take-away package imported by the school admin (many certificates in one ZIP);
        # only that page takes bodies this large.
        "MAX_IMPORT_BYTES": int(os.environ.get("MAX_IMPORT_MB", "200")) * 1024 * 1024,
        # Pictures with more pixels are refused before they are decoded (memory).
        "MAX_IMAGE_PIXELS": int(os.environ.get("MAX_IMAGE_MEGAPIXELS", "40")) * 1_000_000,
        "MAX_PDF_PAGES": int(os.environ.get("MAX_PDF_PAGES", "50")),
        # Uploads per account: a pupil filing a stack of certificates stays well below.
        "UPLOAD_LIMIT": os.environ.get("UPLOAD_LIMIT", "30 per 10 minutes; 200 per day"),
        "BABEL_DEFAULT_LOCALE": os.environ.get("DEFAULT_LOCALE", "de"),
        "BABEL_DEFAULT_TIMEZONE": clock.SCHOOL_TIMEZONE,
        "LANGUAGES": LANGUAGES,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_NAME": "bwp_session",
        # Idle lifetime: the signed session cookie is renewed with every request and refused
        # once it is older than this (Flask checks its timestamp). Short, because school
        # computers are shared and a pupil may walk away without logging out.
        "PERMANENT_SESSION_LIFETIME": int(float(os.environ.get("SESSION_HOURS", "2")) * 3600),
        # ... renewed when it was signed longer ago than this (portfolio/auth/cookie.py).
        "SESSION_RENEW_SECONDS": float(os.environ.get("SESSION_RENEW_SECONDS", "60")),
        # Absolute lifetime: a login ends this long after it began, however busy it is
        # (checked against the server-side login session).
        "SESSION_MAX_HOURS": float(os.environ.get("SESSION_MAX_HOURS", "12")),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # Pages kept in each worker's memory per login session until anything is written
        # (portfolio/pagecache.py): how many, and for how long at most. 0 pages: off.
        "PAGE_CACHE_SIZE": int(os.environ.get("PAGE_CACHE_SIZE", "500")),
        "PAGE_CACHE_SECONDS": float(os.environ.get("PAGE_CACHE_SECONDS", "300")),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": False,
        # Login throttling (portfolio/auth/throttle.py; numbers and reasons in SECURITY.md).
        # Failed logins from browsers without this account's device cookie: per account from
        # one address, and per account from anywhere, before growing waits begin ...
        "LOGIN_LIMIT_PER_ADDRESS_ACCOUNT": os.environ.get(
            "LOGIN_LIMIT_PER_ADDRESS_ACCOUNT", "5 per 1 hour"
        ),
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per 24 hours"),
        # ... per address for all accounts together (a school behind one NAT address) ...
        "LOGIN_LIMIT_PER_ADDRESS": os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "300 per 15 minutes"),
        # ... and from a browser with the account's device cookie, before it counts as unknown.
        "LOGIN_LIMIT_PER_DEVICE": os.environ.get("LOGIN_LIMIT_PER_DEVICE", "10 per 1 hour"),
        "LOGIN_DELAY_MAX_MINUTES": int(os.environ.get("LOGIN_DELAY_MAX_MINUTES", "60")),
        "DEVICE_COOKIE_DAYS": int(os.environ.get("DEVICE_COOKIE_DAYS", "365")),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto headers are
        # trusted (0: none). Needed so that login throttling counts per client address.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "GUARDIAN_CODE_DAYS": int(os.environ.get("GUARDIAN_CODE_DAYS", "30")),
        "GUARDIAN_CODE_LIMIT": os.environ.get("GUARDIAN_CODE_LIMIT", "10 per 15 minutes"),
        "PUBLIC_URL": _public_url(production),
        "ALLOW_SQLITE_IN_PRODUCTION": _env_bool("ALLOW_SQLITE_IN_PRODUCTION", False),
        "ALLOW_INSECURE_COOKIES": _env_bool("ALLOW_INSECURE_COOKIES", False),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # Background jobs (portfolio/jobs): the queue, where results wait, for how long.
        "JOBS_URL": os.environ.get("JOBS_URL")
        or os.environ.get("REDIS_URL")
        or f"sqlite:///{instance / 'jobs-queue.db'}",
        "JOBS_RESULT_FOLDER": os.environ.get("JOBS_RESULT_FOLDER") or str(instance / "job-results"),
        "JOBS_RESULT_HOURS": float(os.environ.get("JOBS_RESULT_HOURS", "24")),
        "JOBS_HEARTBEAT_SECONDS": float(os.environ.get("JOBS_HEARTBEAT_SECONDS", "10")),
        "JOBS_MAX_ATTEMPTS": int(os.environ.get("JOBS_MAX_ATTEMPTS", "3")),
        "JOBS_WORKER_THREADS": int(os.environ.get("JOBS_WORKER_THREADS", "1")),
        # E-mail about news (portfolio/notifications/mail.py). Without MAIL_SERVER nothing is
        # sent; the settings page says so. MAIL_USE_TLS: STARTTLS on MAIL_PORT (587);
        # MAIL_USE_SSL: TLS from the first byte (port 465).
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "").strip(),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT") or "587"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "").strip(),
        "MAIL_USE_SSL": _env_bool("MAIL_USE_SSL", False),
        "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS", not _env_bool("MAIL_USE_SSL", False)),
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT") or "20"),
        # Processes that render one class ZIP in parallel (empty: all cores).
        "EXPORT_WORKERS": int(os.environ["EXPORT_WORKERS"])
        if os.environ.get("EXPORT_WORKERS")
        else None,
    }


def check_production(config: dict[str, Any]) -> None:
    """Refuse to start a production app with a setting that would put pupils at risk."""
    if not config.get("PRODUCTION"):
        return
    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite") and not config.get("ALLOW_SQLITE_IN_PRODUCTION"):
        raise ConfigError(
            "Production needs PostgreSQL: set DATABASE_URL (or ALLOW_SQLITE_IN_PRODUCTION=1)."
        )
    if str(config.get("JOBS_URL", "")).startswith("memory:"):
        raise ConfigError(
            "JOBS_URL=memory:// keeps jobs inside one process: no worker would ever see "
            "them. Use Redis (redis://...) or the SQLite default."
        )
    if config.get("MAIL_SERVER") and not config.get("PUBLIC_URL"):
        raise ConfigError(
            "MAIL_SERVER is set but PUBLIC_URL is not: the links in e-mails must lead to the "
            "app. Set PUBLIC_URL to the address at which users reach it."
        )
    if config.get("MAIL_SERVER") and not config.get("MAIL_DEFAULT_SENDER"):
        raise ConfigError(
            "MAIL_SERVER is set but MAIL_DEFAULT_SENDER is not: give the sender address of the "
            "mails, e.g. Berufswahlpass <berufswahlpass@schule.example>."
        )
    if not config.get("SESSION_COOKIE_SECURE") and not config.get("ALLOW_INSECURE_COOKIES"):
        raise ConfigError(
            "Production sends cookies over HTTPS only: do not set SESSION_COOKIE_SECURE=0 "
            "(or set ALLOW_INSECURE_COOKIES=1 if TLS ends in front of the app and you know why)."
        )
