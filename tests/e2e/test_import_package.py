"""Issue 14.5 and 16.6 in the browser: the school admin imports a take-away package from
the admin pages, checks the preview and confirms; importing it again is refused."""

from __future__ import annotations

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


def _upload(page, path) -> None:
    page.goto("/admin/import")
    page.get_by_label("Take-away package (ZIP)").set_input_files(str(path))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def test_admin_imports_a_package_with_a_preview_and_not_twice(new_page, live_server):
    package = live_server.folder / "elif.zip"
    live_server.flask(
        "export-portfolio", "--pupil", "elif.yilmaz", "--out", str(package), "--no-pdf"
    )
    admin = new_page(locale="en-GB", axe=True)
    login(admin, "schulleitung")
    admin.goto("/admin/")
    with admin.expect_navigation():
        admin.get_by_role("link", name="Import a portfolio").click()
    assert_accessible(admin, "import upload")

    _upload(admin, package)
    expect(admin.get_by_role("heading", name="Check the package")).to_be_visible()
    expect(admin.get_by_text("Elif Yılmaz").first).to_be_visible()
    # The pupil is still at this school: the preview names her account.
    expect(admin.get_by_text("elif.yilmaz", exact=False).first).to_be_visible()
    expect(admin.get_by_role("heading", name="What the package brings")).to_be_visible()
    assert inline_policy_problems(admin) == []  # before axe adds its own script
    assert_accessible(admin, "import preview")
    admin.screenshot(path=str(screenshot_dir() / "import-preview-1280.png"), full_page=True)
    admin.set_viewport_size(PHONE)
    assert_phone_ready(admin, "import preview")
    admin.screenshot(path=str(screenshot_dir() / "import-preview-360.png"), full_page=True)
    admin.set_viewport_size(DESKTOP)

    # No class: the live server is shared with the other browser tests, whose classes
    # (10a: 25 pupils, one Elif) must stay as the demo made them.
    expect(admin.get_by_label("Class in this school year")).to_be_visible()
    with admin.expect_navigation():
        admin.get_by_role("button", name="Import now").click()
    expect(admin.get_by_role("heading", name="Portfolio imported")).to_be_visible()
    expect(admin.get_by_text("Initial password")).to_be_visible()
    assert_accessible(admin, "import done")

    _upload(admin, package)
    expect(admin.get_by_text("This package was already imported")).to_be_visible()
