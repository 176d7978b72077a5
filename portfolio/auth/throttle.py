"""Login throttling that stops password guessing without locking anyone out.

The model is OWASP's "Slow Down Online Guessing Attacks with Device Cookies": a browser
that has logged in to an account gets a signed *device cookie* for that account. The
limits on an account apply only to browsers without one, so an attacker guessing an
account slows down only the attacker (and strangers' browsers), never the owner's own
phone or home computer. Numbers and reasons: SECURITY.md, "Login throttling".

For a browser without the account's device cookie ("unknown browser"), failed logins count

* per account and address: after LOGIN_LIMIT_PER_ADDRESS_ACCOUNT failures (default 5 in an
  hour) every further failure makes the next attempt wait, 30 s and then twice as long each
  time, up to LOGIN_DELAY_MAX_MINUTES (a growing delay, never a lock);
* per account from anywhere: the same after LOGIN_LIMIT_PER_ACCOUNT failures (default 10
  in 24 hours), against guessing spread over many addresses;
* per address over all accounts: LOGIN_LIMIT_PER_ADDRESS (default 300 in 15 minutes), sized
  so that a whole school behind one NAT address, classes logging in at once with typos,
  never reaches it.

A browser with the account's device cookie is limited only per cookie
(LOGIN_LIMIT_PER_DEVICE, default 10 failures an hour); past that it counts as unknown.
Unknown usernames go through exactly the same steps (no enumeration). Counters live in the
rate limiter's storage (Redis when several app servers run), under keys that are keyed
hashes: neither usernames nor addresses are stored in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass

from flask import current_app, request
from flask.wrappers import Response
from limits import RateLimitItem, parse
from limits.errors import StorageError

from portfolio.extensions import limiter

DEVICE_COOKIE = "bwp_device"
MAX_DEVICE_ENTRIES = 12  # accounts one browser remembers (a family computer, a class PC)
BASE_DELAY = 30  # seconds: the first wait; it doubles with every further failure
BUSY_SECONDS = 10  # an unfinished check (a crashed worker) holds the account this long
_PREFIX = "bwp-login"


@dataclass(frozen=True)
class Verdict:
    """May this attempt be checked at all, and is the browser known for the account?"""

    wait: int  # seconds until the next attempt may be checked; 0: now
    device: str | None  # the nonce of the account's device-cookie entry, if trusted


# -- keys ------------------------------------------------------------------------------------
def _mac(*parts: str) -> bytes:
    key = hashlib.sha256(b"bwp-login-throttle:" + _secret()).digest()
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).digest()


def _secret() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    return secret.encode() if isinstance(secret, str) else secret


def _key(kind: str, *parts: str) -> str:
    return f"{_PREFIX}/{kind}/{_mac(kind, *parts).hex()[:32]}"


def client_address() -> str:
    """The client's address for counting: IPv6 by its /64 (one household or school network
    has a whole /64 and could otherwise change address with every attempt)."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _limit(name: str) -> RateLimitItem:
    return parse(current_app.config[name])


def max_delay() -> int:
    return int(current_app.config.get("LOGIN_DELAY_MAX_MINUTES", 60)) * 60


def delay_after(failures: int, free: int) -> int:
    """Seconds to wait after the `failures`-th failure when `free` failures cost nothing:
    0 before, then 30 s, 60 s, 2 min ... up to LOGIN_DELAY_MAX_MINUTES."""
    if failures < free:
        return 0
    return min(max_delay(), BASE_DELAY * 2 ** min(failures - free, 20))


# -- device cookies --------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _entry_mac(username: str, nonce: str) -> str:
    return _b64(_mac("device", username, nonce)[:16])


def _entries(cookie: str | None) -> list[tuple[str, str]]:
    """(nonce, mac) pairs of a device cookie, most recent first; junk is skipped."""
    found = []
    for item in (cookie or "").split(".")[:MAX_DEVICE_ENTRIES]:
        nonce, _sep, mac = item.partition("~")
        if len(nonce) == 22 and len(mac) == 22:
            found.append((nonce, mac))
    return found


def known_device(username: str, cookie: str | None) -> str | None:
    """The nonce of the cookie's entry for this account, or None. Opaque to whoever reads
    the cookie: an entry names no account, and the same work is done for every name."""
    match = None
    for nonce, mac in _entries(cookie):
        if hmac.compare_digest(mac, _entry_mac(username, nonce)) and match is None:
            match = nonce
    return match


def remember_device(response: Response, username: str) -> None:
    """After a successful login: a fresh entry for the account, first in the cookie."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    old = known_device(username, cookie)
    nonce = _b64(secrets.token_bytes(16))
    entries = [f"{nonce}~{_entry_mac(username, nonce)}"] + [
        f"{n}~{m}" for n, m in _entries(cookie) if n != old
    ]
    config = current_app.config
    response.set_cookie(
        DEVICE_COOKIE,
        ".".join(entries[:MAX_DEVICE_ENTRIES]),
        max_age=int(config.get("DEVICE_COOKIE_DAYS", 365)) * 86400,
        path="/login",
        secure=bool(config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Strict",
    )


# -- the decision ----------------------------------------------------------------------------
def _enabled() -> bool:
    return bool(limiter.enabled)


def _storage_errors() -> tuple[type[BaseException], ...]:
    base = limiter.storage.base_exceptions
    return (StorageError, *(base if isinstance(base, tuple) else (base,)))


def _block_wait(key: str) -> int:
    storage = limiter.storage
    if storage.get(key) <= 0:
        return 0
    return max(1, int(storage.get_expiry(key) - time.time() + 0.999))


def _block(key: str, seconds: int) -> None:
    storage = limiter.storage
    storage.clear(key)
    storage.incr(key, seconds)


def _address_wait(address: str) -> int:
    item = _limit("LOGIN_LIMIT_PER_ADDRESS")
    if limiter.limiter.test(item, _key("address", address)):
        return 0
    reset_at = limiter.limiter.get_window_stats(item, _key("address", address)).reset_time
    return max(1, int(reset_at - time.time() + 0.999))


def check(username: str) -> Verdict:
    """Before the password is looked at: how long this attempt must wait."""
    if not _enabled():
        return Verdict(0, None)
    device = known_device(username, request.cookies.get(DEVICE_COOKIE))
    address = client_address()
    try:
        if device and limiter.limiter.test(
            _limit("LOGIN_LIMIT_PER_DEVICE"), _key("device", device)
        ):
            return Verdict(0, device)
        wait = max(
            _block_wait(_key("block-address-account", address, username)),
            _block_wait(_key("block-account", username)),
            _address_wait(address),
        )
        if not wait and limiter.storage.incr(_key("busy", username), BUSY_SECONDS) > 1:
            # Another unknown browser's attempt on this account is being checked: one at a
            # time, or a burst of parallel guesses would all pass before the first failure
            # sets the wait. (People do not log in to one account twice at once.)
            wait = 1
    except _storage_errors():
        current_app.logger.exception("login throttling unavailable: the storage failed")
        return Verdict(0, None)
    return Verdict(wait, None)


def _done(username: str) -> None:
    limiter.storage.clear(_key("busy", username))


def _count(kind: str, limit_name: str, *parts: str) -> None:
    """One more failure on a counter; past its free allowance, the next attempt waits."""
    item = _limit(limit_name)
    failures = limiter.storage.incr(_key(kind, *parts), item.get_expiry())
    wait = delay_after(failures, item.amount)
    if wait:
        _block(_key("block-" + kind, *parts), wait)


def failed(username: str, verdict: Verdict) -> None:
    """A wrong password (or unknown name): count it where it belongs."""
    if not _enabled():
        return
    address = client_address()
    try:
        if verdict.device:
            limiter.limiter.hit(_limit("LOGIN_LIMIT_PER_DEVICE"), _key("device", verdict.device))
            return
        limiter.limiter.hit(_limit("LOGIN_LIMIT_PER_ADDRESS"), _key("address", address))
        _count("address-account", "LOGIN_LIMIT_PER_ADDRESS_ACCOUNT", address, username)
        _count("account", "LOGIN_LIMIT_PER_ACCOUNT", username)
        _done(username)
    except _storage_errors():
        current_app.logger.exception("login throttling unavailable: the storage failed")


def succeeded(username: str) -> None:
    """The right password: this address's failures on the account are forgotten (the
    account-wide count is not: an attacker elsewhere may still be at work)."""
    if not _enabled():
        return
    address = client_address()
    try:
        for kind in ("address-account", "block-address-account"):
            limiter.storage.clear(_key(kind, address, username))
        _done(username)
    except _storage_errors():
        current_app.logger.exception("login throttling unavailable: the storage failed")


def forget_account(username: str) -> None:
    """After a password reset by staff: the account's failures are forgotten, from anywhere
    and from the address the reset came from (in school, usually the pupil's too): the new
    password is unknown to whoever was guessing the old one."""
    if not _enabled():
        return
    address = client_address()
    try:
        for kind in ("account", "block-account"):
            limiter.storage.clear(_key(kind, username))
        for kind in ("address-account", "block-address-account"):
            limiter.storage.clear(_key(kind, address, username))
    except _storage_errors():
        current_app.logger.exception("login throttling unavailable: the storage failed")
