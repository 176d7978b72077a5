"""The strengths chart in the browser: the demo pupils' comparison page in German and
Arabic at 360 px and 1280 px. Nothing is clipped, the scale runs from the inline start,
every label is text in its own direction, axe finds nothing. Screenshots of the chart:
chart-<pupil>-<language>-<width>.png in the screenshot folder.
"""

from __future__ import annotations

import pytest

from .helpers import DESKTOP, PHONE, assert_accessible, inline_policy_problems, login

pytestmark = pytest.mark.e2e

#: What the test reads of the chart: boxes of the figure, its cells and labels, and
#: every element whose content is wider than its box (clipped or overflowing).
_GEOMETRY_JS = """() => {
  const fig = document.querySelector('figure.bwp-chart');
  const box = el => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, width: r.width}; };
  const clipped = [...fig.querySelectorAll('th, td, li, span:not(.kern-sr-only), figcaption')]
    .filter(el => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflow !== 'visible'
                  || el.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                  || el.getBoundingClientRect().left < -1)
    .map(el => el.outerHTML.slice(0, 120));
  return {
    figure: box(fig),
    viewport: document.documentElement.clientWidth,
    pageScroll: document.documentElement.scrollWidth,
    steps: [...fig.querySelectorAll('.bwp-chart__step')]
      .map(el => ({text: el.textContent, ...box(el)})),
    labels: [...fig.querySelectorAll('.bwp-chart__label')].map(el => ({
      text: el.textContent, dir: getComputedStyle(el).direction,
      textRight: (() => { const r = document.createRange(); r.selectNodeContents(el);
        return r.getBoundingClientRect().right; })(),
      textLeft: (() => { const r = document.createRange(); r.selectNodeContents(el);
        return r.getBoundingClientRect().left; })(),
      ...box(el)})),
    keys: fig.querySelectorAll('.bwp-chart__key').length,
    shapes: new Set([...fig.querySelectorAll('.bwp-chart__key svg')].map(s => s.innerHTML)).size,
    marks: fig.querySelectorAll('.bwp-chart__mark svg').length,
    clipped,
  };
}"""


@pytest.mark.parametrize("username", ["amira.haddad", "elif.yilmaz"])
@pytest.mark.parametrize("locale", ["de-DE", "ar"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_strengths_chart_fits_and_reads_in_the_pupils_language(
    new_page, screenshots, username, locale, viewport
):
    page = new_page(viewport=viewport, locale=locale, axe=viewport is DESKTOP)
    login(page, username)
    page.goto("/portfolio/strengths")
    lang = page.locator("html").get_attribute("lang")
    assert lang == locale[:2], f"{username} sees the page in {lang}"
    chart = page.locator("figure.bwp-chart")
    chart.scroll_into_view_if_needed()
    g = page.evaluate(_GEOMETRY_JS)
    assert g["pageScroll"] <= g["viewport"], f"horizontal scrolling: {g['pageScroll']}"
    assert g["clipped"] == [], g["clipped"]
    assert g["figure"]["right"] <= g["viewport"] and g["figure"]["left"] >= 0
    # A key entry and a shape of its own per assessment; marks for the ratings.
    assert g["keys"] >= 1 and g["shapes"] == g["keys"] and g["marks"] >= len(g["labels"])
    # The scale from the inline start: left to right in German, right to left in Arabic.
    lefts = [s["left"] for s in g["steps"]]
    rtl = locale == "ar"
    assert lefts == sorted(lefts, reverse=rtl), g["steps"]
    for label in g["labels"]:
        assert label["dir"] == ("rtl" if rtl else "ltr")
        if rtl:  # right-aligned, under the first scale step
            assert label["right"] - label["textRight"] < 16, label
        else:
            assert label["textLeft"] - label["left"] < 16, label
    assert inline_policy_problems(page) == []
    if viewport is DESKTOP:
        assert_accessible(page, f"strengths page of {username} ({locale})")
    width = viewport["width"]
    chart.screenshot(path=str(screenshots / f"chart-{username}-{locale[:2]}-{width}.png"))
