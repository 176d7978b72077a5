"""Berufswahlpass digital: the KAoA career-choice portfolio as a Flask app."""

from __future__ import annotations

import gc
import os
from typing import Any

from flask import Flask

from portfolio.config import check_production, from_environment

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the app: configuration, extensions, blueprints, errors, commands."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH") or os.path.join(ROOT, "instance"),
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    app.config.update(from_environment(app.instance_path))
    if config:
        app.config.update(config)
    check_production(app.config)
    os.makedirs(app.instance_path, exist_ok=True)

    from portfolio.security import install_converters

    install_converters(app)  # before the first route: ids fit an INTEGER column
    register_extensions(app)
    register_blueprints(app)
    register_jobs(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    register_security(app)
    register_resilience(app)
    register_proxies(app)
    register_transaction(app)  # last: its after_request hook runs first
    register_pagecache(app)  # (adds no hooks: wraps template globals set above)
    settle_memory()
    return app


def settle_memory() -> None:
    """Move what start-up made (modules, mappers, templates) out of the garbage
    collector's sight. A list page of 1,500 pupils makes enough objects to start a full
    collection, which otherwise walks every object of the process each time: about
    half of that page's time. Long-lived objects made later are still collected."""
    gc.collect()
    gc.freeze()


def register_extensions(app: Flask) -> None:
    from portfolio import (
        collation,  # noqa: F401  (German name order on SQLite connections)
        prepared,  # noqa: F401  (PostgreSQL: prepared statements kept)
    )
    from portfolio.auth import cookie
    from portfolio.extensions import babel, csrf, db, limiter, login_manager, migrate
    from portfolio.i18n import select_locale, select_timezone

    cookie.install(app)
    db.init_app(app)
    migrate.init_app(
        app, db, directory=os.path.join(HERE, "migrations"), render_as_batch=True, compare_type=True
    )
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=os.path.join(ROOT, "translations"),
    )
    from portfolio.i18n import install_jinja_gettext

    install_jinja_gettext(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from portfolio.auth.services import load_user_from_session

    login_manager.user_loader(load_user_from_session)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # the server-side login session does this job

    from portfolio.i18n import _l

    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"


def register_blueprints(app: Flask) -> None:
    from portfolio import (
        admin,
        agreement,
        auth,
        documents,
        export,
        guardian,
        guidance,
        jobs,
        main,
        notifications,
        privacy,
        pupil,
        review,
        roster,
    )

    for blueprint in (
        main.bp,
        auth.bp,
        pupil.bp,
        pupil.rate_bp,
        documents.bp,
        agreement.bp,
        guidance.bp,
        review.bp,
        notifications.bp,
        guardian.bp,
        export.bp,
        privacy.bp,
        admin.bp,
        roster.bp,
        jobs.bp,
    ):
        app.register_blueprint(blueprint)


def register_jobs(app: Flask) -> None:
    """The task queue (after the blueprints: their modules declare the tasks)."""
    from portfolio.jobs.queue import init_app

    init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from portfolio.main.errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from portfolio.main.template_helpers import register

    register(app)


def register_commands(app: Flask) -> None:
    from portfolio.cli import register

    register(app)


def register_security(app: Flask) -> None:
    from portfolio.security import register_security as register

    register(app)


def register_resilience(app: Flask) -> None:
    from portfolio.resilience import register

    register(app)


def register_transaction(app: Flask) -> None:
    from portfolio.transaction import register

    register(app)


def register_pagecache(app: Flask) -> None:
    from portfolio.pagecache import register

    register(app)


def register_proxies(app: Flask) -> None:
    """Trust X-Forwarded-* headers from TRUSTED_PROXIES reverse proxies (and no more)."""
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
