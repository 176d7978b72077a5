"""Issue 16, 3 in the browser: a class teacher resets a pupil's password; the pupil sees it
on the forced password page, in "who looked" (German, then Turkish) and in the news."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from .helpers import DESKTOP, PHONE, assert_accessible, assert_phone_ready, login, screenshot_dir

pytestmark = pytest.mark.e2e

START = "Start-Passwort-1"
OWN = "Mein-Fahrrad-ist-blau-77"


def _choose_password(page, current: str, new: str) -> None:
    # German labels: the flow runs in the default language.
    page.get_by_label("Aktuelles Passwort").fill(current)
    page.get_by_label("Neues Passwort", exact=True).fill(new)
    page.get_by_label("Neues Passwort wiederholen").fill(new)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def _switch_language(page, name: str) -> None:
    page.locator("form.bwp-lang select").select_option(label=name)
    with page.expect_navigation():
        page.locator("form.bwp-lang button[type=submit]").click()


def test_a_teachers_reset_shows_in_who_looked_in_plain_words(new_page, live_server):
    username = live_server.create_user(
        f"e2e.reset.{uuid.uuid4().hex[:8]}",
        password=START,
        class_="9a",
        first_name="Rena",
        last_name="Reset",
    )
    pupil_id = int(
        live_server.python(
            "import sqlalchemy as sa\n"
            "from portfolio.extensions import db\n"
            "from portfolio.models import User\n"
            f"print(db.session.scalar(sa.select(User.id).where(User.username == {username!r})))"
        ).strip()
    )
    pupil = new_page(locale="de-DE", axe=True)
    login(pupil, username, START)
    _choose_password(pupil, START, OWN)

    # In class: the class teacher gives Rena a new password.
    teacher = new_page(locale="de-DE")
    login(teacher, "klassenlehrer9a")
    teacher.goto(f"/admin/accounts/{pupil_id}")
    with teacher.expect_navigation():
        teacher.get_by_role("link", name="Neues Passwort erstellen").click()
    expect(teacher.get_by_text("Rena und die Eltern sehen das Zurücksetzen")).to_be_visible()
    with teacher.expect_navigation():
        teacher.get_by_role("button", name="Neues Passwort erstellen").click()
    temporary = teacher.locator(".bwp-secret").nth(1).inner_text().strip()
    assert re.fullmatch(r"[A-Za-z]+-[A-Za-z]+-\d{4}", temporary), temporary

    # Rena's open session has ended; the new password only opens the change page, which
    # says who set it.
    pupil.goto("/portfolio/")
    expect(pupil).to_have_url(re.compile(r"/login"))
    login(pupil, username, temporary)
    expect(pupil).to_have_url(re.compile(r"/password$"))
    expect(
        pupil.get_by_text(re.compile(r"Thomas Heinz hat dir dieses Passwort am"))
    ).to_be_visible()
    _choose_password(pupil, temporary, OWN + "!")

    # "Who looked": the account changes, in German ...
    pupil.goto(f"/privacy/{pupil_id}/who-looked")
    changes = pupil.locator("section", has=pupil.get_by_role("heading", name="Änderungen am Konto"))
    expect(changes).to_contain_text("Thomas Heinz (Lehrkraft) hat das Passwort zurückgesetzt")
    expect(changes.get_by_text(re.compile("Mit dem Passwort von der Schule wurde"))).to_have_count(
        2
    )
    assert_accessible(pupil, "who looked, German")
    shots = screenshot_dir()
    pupil.screenshot(path=str(shots / "pupil-who-looked-de-1280.png"), full_page=True)
    pupil.set_viewport_size(PHONE)
    assert_phone_ready(pupil, "who looked, German, phone")
    pupil.screenshot(path=str(shots / "pupil-who-looked-de-360.png"), full_page=True)
    pupil.set_viewport_size(DESKTOP)

    # ... in the news, leading back to the list ...
    pupil.goto("/news/")
    news = pupil.get_by_role("link", name=re.compile("Thomas Heinz hat dir ein neues Passwort"))
    with pupil.expect_navigation():
        news.click()
    expect(pupil).to_have_url(re.compile(rf"/privacy/{pupil_id}/who-looked#account$"))

    # ... and in Turkish.
    _switch_language(pupil, "Türkçe")
    expect(pupil.locator("html")).to_have_attribute("lang", "tr")
    changes = pupil.locator(
        "section", has=pupil.get_by_role("heading", name="Hesaptaki değişiklikler")
    )
    expect(changes).to_contain_text("Thomas Heinz (öğretmen) şifreyi sıfırladı")
    expect(changes).to_contain_text("Okulun verdiği şifre ile yeni bir şifre seçildi.")
    pupil.screenshot(path=str(shots / "pupil-who-looked-tr-1280.png"), full_page=True)
