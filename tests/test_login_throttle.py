"""Issue 16 item 2: login throttling that stops guessing without locking anyone out.

A school reaches the internet through one NAT address; a class logging in from paper slips
makes many typos. Guessing one account from browsers that never logged in to it is slowed
down with growing waits; the owner's own browser (device cookie) always gets in.
"""

from __future__ import annotations

import re
import time as real_time

import pytest
from limits import parse

from portfolio import accounts
from portfolio.auth import throttle
from portfolio.extensions import db, limiter
from portfolio.models import Role
from tests.support.world import PASSWORD, login

SCHOOL_NAT = "198.51.100.20"


class Clock:
    """time.time() for the throttle and the in-memory counters, moved on by the test."""

    def __init__(self):
        self.offset = 0.0

    def time(self) -> float:
        return real_time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch):
    import limits.storage.memory

    clock = Clock()
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    monkeypatch.setattr(throttle, "time", clock)
    return clock


def browser(app, address: str):
    """A new browser (no cookies) at a client address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _wait(response) -> int:
    assert response.status_code == 429, response.status_code
    return int(response.headers["Retry-After"])


def guess(client, username: str, tries: int, clock: Clock) -> None:
    """A patient script: `tries` wrong passwords that are really checked, waiting exactly as
    long as it is told; it stops right after the last one (so it is told to wait again)."""
    done = 0
    while done < tries:
        response = login(client, username, f"guess-{done}")
        if response.status_code == 429:
            clock.advance(_wait(response))
        else:
            assert response.status_code == 200
            done += 1


# -- a school behind one address ---------------------------------------------------------------
def test_a_class_of_30_behind_one_address_with_typos_all_get_in(app, world):
    """30 pupils, one NAT address, fresh school computers, 1 to 5 mistakes each (wrong
    passwords and misspelt names), all at the same time: nobody is made to wait."""
    cls = accounts.get_or_create_class(world.school, "8c")
    pupils = []
    for i in range(30):
        pupil, _pw = accounts.create_user(
            world.school,
            roles=[Role.PUPIL],
            first_name=f"Kind{i}",
            last_name="Klasse",
            username=f"kind{i}.klasse",
            password=PASSWORD,
            must_change_password=False,
        )
        accounts.put_in_class(pupil, cls)
        pupils.append(pupil.username)
    db.session.commit()

    mistakes = {name: 1 + i % 5 for i, name in enumerate(pupils)}  # 90 failures in all
    computers = {name: browser(app, SCHOOL_NAT) for name in pupils}
    done: dict[str, int] = {}
    statuses = []
    for round_ in range(6):  # everybody types at once: one attempt each per round
        for name in pupils:
            if name in done:
                continue
            if round_ < mistakes[name]:
                typo = name.replace("klasse", "klase") if round_ % 2 else name
                response = login(computers[name], typo, PASSWORD.lower())
            else:
                response = login(computers[name], name)
                if response.status_code == 302:
                    done[name] = round_
            statuses.append(response.status_code)
    assert sum(mistakes.values()) == 90
    assert 429 not in statuses
    assert sorted(done) == sorted(pupils)


def test_per_address_limit_is_sized_for_a_school_and_spares_known_browsers(app, world):
    """Password spraying from one address (one try for each of many names) meets the
    per-address limit; a pupil whose browser knows her account still gets in."""
    known = browser(app, SCHOOL_NAT)
    assert login(known, "paula").status_code == 302
    known.post("/logout")
    sprayer = browser(app, SCHOOL_NAT)
    allowed = parse(app.config["LOGIN_LIMIT_PER_ADDRESS"]).amount
    assert allowed >= 150  # several classes at once with typos never reach it
    for i in range(allowed):
        assert login(sprayer, f"name{i}", "Sommer2024").status_code == 200
    assert login(sprayer, "name-x", "Sommer2024").status_code == 429
    # The whole address waits: a pupil on an unknown school computer too ...
    assert login(browser(app, SCHOOL_NAT), "carl").status_code == 429
    # ... but not from another address, and not with her own browser.
    assert login(browser(app, "203.0.113.9"), "carl").status_code == 302
    assert login(known, "paula").status_code == 302


# -- guessing one account -----------------------------------------------------------------------
def test_guessing_from_one_address_meets_growing_waits(app, world, clock):
    attacker = browser(app, "203.0.113.66")
    for i in range(5):
        assert login(attacker, "paula", f"guess-{i}").status_code == 200
    waits = []
    for _ in range(6):
        response = login(attacker, "paula", "guess-again")
        waits.append(_wait(response))
        # While waiting, not even the right password is checked (nothing to learn).
        assert _wait(login(attacker, "paula")) > 0
        clock.advance(waits[-1])
        assert login(attacker, "paula", "guess-after-wait").status_code == 200
    # 30 s, then twice as long each time: a pause for a typing pupil, a wall for a script.
    assert waits == [30, 60, 120, 240, 480, 960]
    # Not a lock: after the wait the right password works.
    clock.advance(_wait(login(attacker, "paula", "x")))
    assert login(attacker, "paula").status_code == 302


def test_a_day_of_guessing_gets_few_tries(app, world, clock):
    """A script that waits exactly as long as it is told gets a few dozen tries a day."""
    attacker = browser(app, "203.0.113.66")
    checked = 0
    elapsed = 0
    while elapsed < 24 * 3600:
        response = login(attacker, "paula", f"guess-{checked}")
        if response.status_code == 200:
            checked += 1
            continue
        wait = _wait(response)
        clock.advance(wait)
        elapsed += wait
    assert checked < 60, checked


def test_guessing_spread_over_many_addresses_is_slowed_per_account(app, world, clock):
    for i in range(10):
        assert login(browser(app, f"192.0.2.{i + 1}"), "paula", f"guess-{i}").status_code == 200
    # The eleventh try, from yet another address, must wait.
    assert _wait(login(browser(app, "192.0.2.200"), "paula", "guess")) == 30
    # Other accounts are not affected.
    assert login(browser(app, "192.0.2.201"), "carl").status_code == 302


def test_owner_with_her_device_cookie_gets_in_during_the_attack(app, world, clock):
    """A classmate guesses Paula's password at school (same NAT address); Paula's own
    phone and the school computer she used before let her in at once."""
    phone = browser(app, SCHOOL_NAT)
    assert login(phone, "paula").status_code == 302
    assert phone.get_cookie(throttle.DEVICE_COOKIE, path="/login") is not None
    phone.post("/logout")

    classmate = browser(app, SCHOOL_NAT)
    guess(classmate, "paula", 20, clock)
    assert _wait(login(classmate, "paula")) > 0  # the right password would not help him
    assert login(phone, "paula").status_code == 302  # ... but Paula gets in at once
    phone.post("/logout")
    # On a computer she never used, Paula waits like everyone else.
    assert login(browser(app, SCHOOL_NAT), "paula").status_code == 429
    assert login(browser(app, "203.0.113.5"), "paula").status_code == 429


def test_device_cookie_is_bound_to_its_account_and_says_nothing(app, world, clock):
    shared_pc = browser(app, SCHOOL_NAT)
    assert login(shared_pc, "paula").status_code == 302
    shared_pc.post("/logout")
    cookie = shared_pc.get_cookie(throttle.DEVICE_COOKIE, path="/login")
    # A random nonce and a keyed hash: nothing that names the account.
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}~[A-Za-z0-9_-]{22}", cookie.value)
    assert "paula" not in cookie.value
    assert cookie.http_only and cookie.same_site == "Strict"

    # Carl's account is being guessed from elsewhere; Paula's device cookie does not make
    # the shared PC a known browser for Carl.
    guess(browser(app, "203.0.113.66"), "carl", 10, clock)
    assert login(shared_pc, "carl").status_code == 429

    # A forged or altered cookie is worth nothing.
    forged = browser(app, "203.0.113.67")
    forged.set_cookie(throttle.DEVICE_COOKIE, cookie.value[:-2] + "AA", path="/login")
    assert login(forged, "carl").status_code == 429


def test_device_cookie_stops_counting_as_known_after_many_failures(app, world):
    """Someone at Paula's computer guessing her (changed) password: the cookie is trusted
    for ten failures an hour, then the browser is treated as unknown."""
    pc = browser(app, SCHOOL_NAT)
    assert login(pc, "paula").status_code == 302
    pc.post("/logout")
    for i in range(10):
        assert login(pc, "paula", f"guess-{i}").status_code == 200
    statuses = [login(pc, "paula", f"more-{i}").status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]  # now the address+account allowance (5) applies


def test_several_accounts_on_one_computer_each_keep_their_device_entry(app, world):
    pc = browser(app, SCHOOL_NAT)
    for name in ("paula", "carl", "berta"):
        assert login(pc, name).status_code == 302
        pc.post("/logout")
    value = pc.get_cookie(throttle.DEVICE_COOKIE, path="/login").value
    assert len(value.split(".")) == 3
    with app.test_request_context(headers={"Cookie": f"{throttle.DEVICE_COOKIE}={value}"}):
        assert all(throttle.known_device(n, value) for n in ("paula", "carl", "berta"))
        assert throttle.known_device("tina", value) is None


# -- no enumeration, resets, failures of the storage --------------------------------------------
def test_throttling_does_not_reveal_whether_a_name_exists(app, world):
    attacker = browser(app, "203.0.113.66")
    for _ in range(5):
        assert login(attacker, "paula", "wrong").status_code == 200
        assert login(attacker, "ghost", "wrong").status_code == 200
    known, unknown = login(attacker, "paula", "wrong"), login(attacker, "ghost", "wrong")
    assert _wait(known) == _wait(unknown) == 30

    def strip(r):
        return re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))

    assert strip(known) == strip(unknown)
    assert "Please wait 1 minute" in strip(known)


def test_a_password_reset_by_staff_ends_the_wait(app, client_for, world, clock):
    guess(browser(app, "203.0.113.66"), "paula", 12, clock)
    assert login(browser(app, "203.0.113.7"), "paula").status_code == 429
    page = client_for(world.teacher).post(f"/pupils/{world.pupil.id}/reset-password")
    new_password = re.search(r"[A-Z][a-z]{5}-[A-Z][a-z]{5}-\d{4}", page.get_data(as_text=True))
    assert login(browser(app, "203.0.113.7"), "paula", new_password.group(0)).status_code == 302


def test_login_works_when_the_counter_storage_fails(app, world, monkeypatch):
    """Redis down: logins go on (and the failure is logged) rather than nobody getting in."""
    from limits.errors import StorageError

    def broken(*args, **kwargs):
        raise StorageError(ConnectionError("redis is away"))

    monkeypatch.setattr(limiter.storage, "get", broken)
    monkeypatch.setattr(limiter.storage, "incr", broken)
    monkeypatch.setattr(limiter.limiter, "hit", broken)
    monkeypatch.setattr(limiter.limiter, "test", broken)
    pc = browser(app, SCHOOL_NAT)
    assert login(pc, "paula", "wrong").status_code == 200
    assert login(pc, "paula").status_code == 302


def test_delay_schedule(app):
    assert app.config["LOGIN_DELAY_MAX_MINUTES"] == 60
    assert [throttle.delay_after(n, 5) for n in range(3, 9)] == [0, 0, 30, 60, 120, 240]
    assert throttle.delay_after(100, 5) == 3600


@pytest.mark.parametrize(
    ("remote", "counted_as"),
    [
        ("198.51.100.20", "198.51.100.20"),
        ("::ffff:198.51.100.20", "198.51.100.20"),
        ("2001:db8:5:7:a:b:c:d", "2001:db8:5:7::/64"),  # a home or school network's /64
        ("2001:db8:5:7:ffff::1", "2001:db8:5:7::/64"),
    ],
)
def test_addresses_are_counted_by_network_for_ipv6(app, remote, counted_as):
    with app.test_request_context(environ_base={"REMOTE_ADDR": remote}):
        assert throttle.client_address() == counted_as


def test_a_burst_of_parallel_guesses_gets_one_checked(app, world, monkeypatch):
    """Twenty guesses sent at the same instant: without a guard all would be checked before
    the first failure sets a wait. One unknown browser's attempt per account at a time."""
    import threading

    from portfolio.auth import services

    slow_check = services.authenticate
    started = threading.Barrier(20)

    def authenticate(username, password):
        threading.Event().wait(0.3)  # a real scrypt check takes this long under load
        return slow_check(username, password)

    monkeypatch.setattr(services, "authenticate", authenticate)
    statuses = []

    def attacker(i):
        client = browser(app, f"203.0.113.{i + 1}")
        client.get("/login")
        started.wait()
        statuses.append(login(client, "paula", f"guess-{i}").status_code)

    threads = [threading.Thread(target=attacker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) <= 2 and statuses.count(429) >= 18, statuses
