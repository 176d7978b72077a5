"""Issue 14 in the browser: the class teacher of 10a and the StuBO at 360 and 1280 px, in
German and Turkish. The class overview fits 1280 px without sideways scrolling (also with
every optional element in use) and becomes cards at 360 px; axe finds nothing; the
teacher ticks pupils, marks what waits as reviewed and goes from pupil to pupil; the
grade-10 pupil and her class teacher reach a generated PDF by following links."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .helpers import (
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_phone_ready,
    download_by_job,
    login,
    screenshot_dir,
)

pytestmark = pytest.mark.e2e

VIEWPORTS = {"360": PHONE, "1280": DESKTOP}
WIDTHS = """() => {
  const root = document.scrollingElement;
  const wrap = document.querySelector('.bwp-matrix-wrap');
  return {doc: root.scrollWidth, docClient: root.clientWidth,
          table: wrap ? wrap.scrollWidth : 0, tableClient: wrap ? wrap.clientWidth : 0};
}"""


@pytest.fixture(scope="module")
def optional_columns(live_server):
    """Somebody in 9a takes part in each optional element: the widest class overview."""
    live_server.python(
        """
import sqlalchemy as sa
from portfolio.extensions import db
from portfolio.models import ClassMembership as M, Entry, SchoolClass
cls = db.session.scalar(sa.select(SchoolClass).where(SchoolClass.name == "9a"))
query = sa.select(M.pupil_id).where(M.class_id == cls.id).order_by(M.pupil_id)
ids = db.session.scalars(query).all()
for kind, pid in (("praxiskurs", ids[5]), ("langzeitpraktikum", ids[6])):
    db.session.add(
        Entry(school_id=cls.school_id, pupil_id=pid, kind=kind, grade="9", data={})
    )
db.session.commit()
"""
    )


def _class_url(page, name: str) -> str:
    page.goto("/review/classes")
    href = page.locator("main a[href*='/review/classes/']", has_text=name).first.get_attribute(
        "href"
    )
    return urlsplit(href).path


def _shot(page, name: str) -> None:
    page.screenshot(path=str(screenshot_dir() / f"teachers-{name}.png"), full_page=True)


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("locale", ["de-DE", "tr-TR"])
@pytest.mark.parametrize("user,class_name", [("klassenlehrerin10a", "10a"), ("stubo", "9a")])
def test_class_overview_fits_and_is_accessible(
    new_page, optional_columns, user, class_name, locale, width
):
    page = new_page(viewport=VIEWPORTS[width], locale=locale, axe=True)
    login(page, user)
    page.goto(_class_url(page, class_name))
    expect(page.locator("table.bwp-matrix")).to_be_visible()
    lang = locale[:2]
    _shot(page, f"overview-{user}-{lang}-{width}")
    measured = page.evaluate(WIDTHS)
    assert measured["doc"] <= measured["docClient"], measured
    if width == "1280":
        # The whole matrix is visible: no sideways scrolling inside its box either.
        assert measured["table"] <= measured["tableClient"], measured
        assert page.locator(".bwp-legend").is_visible()
    else:
        assert_phone_ready(page, f"class overview {class_name}")
        assert not page.locator(".bwp-legend").is_visible()
        # Cards: the words of each state are there to read, not only icons.
        assert page.locator(".bwp-matrix .bwp-state__text").first.is_visible()
    assert_accessible(page, f"class overview {class_name} ({locale}, {width})")

    # The pupil page with previous/next, and the help page.
    page.locator(".bwp-matrix__who a").nth(1).click()
    expect(page.locator("nav.bwp-pager").first).to_be_visible()
    _shot(page, f"pupil-{user}-{lang}-{width}")
    assert_accessible(page, f"pupil page ({locale}, {width})")
    if width == "360":
        assert_phone_ready(page, "pupil page")
    page.goto("/help/")
    expect(page.locator("h1")).to_be_visible()
    _shot(page, f"help-{user}-{lang}-{width}")
    assert_accessible(page, f"help ({locale}, {width})")
    if width == "360":
        assert_phone_ready(page, "help page")


def test_teacher_ticks_all_marks_reviewed_and_goes_from_pupil_to_pupil(new_page):
    page = new_page(viewport=DESKTOP, locale="en-GB", axe=True)
    login(page, "klassenlehrerin10a")
    overview = _class_url(page, "10a")
    page.goto(overview + "?filter=feedback")
    rows = page.locator(".bwp-matrix__who a")
    waiting = rows.count()
    assert waiting >= 2
    names = rows.all_inner_texts()

    # Next pupil: in the overview's order and filter.
    rows.first.click()
    expect(page.locator("#pager-top")).to_contain_text(f"1 of {waiting}")
    page.locator("nav.bwp-pager a[rel=next]").first.click()
    expect(page.locator("h1")).to_have_text(" ".join(reversed(names[1].split(", "))))
    expect(page.locator("#pager-top")).to_contain_text(f"2 of {waiting}")
    page.locator("nav.bwp-pager a[rel=prev]").first.click()
    expect(page.locator("#pager-top")).to_contain_text(f"1 of {waiting}")

    # Tick all with JavaScript: in place, the page stays.
    page.goto(overview + "?filter=feedback")
    page.locator("a[data-check-all]").click()
    assert urlsplit(page.url).query == "filter=feedback"
    expect(page.locator("input[name=pupil]:checked")).to_have_count(waiting)
    page.locator("button[name=action][value=review]").click()
    expect(page.locator("h1")).to_have_text("Mark as reviewed")
    _shot(page, "bulk-review-en-1280")
    assert_accessible(page, "bulk review confirmation")
    entries = page.locator("input[name=entry]")
    listed = entries.count()
    assert listed >= waiting
    # One left for later.
    entries.last.uncheck()
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".bwp-flashes")).to_contain_text(
        f"{listed - 1} entries were marked as reviewed"
    )
    assert "filter=feedback" in urlsplit(page.url).query
    expect(page.locator(".bwp-matrix__who a")).to_have_count(1)
    assert_accessible(page, "class overview after bulk review")


def test_grade_10_pupil_and_class_teacher_reach_a_pdf_by_links(new_page):
    page = new_page(viewport=PHONE, locale="de-DE")
    login(page, "elif.yilmaz")
    page.locator("header nav a[href$='/export/mine/choose']").click()
    expect(page.locator("h1")).to_have_text("Berufswahlpass als PDF")
    assert_phone_ready(page, "Berufswahlpass als PDF")
    # The PDF is made by the jobs worker; its page offers the download when ready.
    pdf = download_by_job(page, page.locator("main form[action$='/portfolio.pdf'] button"))
    assert Path(pdf.path()).read_bytes().startswith(b"%PDF")
    page.goto("/export/mine/choose")
    expect(page.locator("main a[href*='/take-away']")).to_be_visible()

    page = new_page(viewport=DESKTOP, locale="de-DE")
    login(page, "klassenlehrerin10a")
    page.locator("main a[href*='/review/classes/']").first.click()
    page.locator(".bwp-matrix__who a", has_text="Yılmaz, Elif").click()
    pdf = download_by_job(page, page.locator("main form[action*='/portfolio.pdf'] button"))
    assert Path(pdf.path()).read_bytes().startswith(b"%PDF")
    assert re.search(r"\.pdf$", pdf.suggested_filename)
