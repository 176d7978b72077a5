"""The grade-10 pupil's progress reads the same for her, her mother and her class teacher,
at phone and desktop width, in German, English and Turkish (the mother's language)."""

from __future__ import annotations

import re

import pytest

from .helpers import DESKTOP, PHONE, assert_phone_ready, login

pytestmark = pytest.mark.e2e

VIEWPORTS = {"360": PHONE, "1280": DESKTOP}


def _bar(page, selector: str) -> tuple[int, int]:
    """(value, max) of a <progress> element: the figure a bar shows."""
    bar = page.locator(selector).first
    return int(bar.get_attribute("value")), int(bar.get_attribute("max"))


def _shot(page, screenshots, name: str) -> None:
    page.screenshot(path=str(screenshots / f"progress-{name}.png"), full_page=True)


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("locale", ["de-DE", "tr-TR"])
def test_elif_her_mother_and_her_class_teacher_see_one_figure(new_page, screenshots, width, locale):
    viewport = VIEWPORTS[width]
    lang = locale[:2]
    seen = {}

    page = new_page(viewport=viewport, locale=locale)
    login(page, "elif.yilmaz")
    page.goto("/portfolio/")
    seen["pupil home"] = _bar(page, "#grade-progress")
    _shot(page, screenshots, f"pupil-home-{lang}-{width}")
    if width == "360":
        assert_phone_ready(page, "pupil home")
    page.goto("/portfolio/timeline")
    seen["timeline"] = _bar(page, "#progress-10")
    _shot(page, screenshots, f"timeline-{lang}-{width}")
    if width == "360":
        assert_phone_ready(page, "timeline")

    page = new_page(viewport=viewport, locale=locale)
    login(page, "eltern.yilmaz")
    page.goto("/family/")
    child_link = page.locator("a[href*='/family/child/']").first.get_attribute("href")
    pupil_id = re.search(r"/family/child/(\d+)", child_link)[1]
    seen["mother home"] = _bar(page, f"#progress-{pupil_id}")
    page.goto(child_link)
    seen["mother child page"] = _bar(page, "#progress-bar")
    _shot(page, screenshots, f"family-child-{lang}-{width}")
    if width == "360":
        assert_phone_ready(page, "family child page")

    page = new_page(viewport=viewport, locale=locale)
    login(page, "klassenlehrerin10a")
    page.goto("/review/classes")
    page.locator("a[href*='/review/classes/']").first.click()
    page.wait_for_load_state()
    seen["class overview"] = _bar(page, "progress[aria-label$='Elif Yılmaz']")
    _shot(page, screenshots, f"class-overview-{lang}-{width}")
    page.goto(f"/review/pupils/{pupil_id}")
    seen["staff pupil page"] = _bar(page, "progress[aria-label$='Elif Yılmaz']")

    assert len(set(seen.values())) == 1, seen
    done, total = next(iter(seen.values()))
    assert 0 < total and 0 <= done <= total
