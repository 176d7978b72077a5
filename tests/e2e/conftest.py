"""Browser tests: one live server and one Chromium per test session.

The server is the real application (`wsgi:app` under gunicorn) on a fresh SQLite database
in a temporary folder, migrated with `flask db upgrade` and filled with `flask seed-demo`.
Each test gets a new browser context; every request a page makes is recorded and any host
other than the app's fails the test (the pages must load nothing from third parties).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
E2E = Path(__file__).resolve().parent
AXE_JS = E2E / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEMO_PASSWORD = "Demo-Berufswahl-26"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


# --- the server ------------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    folder: Path
    log: Path

    def flask(self, *args: str) -> str:
        """Run a `flask --app wsgi ...` command against the server's database; return stdout."""
        result = subprocess.run(
            [_bin("flask"), "--app", "wsgi", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120,
        )
        if result.returncode != 0:
            raise AssertionError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def create_user(self, username: str, *, role: str = "pupil", password: str,
                    first_name: str = "Test", last_name: str = "Person", **options: str) -> str:
        """A new account of the demo school (must change its password at first login)."""
        args = ["create-user", "--school", "199001", "--role", role, "--username", username,
                "--first-name", first_name, "--last-name", last_name, "--password", password]
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", value]
        self.flask(*args)
        return username


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the live server exited ({proc.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the live server did not answer within {timeout:.0f} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> LiveServer:
    folder = tmp_path_factory.mktemp("e2e-server")
    env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_URL", "DATABASE_URL"}}
    env.update(
        PORTFOLIO_ENV="development",
        INSTANCE_PATH=str(folder / "instance"),
        UPLOAD_FOLDER=str(folder / "uploads"),
        DATABASE_URL=f"sqlite:///{folder / 'e2e.db'}",
        SECRET_KEY="e2e-secret-key-not-for-production",
        RATELIMIT_STORAGE_URI="memory://",
        LOGIN_LIMIT_PER_ACCOUNT="1000 per minute",
        LOGIN_LIMIT_PER_ADDRESS="1000 per minute",
        PYTHONDONTWRITEBYTECODE="1",
    )
    port = _free_port()
    server = LiveServer(url=f"http://127.0.0.1:{port}", env=env, folder=folder,
                        log=folder / "server.log")
    server.flask("db", "upgrade")
    server.flask("seed-demo")
    with open(server.log, "wb") as log:
        proc = subprocess.Popen(
            [_bin("gunicorn"), "--workers", "1", "--threads", "2", "--bind", f"127.0.0.1:{port}",
             "--access-logfile", "-", "--graceful-timeout", "2", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(server.url, proc, server.log)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make sysdeps` (Debian package chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Recorder:
    """Every request of a browser context; hosts other than the app's are a failure."""

    origin: str
    urls: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        own = urlsplit(self.origin).netloc
        return [
            u for u in self.urls
            if not u.startswith(("data:", "blob:", "about:")) and urlsplit(u).netloc != own
        ]


@pytest.fixture
def new_page(browser, live_server):
    """new_page(viewport=DESKTOP, locale="en-GB", axe=False) -> a page in a new context.

    `axe=True` opens the context with bypass_csp so that the test can inject axe-core: the
    app's CSP rightly forbids the inline script Playwright adds.
    """
    contexts = []

    def make(viewport=DESKTOP, locale="en-GB", axe=False):
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, locale=locale, bypass_csp=axe,
        )
        context.set_default_timeout(10_000)
        recorder = Recorder(live_server.url)
        context.on("request", lambda request: recorder.urls.append(request.url))
        contexts.append((context, recorder))
        return context.new_page()

    yield make
    foreign = []
    for context, recorder in contexts:
        foreign += recorder.foreign()
        context.close()
    assert not foreign, "requests to other hosts:\n  " + "\n  ".join(sorted(set(foreign)))


@pytest.fixture
def page(new_page):
    """A desktop page in English (the source language of all UI strings)."""
    return new_page()


def login(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form; the page ends on whatever the app shows next."""
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert "/login" not in urlsplit(page.url).path, f"login of {username} failed"


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
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return result["violations"]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} element(s))")
        for node in v["nodes"][:8]:
            target = " ".join(json.dumps(t) if not isinstance(t, str) else t for t in node["target"])
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
    found = page.evaluate(_PHONE_CHECKS_JS, min_target)
    problems = []
    if found["overflow"]:
        problems.append(
            f"horizontal scrolling: scrollWidth {found['scrollWidth']} > clientWidth "
            f"{found['clientWidth']}; too wide: " + "; ".join(found["overflow"])
        )
    for t in found["targets"]:
        problems.append(f"touch target {t['width']}x{t['height']} px < {min_target}: {t['selector']} {t['html']}")
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
          document.querySelectorAll('[style]').forEach(el => out.push('style attribute: ' + short(el)));
          document.querySelectorAll('script:not([src])').forEach(el => out.push('inline script: ' + short(el)));
          document.querySelectorAll('*').forEach(el => {
            for (const a of el.attributes) { if (/^on/i.test(a.name)) { out.push('handler ' + a.name + ': ' + short(el)); } }
          });
          return out;
        }"""
    )


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("E2E_SCREENSHOTS") or E2E / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The folder for screenshots (env E2E_SCREENSHOTS, default tests/e2e/screenshots/), emptied."""
    folder = screenshot_dir()
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


@pytest.fixture(autouse=True)
def _clean():
    """Browser tests use the live server's own database: no per-test emptying of the test DB."""
    yield
