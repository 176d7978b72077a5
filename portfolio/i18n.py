"""Locale selection and formatting helpers; re-exports the gettext functions."""

from __future__ import annotations

from flask import current_app, g, request, session
from flask_babel import get_locale, gettext, lazy_gettext, ngettext
from flask_login import current_user

from portfolio.config import LANGUAGES, RTL_LANGUAGES

_ = gettext
_l = lazy_gettext

__all__ = ["_", "_l", "ngettext", "select_locale", "current_language", "is_rtl", "LANGUAGES"]


def select_locale() -> str:
    """The user's stored choice, else the visitor's switch, else the browser, else German."""
    forced = g.get("force_locale")
    if forced:
        return forced
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in LANGUAGES:
        return chosen
    if request:
        best = request.accept_languages.best_match(list(LANGUAGES))
        if best:
            return best
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "de")


def select_timezone() -> str:
    return "Europe/Berlin"


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else "de"


def is_rtl() -> bool:
    return current_language() in RTL_LANGUAGES
