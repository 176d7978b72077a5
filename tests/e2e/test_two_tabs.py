"""Issue 16 item 7 in a browser: a CV (a kind a pupil has once) started in two tabs.

The second tab's text is neither dropped nor saved as a second CV: the second tab shows
the saved CV beside what it typed, and saving it there knowingly replaces the saved one.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import (
    DESKTOP,
    PHONE,
    assert_accessible,
    change_password,
    login,
    phone_problems,
    screenshot_dir,
    unique,
)

pytestmark = pytest.mark.e2e

SAVE = "form[data-draft] button.kern-btn--primary[type=submit]"


def _start_cv(tab, address: str) -> None:
    tab.goto("/portfolio/kind/cv/new")
    tab.locator("form[data-draft] input[name=address]").fill(address)


def test_a_cv_started_in_two_tabs_keeps_the_second_tabs_text(new_page, live_server):
    username = live_server.create_user(unique("e2e.tabs"), password="Start-Passwort-1", class_="9a")
    first = new_page(viewport=PHONE, axe=True)
    login(first, username, "Start-Passwort-1")
    change_password(first, "Start-Passwort-1")
    second = first.context.new_page()  # another tab of the same browser
    _start_cv(first, "Am Markt 1, Siegen")
    _start_cv(second, "Bahnhofstraße 7, Kreuztal")

    with first.expect_navigation():
        first.locator(SAVE).click()
    expect(first.get_by_text("Saved.")).to_be_visible()

    with second.expect_navigation():
        second.locator(SAVE).click()
    alert = second.get_by_role("alert")
    expect(alert).to_contain_text("you have this entry already")
    expect(second.locator(".bwp-compare__stored")).to_contain_text("Am Markt 1, Siegen")
    expect(second.locator("form[data-draft] input[name=address]")).to_have_value(
        "Bahnhofstraße 7, Kreuztal"
    )
    assert phone_problems(second) == []
    assert_accessible(second, "a second CV from another tab")
    second.screenshot(path=str(screenshot_dir() / "two-tabs-cv-360.png"), full_page=True)
    second.set_viewport_size(DESKTOP)
    second.screenshot(path=str(screenshot_dir() / "two-tabs-cv-1280.png"), full_page=True)

    # Saving it here replaces the saved CV: still one CV, with this tab's text.
    with second.expect_navigation():
        second.locator(SAVE).click()
    expect(second.get_by_text("Saved.")).to_be_visible()
    expect(second.locator("main")).to_contain_text("Bahnhofstraße 7, Kreuztal")  # the entry
    expect(second.locator("main")).not_to_contain_text("Am Markt 1, Siegen")
    second.goto("/portfolio/kind/cv")
    expect(second.locator("main article")).to_have_count(1)
