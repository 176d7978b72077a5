"""Locale selection and formatting helpers; re-exports the gettext functions."""

from __future__ import annotations

from flask import current_app, g, has_app_context, request, session
from flask_babel import LazyString, get_locale, get_translations
from flask_login import current_user

from portfolio import clock
from portfolio.config import LANGUAGES, RTL_LANGUAGES

__all__ = [
    "LANGUAGES",
    "_",
    "_l",
    "current_language",
    "install_jinja_gettext",
    "is_rtl",
    "listing",
    "ngettext",
    "select_locale",
    "translations",
]


def translations():
    """The message catalogue of the current locale.

    Flask-Babel looks it up afresh for every single text (domain, locale, cache key);
    a class overview translates a thousand texts. Here the lookup is kept for the
    request and the locale object: `force_locale` and `refresh` set a new locale
    object, so they get the right catalogue.
    """
    if not has_app_context():
        return get_translations()
    ctx = g.get("_flask_babel")
    memo = getattr(ctx, "bwp_translations", None) if ctx is not None else None
    if memo is not None and memo[0] is getattr(ctx, "babel_locale", None):
        return memo[1]
    catalogue = get_translations()
    ctx = g.get("_flask_babel")
    if ctx is not None and getattr(ctx, "babel_locale", None) is not None:
        ctx.bwp_translations = (ctx.babel_locale, catalogue)
    return catalogue


def gettext(string: str, **variables) -> str:
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    return LazyString(gettext, string, **variables)


_ = gettext
_l = lazy_gettext


def listing(values) -> str:
    """A list in the reader's language: "A, B und C", "A، B و C" ..."""
    from babel.lists import format_list

    items = [str(v) for v in values if v not in (None, "")]
    if not items:
        return ""
    return format_list(items, locale=get_locale() or "de")


def install_jinja_gettext(app) -> None:
    """`_()`/`ngettext()` in templates through the same per-request catalogue."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


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
    return clock.SCHOOL_TIMEZONE


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else "de"


def is_rtl() -> bool:
    return current_language() in RTL_LANGUAGES
