"""HTTP security headers for every response."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request
from werkzeug.routing import IntegerConverter

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _served_over_https() -> bool:
    """Did the browser use https? The request's scheme: https directly, or behind
    TRUSTED_PROXIES reverse proxies their X-Forwarded-Proto (ProxyFix sets the scheme from
    it; without trusted proxies a client's own header is ignored). A production installation
    (PREFERRED_URL_SCHEME https) is reached over https even when its proxy forwards no
    scheme; browsers ignore HSTS received over plain http, so saying it is harmless."""
    config = current_app.config
    return request.is_secure or bool(
        config.get("PRODUCTION") and config.get("PREFERRED_URL_SCHEME") == "https"
    )


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault(
        "Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    )
    if _served_over_https():
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if not request.path.startswith("/static/"):
        # Pupils' pages and files must not stay in shared computers' caches: whatever a view
        # or send_file set ("no-cache" still stores), only no-store leaves nothing behind.
        if "no-store" not in (headers.get("Cache-Control") or ""):
            headers["Cache-Control"] = "no-store"
    return response


class IdConverter(IntegerConverter):
    """`<int:...>` in URLs: at most 2**31 - 1, so that no id overflows an INTEGER column
    (a huge number in the address was a 500 on PostgreSQL; now it is a 404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def id_arg(value: str) -> int:
    """`request.args.get(name, type=id_arg)`: an id that fits an INTEGER column, else the
    argument counts as missing (ValueError), instead of a 500 on PostgreSQL."""
    number = int(value)
    if not 0 <= number < 2**31:
        raise ValueError("out of range")
    return number


def install_converters(app: Flask) -> None:
    """Before any route is added (create_app calls it first)."""
    app.url_map.converters["int"] = IdConverter


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_other_bodies():
    """Every form posts urlencoded or multipart. Other bodies (JSON, which Flask-WTF would
    hand to the forms as dicts and lists) are refused with 415 before any view runs."""
    if (
        request.method in ("POST", "PUT", "PATCH", "DELETE")
        and request.mimetype not in FORM_TYPES
        and (request.mimetype or request.content_length)
    ):
        abort(415)


def refuse_nul_bytes():
    """No form field or query argument contains a NUL byte: PostgreSQL cannot store it
    (an unguarded one was a 500); browsers never send one. Uploaded files are not affected."""
    values = list(request.args.values())
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        values += [v for _k, v in request.form.items(multi=True)]
    if any("\x00" in v for v in values):
        abort(400)


def safe_next(target: str | None) -> str | None:
    """Only local paths: never redirect to another host (after login, a language change)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


#: Endpoints that take larger request bodies than MAX_CONTENT_LENGTH: endpoint -> the app
#: setting (bytes) of their limit. Filled by `larger_body`.
LARGER_BODIES: dict[str, str] = {}


def larger_body(endpoint: str, setting: str) -> None:
    """Let the view `endpoint` take a request body up to the app setting `setting` (bytes)
    instead of MAX_CONTENT_LENGTH, e.g. the import of a take-away package."""
    LARGER_BODIES[endpoint] = setting


def apply_body_limit():
    """Set the request's body limit of an endpoint registered with `larger_body`, before
    anything reads the body."""
    setting = LARGER_BODIES.get(request.endpoint or "")
    if setting and current_app.config.get(setting):
        request.max_content_length = int(current_app.config[setting])


def register_security(app: Flask) -> None:
    app.before_request(apply_body_limit)  # first: the hooks below read the form
    app.before_request(refuse_other_bodies)
    app.before_request(refuse_nul_bytes)
    app.after_request(set_security_headers)
