"""Notifications in the browser: a pupil's hand-in reaches the class teacher's News and
leads to the entry; the e-mail settings page at phone and desktop width, in Turkish."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from .helpers import (
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_phone_ready,
    inline_policy_problems,
    login,
    screenshot_dir,
)

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Mein-neues-Passwort-26"


def test_a_hand_in_reaches_the_teachers_news_and_leads_to_the_entry(new_page, live_server):
    username = live_server.create_user(
        f"e2e.news.{uuid.uuid4().hex[:6]}",
        password="Start-Passwort-1",
        class_="8a",
        first_name="Nele",
        last_name="Nachricht",
    )
    pupil = new_page()
    login(pupil, username, "Start-Passwort-1")
    pupil.get_by_label("Current password").fill("Start-Passwort-1")
    pupil.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    pupil.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    with pupil.expect_navigation():
        pupil.get_by_role("button", name="Change password").click()
    pupil.goto("/portfolio/kind/reflection/new")
    pupil.locator("main form input[type=text]").first.fill("Mein Weg zur Tischlerei")
    pupil.locator("main form textarea").first.fill("Ich arbeite gern mit Holz.")
    with pupil.expect_navigation():
        pupil.get_by_role("button", name="Save").click()
    pupil.locator("#feedback summary").click()
    hand_in = pupil.locator("form[action$='/hand-in']")
    hand_in.get_by_role("checkbox", name=re.compile(r"^My class teacher")).check()
    with pupil.expect_navigation():
        hand_in.get_by_role("button", name="Ask for feedback").click()

    teacher = new_page()
    login(teacher, "klassenlehrerin8a")
    news = teacher.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name=re.compile(r"^News")
    )
    expect(news).to_contain_text("unread")
    news.click()
    notice = teacher.get_by_role("link", name=re.compile(r"Nele Nachricht asked for feedback"))
    expect(notice).to_be_visible()
    with teacher.expect_navigation():
        notice.click()
    assert re.search(r"/review/pupils/\d+#entry-\d+$", teacher.url), teacher.url
    expect(teacher.get_by_text("Mein Weg zur Tischlerei").first).to_be_visible()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_the_email_settings_page_for_a_turkish_parent(new_page, viewport):
    page = new_page(viewport=viewport, axe=True)
    login(page, "eltern.yilmaz")  # stored language: Turkish
    page.goto("/news/")
    with page.expect_navigation():
        page.locator("main a[href$='/news/settings']").click()
    assert not inline_policy_problems(page)
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    expect(page.locator("main input[type=email]")).to_be_visible()
    expect(page.locator("main input[type=radio][value=digest]")).to_be_checked()
    page.screenshot(
        path=str(screenshot_dir() / f"notifications-settings-tr-{viewport['width']}.png"),
        full_page=True,
    )
    assert_accessible(page, "e-mail settings")
    if viewport is PHONE:
        assert_phone_ready(page, "e-mail settings")
    # A wrong address is refused at the field and kept.
    page.locator("main input[type=email]").fill("yilmaz at example")
    with page.expect_navigation():
        page.locator("main form.bwp-form button[type=submit]").click()
    expect(page.locator("main input[type=email]")).to_have_value("yilmaz at example")
    expect(page.locator("#email-error")).to_be_visible()
    assert_accessible(page, "e-mail settings with an error")
