"""Browser tests: one live server and one Chromium per test session.

The server is the real application (`wsgi:app` under gunicorn, with one `flask jobs worker`
beside it, as `make run` starts them) on a fresh SQLite database in a temporary folder,
migrated with `flask db upgrade` and filled with `flask seed-demo`.
Each test gets a new browser context; every request a page makes is recorded and any host
other than the app's fails the test (the pages must load nothing from third parties).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.servers import free_port, stop

from .helpers import DESKTOP, screenshot_dir

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


CLI_APP = "portfolio:create_app({'PASSWORD_HASH_METHOD': 'pbkdf2:sha256:1000'})"


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
        """Run a `flask ...` command against the server's database; return stdout.

        The app is built with a cheap password hash for the accounts the tests create
        (the demo school has 85): scrypt would take most of the set-up time. The server
        itself runs `wsgi:app` unchanged and checks any hash by the method stored in it.
        """
        result = subprocess.run(
            [_bin("flask"), "--app", CLI_APP, *args],
            check=False,
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def python(self, code: str) -> str:
        """Run Python inside an app context of the server's database (services, not HTTP)."""
        script = (
            f"from {CLI_APP.split(':')[0]} import create_app\n"
            f"app = {CLI_APP.split(':', 1)[1]}\n"
            "with app.app_context():\n"
            + "".join(f"    {line}\n" for line in code.strip().splitlines())
        )
        result = subprocess.run(
            [sys.executable, "-c", script],
            check=False,
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise AssertionError(f"python snippet failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def create_user(
        self,
        username: str,
        *,
        role: str = "pupil",
        password: str,
        first_name: str = "Test",
        last_name: str = "Person",
        **options: str,
    ) -> str:
        """A new account of the demo school (must change its password at first login)."""
        args = [
            "create-user",
            "--school",
            "199001",
            "--role",
            role,
            "--username",
            username,
            "--first-name",
            first_name,
            "--last-name",
            last_name,
            "--password",
            password,
        ]
        for name, value in options.items():
            args += [f"--{name.rstrip('_').replace('_', '-')}", value]
        self.flask(*args)
        return username


def _gunicorn_command(port: int) -> list[str]:
    from gunicorn.config import KNOWN_SETTINGS

    command = [
        _bin("gunicorn"),
        "--workers",
        "1",
        "--threads",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logfile",
        "-",
        "--access-logformat",
        '"%(r)s" %(s)s %(M)sms',
        "--graceful-timeout",
        "2",
    ]
    if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
        # gunicorn >= 27 opens a control socket in ~/.gunicorn, shared by every instance.
        command.append("--no-control-socket")
    return [*command, "wsgi:app"]


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
def live_server() -> LiveServer:
    folder = Path(tempfile.mkdtemp(prefix="bwp-e2e-"))
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
    port = free_port()
    server = LiveServer(
        url=f"http://127.0.0.1:{port}", env=env, folder=folder, log=folder / "server.log"
    )
    server.flask("db", "upgrade")
    server.flask("seed-demo")
    with open(server.log, "wb") as log:
        proc = subprocess.Popen(
            _gunicorn_command(port),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    # One jobs worker on the embedded queue beside the server, as `make run` starts it.
    with open(folder / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [_bin("flask"), "--app", "wsgi", "jobs", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(server.url, proc, server.log)
        yield server
    finally:
        stop(worker)
        stop(proc)
        if not os.environ.get("E2E_KEEP_SERVER_FOLDER"):
            shutil.rmtree(folder, ignore_errors=True)


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
            u
            for u in self.urls
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
            base_url=live_server.url,
            viewport=viewport,
            locale=locale,
            bypass_csp=axe,
            # No smooth scrolling (see app.css): positions are final when the test reads them.
            reduced_motion="reduce",
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
