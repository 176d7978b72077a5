"""Issue 16 item 2 as a person sees it: after many wrong passwords the login page says how
long to wait and keeps the username; the owner's own browser gets in at once."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from .helpers import PHONE, assert_accessible, screenshot_dir

pytestmark = pytest.mark.e2e


def _attempt(page, username: str, password: str) -> None:
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


@pytest.mark.parametrize(
    "viewport", [PHONE, {"width": 1280, "height": 900}], ids=["phone", "desktop"]
)
def test_throttled_login_says_how_long_to_wait(new_page, viewport):
    page = new_page(viewport=viewport, axe=True)
    name = f"nobody.{uuid.uuid4().hex[:8]}"  # unknown names are treated like real ones
    page.goto("/login")
    for i in range(5):
        _attempt(page, name, f"wrong-{i}")
        expect(page.get_by_role("alert").first).to_contain_text("Username or password is wrong.")
    _attempt(page, name, "wrong-again")
    alert = page.get_by_role("alert").filter(has_text="Too many failed attempts")
    expect(alert).to_contain_text(re.compile(r"Please wait 1 minute and try again\."))
    expect(alert).to_contain_text("On a device where you have logged in before")
    expect(page.locator("input[name=username]")).to_have_value(name)
    width = viewport["width"]
    page.screenshot(path=str(screenshot_dir() / f"login-wait-{width}.png"), full_page=True)
    overflow = page.evaluate("() => document.documentElement.scrollWidth > innerWidth")
    assert not overflow
    assert_accessible(page, f"throttled login at {width} px")
