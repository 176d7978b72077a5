"""Issue 16 item 8: new passwords are checked against common and breached passwords and
against words from the context (NIST SP 800-63B), with a message that helps."""

from __future__ import annotations

import gzip
import random

import pytest

from portfolio.auth import passwords
from portfolio.auth.passwords import password_problem, readable_password
from portfolio.extensions import db
from portfolio.guardian import registration
from portfolio.models import User
from tests.support.world import PASSWORD, login

COMMON = "lists of common and leaked passwords"
CONTEXT = "must not be made of your name"
TOO_EASY = "too easy to guess"


def change(client, new: str):
    return client.post(
        "/password",
        data={"current_password": PASSWORD, "new_password": new, "confirm": new},
    )


@pytest.mark.parametrize(
    ("new", "why"),
    [
        ("12345678", TOO_EASY),
        ("passwordpassword", COMMON),
        ("Passwort1234", COMMON),
        ("P@ssw0rt2024!", COMMON),
        ("pass-word-pass-word", COMMON),
        ("Schalke04!!", COMMON),
        ("qwertzuiop", TOO_EASY),
        ("Paula-Pupil-2009", CONTEXT),
        ("paula.pupil!", CONTEXT),
        ("Berufswahlpass2024", CONTEXT),
        ("Realschule-Testdorf", CONTEXT),
        ("PaulaPassword", COMMON),
    ],
)
def test_pupil_cannot_choose_a_guessable_password(client_for, world, new, why):
    pupil = client_for(world.pupil)
    response = change(pupil, new)
    assert response.status_code == 200
    assert why in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.pupil.id).check_password(PASSWORD)


@pytest.mark.parametrize("new", ["Paula mag Pferde", "Meine-Katze-42", "Tulpen im Regen"])
def test_passwords_nobody_would_guess_are_accepted(client_for, world, new):
    response = change(client_for(world.pupil), new)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.pupil.id).check_password(new)


def test_staff_rules_apply_to_staff(client_for, world):
    response = change(client_for(world.teacher), "Sommer2024!!")
    assert COMMON in response.get_data(as_text=True)
    response = change(client_for(world.teacher), "Tina-Teacher-1977")
    assert CONTEXT in response.get_data(as_text=True)


def test_generated_initial_passwords_always_pass(world):
    """Slips and resets hand out readable_password(): none may be refused when the pupil
    keeps typing it, whatever the pupil's name (short names are inside many syllables)."""
    rng = random.Random(16)
    names = ["Tim", "Ali", "Ben", "Ida", "Eva", "Mia", "Can", "Ela", "Noah", "Mika", "Sude"]
    for i in range(3000):
        first = rng.choice(names)
        user = User(username=f"{first.lower()}.{i}", first_name=first, last_name=rng.choice(names))
        user.school = world.school
        candidate = readable_password()
        assert password_problem(user, candidate) is None, (candidate, first)


def test_guardian_registration_refuses_a_common_password(world, client):
    code = registration.issue_code(world.pupil)
    db.session.commit()

    def register(password):
        data = {"code": code, "first_name": "Maria", "last_name": "Schmidt"}
        data |= {"username": "maria.schmidt", "password": password, "confirm": password}
        data["language"] = "de"
        return client.post("/eltern", data=data)

    response = register("hallo1234")
    assert response.status_code == 200 and COMMON in response.get_data(as_text=True)
    assert register("Maria-Schmidt-1980").status_code == 200  # her own name
    assert register("Sonne-Mond-77").status_code == 302  # the code still works


def test_create_user_command_refuses_a_common_password(runner, world):
    args = ["create-user", "--school", "100001", "--role", "teacher"]
    args += ["--first-name", "Neo", "--last-name", "Lehrer", "--username", "neo.lehrer"]
    result = runner.invoke(args=[*args, "--password", "Passwort12345"])
    assert result.exit_code != 0 and COMMON in result.output
    assert db.session.scalar(db.select(User).where(User.username == "neo.lehrer")) is None
    result = runner.invoke(args=[*args, "--password", "Kreide-und-Tafel-1"])
    assert result.exit_code == 0, result.output


def test_the_bundled_list_and_its_source(app):
    common = passwords.common_passwords()
    assert len(common) > 90_000
    assert {"123456", "password", "passwort", "hallo123", "schatz"} <= common
    with gzip.open(passwords.COMMON_PASSWORDS, "rt", encoding="utf-8") as fh:
        first = [next(fh).strip() for _ in range(3)]
    assert first == ["123456", "password", "12345678"]  # most frequent first
    readme = (passwords.COMMON_PASSWORDS.parent / "README.md").read_text()
    assert "SecLists" in readme and "MIT" in readme


def test_login_with_an_old_weak_password_still_works(client, world):
    """The rules apply to new passwords; nobody is locked out of an existing account."""
    world.pupil.set_password("12345678")
    db.session.commit()
    assert login(client, "paula", "12345678").status_code == 302


@pytest.mark.parametrize("lang", ["de", "en", "tr", "ar", "ru", "uk", "pl"])
def test_the_message_is_in_the_users_language(client_for, world, lang):
    from flask_babel import force_locale
    from markupsafe import escape

    from portfolio.i18n import _

    world.pupil.locale = lang
    db.session.commit()
    page = change(client_for(world.pupil), "Passwort1234").get_data(as_text=True)
    with force_locale(lang):
        expected = _(
            "This password is on the lists of common and leaked passwords that attackers try "
            "first, also with digits or symbols added. Choose another one: a few words that "
            "belong together only for you are easy to remember and hard to guess."
        )
    assert str(escape(expected)) in page
    assert lang == "en" or "attackers try first" not in expected
