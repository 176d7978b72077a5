#!/usr/bin/env python3
"""Every page of every role of the demo school, timed: `python -m tests.benchmarks.crawl`.

Seeds the demo school (`flask seed-demo`) into a fresh database (CRAWL_DATABASE_URL,
BENCH_DATABASE_URL or a temporary SQLite file, as `make run` uses), logs in as each demo
account, and follows what a user can reach by clicking: the page after login and the
links of the main navigation, then the links on those pages (one level further). Every
distinct page (up to `--per-endpoint` addresses of one route, e.g. three pupil pages) is
requested `--runs` times one after another, each request in its own app context as under
gunicorn. Reported per page: p50/p95 latency, the mean CPU time of a request (app and
database; on a busy machine the latency also measures the neighbours), SQL statements,
status; the target is p95 < 50 ms for every HTML page. Downloads (PDF, CSV, ZIP) are
listed with their times but have no latency target here (bench_pdf.py measures the PDF).

    python -m tests.benchmarks.crawl [--runs 20] [--roles stubo,berufsberatung] [--quick]

`run.py` (make bench) calls `crawl()` and writes its table into RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import event

P95_MS = 50
HREF = re.compile(r'href="(/[^"#]*)(?:#[^"]*)?"')
#: Never followed: leaving the session, static files, and addresses that start work.
SKIP = re.compile(r"^/(static/|logout|login|healthz|lang/|language)")
DOWNLOAD_TYPES = ("application/pdf", "text/csv", "application/zip", "application/json")


@dataclass
class PageTiming:
    role: str
    username: str
    path: str
    endpoint: str
    status: int = 0
    mimetype: str = ""
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    statements: int = 0

    @property
    def cpu_ms(self) -> float:
        """Mean CPU milliseconds per request (app and database, see cpu.py)."""
        return sum(self.cpu) / len(self.cpu) if self.cpu else 0.0

    @property
    def html(self) -> bool:
        return self.mimetype == "text/html"

    def pct(self, q: float) -> float:
        values = sorted(self.times)
        if not values:
            return 0.0
        return values[max(0, min(len(values) - 1, round(q / 100 * (len(values) - 1))))]

    @property
    def ok(self) -> bool:
        return self.status < 400 and (not self.html or self.pct(95) < P95_MS)


def demo_logins() -> list[tuple[str, str]]:
    """(role label, username) of the demo school: staff, then a pupil and a guardian."""
    from portfolio.seed.demo import GUARDIANS, STAFF

    logins = [(label, username) for label, username, *_rest in STAFF]
    logins.append(("Pupil (grade 10)", "elif.yilmaz"))
    logins.append(("Guardian", GUARDIANS[0][0]))
    return logins


def _endpoint(app, path: str) -> str:
    adapter = app.url_map.bind("localhost")
    parts = urllib.parse.urlsplit(path)
    try:
        endpoint, _args = adapter.match(parts.path, method="GET")
    except Exception:  # noqa: BLE001 (404, 405, redirects: not a page of ours)
        return ""
    return endpoint


def _links(html: str) -> list[str]:
    return [urllib.parse.unquote(h).replace("&amp;", "&") for h in HREF.findall(html)]


def discover(app, client, per_endpoint: int) -> list[tuple[str, str]]:
    """(path, endpoint) a user reaches: start page, navigation, and one level further."""
    first = client.get("/", follow_redirects=True)
    start = first.request.path
    seen_paths: set[str] = set()
    per: dict[str, int] = defaultdict(int)
    found: list[tuple[str, str]] = []

    def consider(path: str) -> bool:
        if SKIP.match(path) or path in seen_paths:
            return False
        endpoint = _endpoint(app, path)
        if not endpoint or endpoint == "static" or per[endpoint] >= per_endpoint:
            return False
        seen_paths.add(path)
        per[endpoint] += 1
        found.append((path, endpoint))
        return True

    level0 = [start] + _links(first.get_data(as_text=True))
    for path in level0:
        consider(path)
    for path, _endpoint_name in list(found):
        response = client.get(path)
        if response.mimetype != "text/html":
            continue
        for link in _links(response.get_data(as_text=True)):
            consider(link)
    return found


def crawl(
    app, password: str, *, runs: int = 20, per_endpoint: int = 3, roles=None
) -> list[PageTiming]:
    """Log in as each demo account and time every page it reaches (see the module doc)."""
    from portfolio.extensions import db
    from tests.benchmarks.cpu import CpuClock

    with app.app_context():
        engine = db.engine
    clock = CpuClock(engine)
    counter = {"n": 0}

    def count(*_args, **_kw):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    results: list[PageTiming] = []
    try:
        for label, username in demo_logins():
            if roles and username not in roles:
                continue
            client = app.test_client()
            login = client.post("/login", data={"username": username, "password": password})
            if login.status_code != 302:
                raise SystemExit(f"login of {username} failed: HTTP {login.status_code}")
            for path, endpoint in discover(app, client, per_endpoint):
                timing = PageTiming(label, username, path, endpoint)
                for _ in range(3):  # warm-up
                    client.get(path).get_data()
                for _ in range(runs):
                    counter["n"] = 0
                    started = time.perf_counter()
                    with clock:
                        response = client.get(path)
                        response.get_data()
                    timing.times.append((time.perf_counter() - started) * 1000)
                    timing.cpu.append(clock.last_ms)
                    timing.statements = max(timing.statements, counter["n"])
                timing.status, timing.mimetype = response.status_code, response.mimetype
                results.append(timing)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return results


def make_app(url: str | None):
    """The app on `url` (else a new SQLite file), migrated, with the demo school."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from portfolio import create_app
    from portfolio.extensions import db
    from portfolio.seed.demo import seed_demo

    tmp = tempfile.mkdtemp(prefix="bwp-crawl-")
    os.environ.setdefault("INSTANCE_PATH", tmp)
    url = url or f"sqlite:///{os.path.join(tmp, 'crawl.db')}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "UPLOAD_FOLDER": os.path.join(tmp, "uploads"),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "crawl",
        }
    )
    with app.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
        upgrade()
        seed_demo()
        db.session.commit()
        db.session.remove()
    return app


def table(results: list[PageTiming]) -> list[str]:
    """The results as a Markdown table, slowest page of each role first."""
    lines = [
        "| Role | Page | p50 ms | p95 ms | CPU ms | SQL | HTTP | Target |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        kind = "" if r.html else f" ({r.mimetype.split('/')[-1]})"
        verdict = ("ok" if r.ok else "**missed**") if r.html else "–"
        if r.status >= 400:
            verdict = "**error**"
        lines.append(
            f"| {r.role} | `{r.path}`{kind} | {r.pct(50):.1f} | {r.pct(95):.1f} | "
            f"{r.cpu_ms:.1f} | {r.statements} | {r.status} | {verdict} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CRAWL_DATABASE_URL") or os.environ.get("BENCH_DATABASE_URL"),
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--per-endpoint", type=int, default=3)
    parser.add_argument("--roles", help="usernames, comma-separated (default: all demo logins)")
    parser.add_argument("--quick", action="store_true", help="5 runs per page")
    args = parser.parse_args()
    if args.quick:
        args.runs = 5
    from portfolio.seed.demo import DEMO_PASSWORD

    app = make_app(args.database_url)
    roles = set(args.roles.split(",")) if args.roles else None
    results = crawl(app, DEMO_PASSWORD, runs=args.runs, per_endpoint=args.per_endpoint, roles=roles)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print("\n".join(table(results)))
    html = [r for r in results if r.html]
    missed = [r for r in html if not r.ok]
    print(f"\n{len(html)} HTML pages, {len(missed)} missed p95 < {P95_MS} ms; load average {load}")
    return 1 if missed or any(r.status >= 400 for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
