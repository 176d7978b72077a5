"""Helpers for the browser tests: login, axe-core, phone-width checks, screenshots.

Imported by the browser tests as `from .helpers import ...`; helpers shared with the other
tests live in `tests/support/`.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

E2E = Path(__file__).resolve().parent
AXE_JS = E2E / "node_modules" / "axe-core" / "axe.min.js"
DEMO_PASSWORD = "Demo-Berufswahl-26"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


def login(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form; the page ends on whatever the app shows next."""
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert "/login" not in urlsplit(page.url).path, f"login of {username} failed"


NEW_PASSWORD = "Mein-neues-Passwort-2026"


def unique(prefix: str) -> str:
    """A username nobody has yet (the live server's database lives for the whole run)."""
    return f"{prefix}.{uuid.uuid4().hex[:8]}"


def change_password(page, current: str, new: str = NEW_PASSWORD) -> None:
    """The forced first change of a new account's password."""
    page.get_by_label("Current password").fill(current)
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("Repeat the new password").fill(new)
    with page.expect_navigation():
        page.get_by_role("button", name="Change password").click()


def logout(page) -> None:
    with page.expect_navigation():
        page.locator("form[action$='/logout'] button").click()


# --- accessibility and phone-width checks -----------------------------------------------------

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page) -> list[dict]:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) on the page; return the violations."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `make e2e-deps` (npm ci --prefix tests/e2e)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        "tags => axe.run(document, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return result["violations"]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} element(s))")
        for node in v["nodes"][:8]:
            target = " ".join(
                json.dumps(t) if not isinstance(t, str) else t for t in node["target"]
            )
            html = re.sub(r"\s+", " ", node["html"])[:200]
            lines.append(f"      {target}\n        {html}")
            summary = (node.get("failureSummary") or "").strip().splitlines()
            if len(summary) > 1:
                lines.append(f"        -> {summary[1].strip()[:200]}")
    return "\n".join(lines)


def assert_accessible(page, name: str) -> None:
    """Fail with rule id, impact, selectors and HTML of every axe violation on the page."""
    violations = axe_violations(page)
    assert not violations, f"axe: {name} ({page.url}):\n{format_violations(violations)}"


_PHONE_CHECKS_JS = (E2E / "phone_checks.js").read_text()


def phone_problems(page, min_target: int = 44) -> list[str]:
    """Horizontal scrolling and touch targets smaller than min_target CSS px."""
    # Measured once the stylesheets are in: after a click, the new page's heading can be
    # there before them (a busy machine), and unstyled every target is small.
    page.wait_for_load_state("load")
    found = page.evaluate(_PHONE_CHECKS_JS, min_target)
    problems = []
    if found["overflow"]:
        problems.append(
            f"horizontal scrolling: scrollWidth {found['scrollWidth']} > clientWidth "
            f"{found['clientWidth']}; too wide: " + "; ".join(found["overflow"])
        )
    for t in found["targets"]:
        problems.append(
            f"touch target {t['width']}x{t['height']} px < {min_target}: "
            f"{t['selector']} {t['html']}"
        )
    return problems


def assert_phone_ready(page, name: str) -> None:
    problems = phone_problems(page)
    assert not problems, f"phone width: {name} ({page.url}):\n  " + "\n  ".join(problems)


def inline_policy_problems(page) -> list[str]:
    """What the strict CSP would block: style attributes, inline scripts, on* handlers."""
    return page.evaluate(
        """() => {
          const out = [];
          const short = el => el.outerHTML.replace(/\\s+/g, ' ').slice(0, 160);
          document.querySelectorAll('[style]')
            .forEach(el => out.push('style attribute: ' + short(el)));
          document.querySelectorAll('script:not([src])')
            .forEach(el => out.push('inline script: ' + short(el)));
          document.querySelectorAll('*').forEach(el => {
            for (const a of el.attributes) {
              if (/^on/i.test(a.name)) { out.push('handler ' + a.name + ': ' + short(el)); }
            }
          });
          return out;
        }"""
    )


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("E2E_SCREENSHOTS") or E2E / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


#: A PDF is made by a worker beside the server: allow for a busy machine.
JOB_WAIT = 120_000
JOB_PAGE = re.compile(r"/jobs/\d+$")


def download_by_job(page, button, timeout: int = JOB_WAIT):
    """Click a button that starts a job (a PDF, a ZIP), wait on the job's page until it
    offers the download (JavaScript polls, or the page reloads itself without it), take
    the file; returns Playwright's Download (path(), suggested_filename)."""
    from playwright.sync_api import expect

    with page.expect_navigation():
        button.click()
    expect(page).to_have_url(JOB_PAGE)
    link = page.locator("main a[href$='/download']")
    expect(link).to_be_visible(timeout=timeout)
    with page.expect_download() as download:
        link.click()
    return download.value
