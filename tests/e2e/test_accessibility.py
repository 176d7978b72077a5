"""Every main page of every role: axe-core (WCAG 2.1 A/AA), phone width, screenshots.

The pages are discovered, not listed: the public pages are reached from the welcome page,
each role's pages from its start page ("/"), every link of the header navigation, and a few
deeper pages linked from those pages' main content (an entry form, a pupil, a class ...).
A feature that registers a navigation link is covered as soon as it exists.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from .helpers import (
    DESKTOP,
    PHONE,
    axe_violations,
    format_violations,
    inline_policy_problems,
    login,
    phone_problems,
)

pytestmark = pytest.mark.e2e

#: (role label used in screenshot names, demo username, browser locale)
ROLES = [
    ("pupil8", "lukas.becker", "de-DE"),
    ("pupil9", "amira.haddad", "de-DE"),
    ("pupil10", "elif.yilmaz", "de-DE"),
    ("teacher", "klassenlehrerin8a", "de-DE"),
    ("stubo", "stubo", "de-DE"),
    ("counsellor", "berufsberatung", "de-DE"),
    ("admin", "schulleitung", "de-DE"),
    ("guardian", "eltern.yilmaz", "de-DE"),  # stored language: Turkish
    ("guardian-ar", "eltern.haddad", "de-DE"),  # stored language: Arabic (right-to-left)
]
#: Deeper pages per role (forms, a pupil, a class ...), one per URL pattern.
MAX_DEEP_PAGES = 4
#: Pages also run through axe at 360 px (the layout has no phone-only parts beyond the
#: header, so the start pages stand for the rest and keep the run short).
PHONE_AXE_PAGES = {"start", "welcome", "login"}
#: Links that leave the page, change state or download rather than show a page.
SKIP_LINK = re.compile(
    r"(logout|/download|/export|\.pdf$|\.json$|\.zip$|/file/|/files/)", re.IGNORECASE
)


def page_name(path: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return name or "home"


def pattern(url: str) -> str:
    """/review/pupils/17?filter=x -> /review/pupils/#: one visit per kind of page."""
    return re.sub(r"/\d+", "/#", urlsplit(url).path.rstrip("/")) or "/"


def last_traceback(log) -> str:
    text = log.read_text(errors="replace")
    start = text.rfind("Traceback (most recent call last)")
    return text[start:][-3000:] if start >= 0 else "(no traceback in the server log)"


class Audit:
    """Runs every check on a page and collects the failures instead of stopping at the first."""

    def __init__(self, page, role: str, server, screenshots):
        self.page, self.role, self.server, self.screenshots = page, role, server, screenshots
        self.origin = server.url
        self.seen: set[str] = set()
        self.failures: list[str] = []
        self.visited: list[str] = []

    def check(self, url: str, name: str, *, screenshot: bool) -> bool:
        """All checks on one page; `screenshot` marks a main page."""
        page = self.page
        page.set_viewport_size(DESKTOP)
        response = page.goto(url)
        path = urlsplit(page.url).path
        self.seen.update({pattern(url), pattern(page.url)})
        self.visited.append(f"{name} ({path})")
        if response is None or response.status >= 500:
            self.failures.append(
                f"{self.role}/{name}: {url} answered {response and response.status}\n"
                f"{last_traceback(self.server.log)}"
            )
            return False
        where = f"{self.role}/{name} {path}"
        for problem in inline_policy_problems(page):
            self.failures.append(f"CSP ({where}): {problem}")
        violations = axe_violations(page)
        if violations:
            self.failures.append(f"axe 1280px ({where}):\n{format_violations(violations)}")
        if screenshot:
            page.screenshot(path=self.screenshots / f"{self.role}-{name}-1280.png", full_page=True)
        page.set_viewport_size(PHONE)
        problems = phone_problems(page)
        if problems:
            self.failures.append(f"phone 360px ({where}):\n  " + "\n  ".join(problems))
        if name in PHONE_AXE_PAGES:
            known = {v["id"] for v in violations}
            phone_violations = [v for v in axe_violations(page) if v["id"] not in known]
            if phone_violations:
                self.failures.append(f"axe 360px ({where}):\n{format_violations(phone_violations)}")
        if screenshot:
            page.screenshot(path=self.screenshots / f"{self.role}-{name}-360.png", full_page=True)
        page.set_viewport_size(DESKTOP)
        return True

    def links(self, selector: str) -> list[str]:
        hrefs = self.page.eval_on_selector_all(selector, "els => els.map(a => a.href)")
        own = [h.split("#")[0] for h in hrefs if h.startswith(self.origin)]
        return [h for h in dict.fromkeys(own) if not SKIP_LINK.search(urlsplit(h).path)]

    def is_html(self, url: str) -> bool:
        response = self.page.request.get(url, max_redirects=0)
        return response.ok and response.headers.get("content-type", "").startswith("text/html")

    def crawl_deep(self, sources: list[str], limit: int) -> None:
        """Follow links of the main content, breadth first, one page per URL pattern."""
        queue, done = list(sources), 0
        while queue and done < limit:
            source = queue.pop(0)
            self.page.goto(source)
            for url in self.links("main a[href]"):
                if done >= limit:
                    break
                if pattern(url) in self.seen or not self.is_html(url):
                    continue
                if self.check(url, page_name(urlsplit(url).path), screenshot=False):
                    queue.append(url)
                    done += 1

    def assert_clean(self) -> None:
        report = "\n".join(self.failures)
        assert not self.failures, (
            f"{self.role}: {len(self.failures)} problem(s) on {len(self.visited)} page(s) "
            f"{', '.join(self.visited)}\n{report}"
        )


@pytest.mark.parametrize("locale", ["de-DE", "ar"])
def test_public_pages(new_page, live_server, screenshots, locale):
    """Welcome, login, accessibility statement, privacy, 404 and whatever the welcome page
    links to (the guardian registration once it exists), in German and in Arabic."""
    role = "public" if locale == "de-DE" else "public-ar"
    page = new_page(locale=locale, axe=True)
    audit = Audit(page, role, live_server, screenshots)
    audit.check("/", "welcome", screenshot=True)
    assert page.locator("html").get_attribute("dir") == ("rtl" if locale == "ar" else "ltr")
    targets = audit.links("main a[href], footer a[href]")
    for url in targets:
        audit.check(url, page_name(urlsplit(url).path), screenshot=True)
    audit.check("/diese-seite-gibt-es-nicht", "404", screenshot=True)
    assert page.locator("h1").count() == 1
    audit.crawl_deep(targets, limit=MAX_DEEP_PAGES)
    audit.assert_clean()


@pytest.mark.parametrize(("role", "username", "locale"), ROLES, ids=[r[0] for r in ROLES])
def test_role_pages(new_page, live_server, screenshots, role, username, locale):
    """The role's start page, every header navigation link, and some deeper pages."""
    page = new_page(locale=locale, axe=True)
    login(page, username)
    audit = Audit(page, role, live_server, screenshots)
    audit.check("/", "start", screenshot=True)
    nav = audit.links("header nav a[href]")
    for url in nav:
        if pattern(url) in audit.seen:
            continue
        audit.check(url, page_name(urlsplit(url).path), screenshot=True)
    if role == "pupil8":
        # Pages every role shares; checked once, logged in (with navigation and footer).
        audit.check("/password", "password", screenshot=True)
        audit.check("/barrierefreiheit", "accessibility", screenshot=False)
    audit.crawl_deep([live_server.url + "/", *nav], limit=MAX_DEEP_PAGES)
    audit.assert_clean()
