#!/usr/bin/env python3
"""Every page of every role of the demo school, timed: `python -m tests.benchmarks.crawl`.

Seeds the demo school (`flask seed-demo`) into a fresh database (CRAWL_DATABASE_URL,
BENCH_DATABASE_URL or a temporary SQLite file, as `make run` uses), logs in as each demo
account (the staff, the three featured pupils of grades 8, 9 and 10 and their families),
and follows what a user can reach by clicking: the page after login and the links of the
main navigation, then the links on those pages, breadth first, `--depth` clicks deep
(default 3: a class, a pupil of it, the pupil's agreement). Staff also start from the
featured pupils' pages (the demo's richest portfolios, which a list's first pupils are
not), and each role starts the background jobs its pages offer (class ZIP, login slips,
take-away package; queued, not run) so that "My downloads" and the job pages are timed.
Every distinct page (up to `--per-endpoint` addresses of one route, e.g. three pupil
pages) is requested `--runs` times one after another, each request in its own app
context as under gunicorn. Reported per page: p50/p95 latency, the mean CPU time of a
request (app and database; on a busy machine the latency also measures the neighbours),
SQL statements, status; the target is p95 < 50 ms for every HTML page. Downloads (PDF,
CSV, ZIP) are listed with their times but have no latency target here (bench_pdf.py
measures the PDF), after one warm-up, three times only. At the end it lists the GET
routes no role reached (`unreached`): routes only a token in a letter or e-mail opens
are expected there, any other is a page the crawler misses.

    python -m tests.benchmarks.crawl [--runs 20] [--roles stubo,berufsberatung] [--quick]
        [--depth 3] [--per-endpoint 3] [--slowest 0]

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
#: Requests of a download (no latency target here; PDFs take seconds).
DOWNLOAD_RUNS = 3
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
    """(role label, username) of the demo school: staff, the featured pupils, their families."""
    from portfolio.seed.demo import FEATURED_PUPILS, GUARDIANS, STAFF

    logins = [(label, username) for label, username, *_rest in STAFF]
    for cls, (username, *_rest) in FEATURED_PUPILS.items():
        logins.append((f"Pupil {cls}", username))
    for username, _first, _last, locale, _children in GUARDIANS:
        logins.append((f"Guardian ({locale})", username))
    return logins


#: GET routes no page links to: opened from a letter, an e-mail or a job's message with a
#: token (or the JSON a job page polls), or not a page. Listed as expected in `unreached`.
LINKLESS = {
    "static",
    "main.healthz",
    "auth.login",
    "rate.rate",
    "guardian.register",
    "notifications.confirm",
    "notifications.unsubscribe",
    "roster.download",
    "roster.preview",
    "privacy.import_package",
    "jobs.status_json",
}
#: POST routes that start a background job: the crawler starts one of each it finds a form
#: for (the job stays queued), so that the job pages and "My downloads" are timed.
#: (Not the login slips: they set new initial passwords.)
JOB_STARTS = {"export.class_zip", "privacy.takeaway", "privacy.leaver_takeaway"}
FORM = re.compile(r'<form[^>]*action="(/[^"]*)"[^>]*method="post"', re.I)
FORM_REVERSED = re.compile(r'<form[^>]*method="post"[^>]*action="(/[^"]*)"', re.I)


def _endpoint(app, path: str, method: str = "GET") -> str:
    adapter = app.url_map.bind("localhost")
    parts = urllib.parse.urlsplit(path)
    try:
        endpoint, _args = adapter.match(parts.path, method=method)
    except Exception:  # noqa: BLE001 (404, 405, redirects: not a page of ours)
        return ""
    return endpoint


def _links(html: str) -> list[str]:
    return [urllib.parse.unquote(h).replace("&amp;", "&") for h in HREF.findall(html)]


def _job_forms(html: str) -> list[str]:
    return [a.replace("&amp;", "&") for a in FORM.findall(html) + FORM_REVERSED.findall(html)]


def extra_starts(app) -> list[str]:
    """Starting points beside the navigation: the staff pages of the demo's featured pupils
    (grades 8, 9, 10), and a search on the leaving page; kept for whoever may open them."""
    import sqlalchemy as sa

    from portfolio.extensions import db
    from portfolio.models import User
    from portfolio.seed.demo import FEATURED_PUPILS

    names = [username for username, *_rest in FEATURED_PUPILS.values()]
    with app.app_context():
        ids = db.session.scalars(sa.select(User.id).where(User.username.in_(names))).all()
        db.session.remove()
    pages = [f"/review/pupils/{pupil_id}" for pupil_id in sorted(ids)]
    # The leaving page finds pupils by a search form (its results link to "mark as left").
    return pages + ["/admin/leaving?q=Becker"]


class _Discovery:
    """The breadth-first walk of `discover`: pages found, per route at most `per_endpoint`."""

    def __init__(self, app, client, per_endpoint: int) -> None:
        self.app, self.client, self.per_endpoint = app, client, per_endpoint
        self.seen: set[str] = set()
        self.per: dict[str, int] = defaultdict(int)
        self.found: list[tuple[str, str]] = []
        self.queue: list[tuple[str, int]] = []
        self.started: set[str] = set()

    def consider(self, path: str, level: int) -> None:
        if SKIP.match(path) or path in self.seen:
            return
        endpoint = _endpoint(self.app, path)
        if not endpoint or endpoint == "static" or self.per[endpoint] >= self.per_endpoint:
            return
        self.seen.add(path)
        self.per[endpoint] += 1
        self.found.append((path, endpoint))
        self.queue.append((path, level))

    def start_jobs(self, html: str, level: int) -> None:
        """Send the first form of each job-starting route; keep the job page it leads to."""
        for action in _job_forms(html):
            endpoint = _endpoint(self.app, action, "POST")
            if endpoint in JOB_STARTS and endpoint not in self.started:
                self.started.add(endpoint)
                response = self.client.post(action)
                if response.status_code in (302, 303):
                    self.consider(urllib.parse.urlsplit(response.location).path, level)

    def open(self, path: str):
        response = self.client.get(path)
        response.close()  # a streamed download (CSV) ends its request context here
        return response


def discover(
    app, client, per_endpoint: int, depth: int = 3, extra: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """(path, endpoint) a user reaches: start page and navigation, then `depth` clicks on.

    `extra` are further starting points (kept when the user may open them); a form that
    starts a background job (JOB_STARTS) is sent once per route, and the job page it
    leads to is kept, as is "My downloads".
    """
    walk = _Discovery(app, client, per_endpoint)
    first = client.get("/", follow_redirects=True)
    walk.consider(first.request.path, 0)
    for path in _links(first.get_data(as_text=True)):
        walk.consider(path, 0)
    for path in extra:
        if walk.open(path).status_code == 200:
            walk.consider(path, 0)
    while walk.queue:
        path, level = walk.queue.pop(0)
        response = walk.open(path)
        if response.status_code in (301, 302, 303):
            walk.consider(urllib.parse.urlsplit(response.location).path, level)
        elif response.status_code == 200 and response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            walk.start_jobs(html, level)
            for link in _links(html) if level < depth else ():
                walk.consider(link, level + 1)
    if walk.started:
        walk.consider("/jobs/", depth)
    return walk.found


def unreached(app, results: list[PageTiming]) -> tuple[list[str], list[str]]:
    """GET routes no role reached: (expected ones from LINKLESS, missed ones)."""
    reached = {r.endpoint for r in results}
    routes = sorted(
        {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}
    )
    missing = [e for e in routes if e not in reached]
    return [e for e in missing if e in LINKLESS], [e for e in missing if e not in LINKLESS]


def crawl(
    app,
    password: str,
    *,
    runs: int = 20,
    per_endpoint: int = 3,
    roles=None,
    depth: int = 3,
) -> list[PageTiming]:
    """Log in as each demo account and time every page it reaches (see the module doc)."""
    from portfolio.extensions import db
    from tests.benchmarks.cpu import CpuClock

    with app.app_context():
        engine = db.engine
    clock = CpuClock(engine)
    counter = {"n": 0}
    featured = tuple(extra_starts(app))

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
            for path, endpoint in discover(app, client, per_endpoint, depth, featured):
                timing = PageTiming(label, username, path, endpoint)
                response = client.get(path)  # warm-up (--list: the status only)
                response.get_data()
                download = response.mimetype != "text/html"
                for _ in range(0 if download or not runs else 2):
                    client.get(path).get_data()
                for _ in range(min(runs, DOWNLOAD_RUNS) if download else runs):
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
    parser.add_argument("--depth", type=int, default=3, help="clicks from the navigation")
    parser.add_argument("--quick", action="store_true", help="5 runs per page")
    parser.add_argument("--list", action="store_true", help="only list the pages reached")
    args = parser.parse_args()
    if args.quick:
        args.runs = 5
    if args.list:
        args.runs = 0
    from portfolio.seed.demo import DEMO_PASSWORD

    app = make_app(args.database_url)
    roles = set(args.roles.split(",")) if args.roles else None
    results = crawl(
        app,
        DEMO_PASSWORD,
        runs=args.runs,
        per_endpoint=args.per_endpoint,
        roles=roles,
        depth=args.depth,
    )
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print("\n".join(table(results)))
    expected, missed_routes = unreached(app, results)
    print(f"\nGET routes no role reached: {', '.join(missed_routes) or 'none'}")
    print(f"(opened only from a letter, e-mail or token, as expected: {', '.join(expected)})")
    html = [r for r in results if r.html]
    missed = [r for r in html if not r.ok]
    print(f"\n{len(html)} HTML pages, {len(missed)} missed p95 < {P95_MS} ms; load average {load}")
    return 1 if missed or any(r.status >= 400 for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
