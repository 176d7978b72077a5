"""The heavy downloads come from the job queue (a real worker beside the live server):
the class teacher's ZIP of the whole class with progress shown while JavaScript polls,
and a pupil's take-away package with JavaScript off (the page reloads itself)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .helpers import PHONE, assert_accessible, assert_phone_ready, login, screenshot_dir

pytestmark = pytest.mark.e2e

JOB_PAGE = re.compile(r"/jobs/\d+$")


def test_class_teacher_gets_the_class_zip_with_progress(new_page):
    page = new_page(viewport=PHONE, axe=True)
    login(page, "klassenlehrerin10a")
    page.goto("/review/classes")
    page.locator("main a[href*='/review/classes/']").first.click()
    with page.expect_navigation():
        page.locator("form[action$='/zip'] button").click()
    expect(page).to_have_url(JOB_PAGE)
    expect(page.locator("h1")).to_contain_text("(ZIP)")
    assert_accessible(page, "job page while waiting")
    assert_phone_ready(page, "job page while waiting")
    page.screenshot(path=str(screenshot_dir() / "job-class-zip-running-360.png"))
    # JavaScript follows the worker's progress in the live region, then shows the result
    # (a fast worker may finish before a step is seen: the final count is checked below).
    ready = page.get_by_text("The file is ready.")
    expect(ready).to_be_visible(timeout=240_000)
    status = page.request.get(page.url + ".json").json()
    assert status["state"] == "done" and status["done"] == status["total"] == 25
    page.screenshot(path=str(screenshot_dir() / "job-class-zip-ready-360.png"))
    assert_accessible(page, "job page when ready")
    assert_phone_ready(page, "job page when ready")
    with page.expect_download() as download_info:
        page.locator("main a[href$='/download']").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    assert len([n for n in archive.namelist() if n.endswith(".pdf")]) == 25
    # "My downloads" lists it.
    page.goto("/jobs/")
    expect(page.locator("main a[href$='/download']")).to_have_count(1)


def test_pupil_makes_the_takeaway_package_without_javascript(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, locale="en-GB"
    )
    try:
        page = context.new_page()
        login(page, "elif.yilmaz")
        page.goto("/privacy/")
        page.locator("main a[href$='/take-away']").first.click()
        takeaway_url = page.url
        with page.expect_navigation():
            page.locator("main form[action$='/take-away'] button").click()
        expect(page).to_have_url(JOB_PAGE)
        # Without JavaScript the page reloads itself until the package is ready.
        expect(page.get_by_text("The file is ready.")).to_be_visible(timeout=120_000)
        page.screenshot(path=str(screenshot_dir() / "job-takeaway-ready-1280.png"))
        with page.expect_download() as download_info:
            page.locator("main a[href$='/download']").click()
        archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
        assert {"portfolio.pdf", "portfolio.json", "README.txt"} <= set(archive.namelist())
        # The take-away page now offers the finished package directly.
        page.goto(takeaway_url)
        expect(page.locator("main a[href$='/download']")).to_have_count(1)
    finally:
        context.close()


def test_guardian_gets_the_childs_pdf_from_the_queue_without_javascript(browser, live_server):
    """The parents' evening click: the PDF is made by the worker, not in the request; the
    job page reloads itself until it offers the file (no JavaScript needed)."""
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, locale="en-GB"
    )
    try:
        page = context.new_page()
        login(page, "eltern.yilmaz")
        page.goto("/family/")
        page.locator("main a[href*='/family/child/']").first.click()
        child_url = page.url
        with page.expect_navigation():
            page.locator("main form[action$='/portfolio.pdf'] button").click()
        expect(page).to_have_url(JOB_PAGE)
        # In the family's stored language (Turkish): the title names the child.
        expect(page.locator("h1")).to_contain_text("Berufswahlpass")
        expect(page.locator("h1")).to_contain_text("(PDF)")
        expect(page.locator("main a[href$='/download']")).to_be_visible(timeout=120_000)
        page.screenshot(path=str(screenshot_dir() / "job-guardian-pdf-ready-1280.png"))
        with page.expect_download() as download_info:
            page.locator("main a[href$='/download']").click()
        data = Path(download_info.value.path()).read_bytes()
        assert data.startswith(b"%PDF")
        assert download_info.value.suggested_filename.endswith(".pdf")
        # "Back" leads to the child's page; "My downloads" lists the file.
        assert page.locator(f"a[href='{urlsplit(child_url).path}']").count() >= 1
        page.goto("/jobs/")
        expect(page.locator("main a[href$='/download']")).to_have_count(1)
    finally:
        context.close()
