"""Issue 16 item 1: unsaved drafts on a school computer shared by a class.

Drafts (static/js/app.js) are kept in the browser's storage under a key that holds a value
the server gives each page for the logged-in user. A logout removes all of them; a login of
another user removes the previous user's; the same user finds hers again after her session
merely expired. Nothing here saves an entry: the demo pupils stay as seeded.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import DEMO_PASSWORD, login, logout

pytestmark = pytest.mark.e2e

GOAL_FORM = "/portfolio/kind/goal/new"
SECRET = "Tierpflegerin im Zoo werden, aber keiner darf es wissen"


def _drafts(page) -> list[str]:
    return page.evaluate(
        "() => Object.keys(localStorage).filter(k => k.startsWith('bwp-draft:')).sort()"
    )


def _type_goal(page, text: str) -> None:
    page.goto(GOAL_FORM)
    page.locator("form[data-draft] input[name=goal]").fill(text)
    # The draft is stored 400 ms after the last keystroke.
    page.wait_for_function(
        "() => Object.keys(localStorage).some(k => k.endsWith(':new-goal'))", timeout=5000
    )


def _goal_field(page):
    page.goto(GOAL_FORM)
    return page.locator("form[data-draft] input[name=goal]")


def _log_in_again(page, username: str) -> None:
    """After the session cookie is gone: the next page sends to the login form."""
    page.goto(GOAL_FORM)
    expect(page).to_have_url(re.compile(r"/login"))
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def test_two_pupils_on_one_browser_see_nothing_of_each_others_drafts(new_page):
    page = new_page()
    login(page, "lukas.becker")
    _type_goal(page, SECRET)
    (key,) = _drafts(page)
    assert key.endswith(":new-goal") and "lukas" not in key  # the owner value is opaque
    owner = page.locator("body").get_attribute("data-draft-owner")
    assert owner and owner in key

    logout(page)  # Lukas leaves without saving, but logs out
    assert _drafts(page) == []  # the logout removed every draft from this browser

    login(page, "amira.haddad")  # the next pupil at the same computer
    field = _goal_field(page)
    expect(field).to_have_value("")
    expect(page.locator("[data-draft-note]")).to_be_hidden()
    assert SECRET not in page.content()
    assert page.locator("body").get_attribute("data-draft-owner") != owner
    logout(page)

    # Lukas comes back: his draft is gone too. A logout is the moment a shared computer
    # changes hands, so nothing typed before it is kept (a draft is for an interrupted
    # session, not a storage place; saving keeps text).
    login(page, "lukas.becker")
    expect(_goal_field(page)).to_have_value("")


def test_a_draft_survives_an_expired_session_of_the_same_pupil_only(new_page):
    page = new_page()
    login(page, "lukas.becker")
    _type_goal(page, SECRET)
    page.context.clear_cookies()  # the session expired; Lukas is still at the computer
    _log_in_again(page, "lukas.becker")
    field = _goal_field(page)
    expect(field).to_have_value(SECRET)
    expect(page.locator("[data-draft-note]")).to_be_visible()

    # Again an expired session, but this time Amira logs in at the same computer.
    page.context.clear_cookies()
    _log_in_again(page, "amira.haddad")
    # Her first page removed Lukas' draft from the storage before anything else.
    assert _drafts(page) == []
    expect(_goal_field(page)).to_have_value("")
    assert SECRET not in page.content()
    page.context.clear_cookies()
    _log_in_again(page, "lukas.becker")
    expect(_goal_field(page)).to_have_value("")
