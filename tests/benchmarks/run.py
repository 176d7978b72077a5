#!/usr/bin/env python3
"""`make bench`: latency, SQL statements and throughput of the main pages.

Runs against PostgreSQL (BENCH_DATABASE_URL; `make bench` starts a throwaway one),
seeds a district (40 schools x 250 pupils by default) plus schools sized for the list
pages (a Gesamtschule of 1,500 pupils in grades 8-10 for the StuBO's and the admin's
pages, a counsellor with 300 assigned pupils, and schools of 10, 100 and 1,500 pupils),
then reports for each main page p50/p95 latency, CPU time (tests/benchmarks/cpu.py: this
process and the PostgreSQL backends, what the page costs whatever the neighbours do) and
SQL statements per request, how both change with the list length, the throughput of
the pupil start page under gunicorn against the bare endpoint /healthz of the same server
in the same run (as a ratio), and the detailed PDF benchmark (bench_pdf.py).
Writes tests/benchmarks/RESULTS.md.

    python -m tests.benchmarks.run [--schools 40] [--pupils 250] [--runs 40] [--quick]
        [--sizes 10,100,1500] [--results FILE]

Every request runs in its own application context (as in production): nothing cached in
`g` or in the SQLAlchemy session carries over from one request to the next.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event

from portfolio import create_app, pagecache
from portfolio.extensions import db
from portfolio.models import (
    ClassMembership,
    CounsellorAssignment,
    Entry,
    GuardianLink,
    Role,
    SchoolClass,
    TeacherClass,
    User,
    UserRole,
)
from portfolio.seed.bulk import BULK_PASSWORD, seed_bulk
from tests.benchmarks.cpu import CpuClock, _proc_cpu
from tests.support.pgserver import create_database
from tests.support.servers import free_port, stop, wait_until_listening

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

#: Targets (issue 9), on a 2-core machine at district size.
P95_HTML_MS = 50
MAX_STATEMENTS = 15
THROUGHPUT_RATIO = 0.30
PDF_MEDIAN_S = 2.0


@dataclass
class Page:
    name: str
    size: str
    username: str
    path: str
    runs: int
    html: bool = True
    scale: int | None = None  # list length, for the scaling table
    #: The path starts a job (POST): timed from the click to the downloaded file, the job
    #: run in this process as a worker would (tests.support.jobs.fetch).
    job: bool = False
    #: Served as users get it: a page kept in memory (portfolio/pagecache.py) is answered
    #: from there. Otherwise every timed request renders (the page's own work).
    kept: bool = False


@dataclass
class Result:
    page: Page
    p50: float = 0.0
    p95: float = 0.0
    statements: int = 0
    status: int = 0
    note: str = ""
    cpu: float = 0.0  # mean CPU ms per request (app and database)


class StatementCounter:
    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, *args, **kwargs):
        self.count += 1


def percentile(values, q):
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(q / 100 * (len(values) - 1))))
    return values[k]


def measure(counter, clock, client, page: Page) -> Result:
    """Warm up, then time `runs` GETs; each request has its own app context."""
    for _ in range(3):
        response = _request(client, page)
        response.get_data()
    times, cpu, statements, statuses = [], [], [], set()
    for _ in range(page.runs):
        if not page.kept:
            pagecache.clear()
        counter.count = 0
        with clock:
            start = time.perf_counter()
            response = _request(client, page)
            response.get_data()
            times.append((time.perf_counter() - start) * 1000)
        cpu.append(clock.last_ms)
        statements.append(counter.count)
        statuses.add(response.status_code)
    result = Result(
        page,
        percentile(times, 50),
        percentile(times, 95),
        max(statements),
        response.status_code,
        cpu=sum(cpu) / len(cpu),
    )
    if len(statuses) > 1:
        result.note = f"statuses {sorted(statuses)}"
    if min(statements) != max(statements):
        result.note = (
            result.note + " " if result.note else ""
        ) + f"SQL {min(statements)}-{max(statements)}"
    return result


#: Lists measured once more on a morning, before any progress row of the day is stored.
FIRST_VIEW_PAGES = ("StuBO dashboard", "Coordination report", "Class overview")


def max_scale(pages) -> int:
    return max((p.scale or 0 for p in pages), default=0)


def measure_first_view(counter, clock, client, page: Page, engine) -> Result:
    """One GET after every stored progress row was made out of date (a new day)."""
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE progress_summary SET day = NULL"))
    counter.count = 0
    with clock:
        start = time.perf_counter()
        response = client.get(page.path)
        response.get_data()
        ms = (time.perf_counter() - start) * 1000
    return Result(page, ms, ms, counter.count, response.status_code, cpu=clock.last_ms)


def _request(client, page: Page):
    if not page.job:
        return client.get(page.path)
    from tests.support.jobs import fetch

    return fetch(client, page.path)


def login(app, username):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": BULK_PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"login of {username} failed: {response.status_code}")
    return client


def first(query):
    return db.session.scalar(query.limit(1))


def user_with_role(school_id, role):
    return first(
        sa.select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.school_id == school_id, UserRole.role == role.value)
        .order_by(User.id)
    )


def teacher_of(class_id):
    return first(
        sa.select(User)
        .join(TeacherClass, TeacherClass.teacher_id == User.id)
        .where(TeacherClass.class_id == class_id)
        .order_by(User.id)
    )


def scenario_school(size, grades, class_size, counsellors=1, prefix=None):
    stats = seed_bulk(
        1,
        size,
        class_size=class_size,
        grades=grades,
        counsellors=counsellors,
        files=False,
        prefix=prefix or f"scale{size}",
        seed=size,
    )
    school_id = stats.school_ids[0]
    # The school's StuBO also administers the accounts (the admin's lists are measured).
    stubo = user_with_role(school_id, Role.STUBO)
    db.session.add(UserRole(school_id=school_id, user_id=stubo.id, role=Role.ADMIN.value))
    db.session.flush()
    return school_id


def staff_lists(path, school_id, label, runs, scale=None) -> list[Page]:
    """The StuBO's and the admin's list pages of a school."""
    stubo = user_with_role(school_id, Role.STUBO).username
    return [
        Page("StuBO dashboard", label, stubo, path("review.stubo_dashboard"), runs, scale=scale),
        Page("StuBO pupil list", label, stubo, path("review.school_pupils"), runs, scale=scale),
        Page(
            "Coordination report",
            label,
            stubo,
            path("review.coordination_report"),
            runs,
            scale=scale,
        ),
        Page("Admin: pupil accounts", label, stubo, path("admin.users"), runs, scale=scale),
    ]


def plan_pages(app, args, district, sizes) -> list[Page]:
    """Seed the extra schools and choose the users and URLs of each measured page."""
    from flask import url_for

    def path(endpoint, **values):
        with app.test_request_context():
            return url_for(endpoint, **values)

    runs = args.runs
    pages: list[Page] = []
    school_id = district.school_ids[len(district.school_ids) // 2]
    pupil = first(
        sa.select(User)
        .join(ClassMembership, ClassMembership.pupil_id == User.id)
        .join(SchoolClass, SchoolClass.id == ClassMembership.class_id)
        .where(User.school_id == school_id, SchoolClass.grade == "10")
        .order_by(User.id)
    )
    entry = first(sa.select(Entry).where(Entry.pupil_id == pupil.id, Entry.kind == "praktikum"))
    guardian_link = first(
        sa.select(GuardianLink).where(GuardianLink.school_id == school_id).order_by(GuardianLink.id)
    )
    guardian = db.session.get(User, guardian_link.guardian_id)

    big = 1500 if not args.quick else 120
    cases = 300 if not args.quick else 60
    big_school = scenario_school(
        big, ("8", "9", "10"), class_size=28, counsellors=2, prefix="stubo"
    )
    # All pupils of grades 9 and 10 of this school are assigned to its one counsellor.
    caseload_school = scenario_school(
        cases, ("9", "10"), class_size=30, counsellors=1, prefix="caseload"
    )
    cls30 = first(
        sa.select(SchoolClass)
        .where(SchoolClass.school_id == caseload_school)
        .order_by(SchoolClass.id)
    )
    cls30_size = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ClassMembership)
        .where(ClassMembership.class_id == cls30.id)
    )
    counsellor = first(
        sa.select(User)
        .join(CounsellorAssignment, CounsellorAssignment.counsellor_id == User.id)
        .where(User.school_id == caseload_school)
    )
    assigned = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CounsellorAssignment)
        .where(CounsellorAssignment.counsellor_id == counsellor.id)
    )

    pages.append(
        Page("Pupil start page", "grade-10 pupil", pupil.username, path("pupil.home"), runs)
    )
    pages.append(
        Page(
            "Pupil start page, kept in memory",
            "grade-10 pupil, again",
            pupil.username,
            path("pupil.home"),
            runs,
            kept=True,
        )
    )
    pages.append(
        Page(
            "Entry page",
            "work placement",
            pupil.username,
            path("pupil.entry", entry_id=entry.id),
            runs,
        )
    )
    pages.append(
        Page(
            "Class overview",
            f"class {cls30.name}, {cls30_size} pupils",
            teacher_of(cls30.id).username,
            path("review.class_overview", class_id=cls30.id),
            runs,
        )
    )
    pages += staff_lists(path, big_school, f"school of {big:,} pupils", runs)
    pages.append(
        Page(
            "Counsellor caseload",
            f"{assigned} assigned pupils",
            counsellor.username,
            path("review.caseload"),
            runs,
        )
    )
    pages.append(
        Page("Guardian start page", "one child", guardian.username, path("guardian.home"), runs)
    )
    pages.append(
        Page(
            "Guardian child page",
            "what the child shares",
            guardian.username,
            path("guardian.child", pupil_id=guardian_link.pupil_id),
            runs,
        )
    )
    pages.append(
        Page(
            "Portfolio PDF",
            "grade-10 pupil, own portfolio",
            pupil.username,
            path("export.portfolio"),
            max(3, min(runs, 10)),
            html=False,
            job=True,
        )
    )

    for n in sizes:
        sid = scenario_school(n, ("9",), class_size=n)
        cls = first(sa.select(SchoolClass).where(SchoolClass.school_id == sid))
        pages.append(
            Page(
                "Class overview",
                f"{n} pupils",
                teacher_of(cls.id).username,
                path("review.class_overview", class_id=cls.id),
                runs,
                scale=n,
            )
        )
        # Sorted or filtered, the overview reads every pupil's open items (the page opens
        # in the order by name, which counts in SQL).
        for what, args in (
            ("sorted by open items", "?sort=open&dir=desc"),
            ("filter: step due", "?filter=due"),
        ):
            pages.append(
                Page(
                    f"Class overview, {what}",
                    f"{n} pupils",
                    teacher_of(cls.id).username,
                    path("review.class_overview", class_id=cls.id) + args,
                    runs,
                    scale=n,
                )
            )
        # A pupil's page opened from the sorted overview: "next pupil" finds her place in
        # the class's order and filter (actions.place).
        middle = db.session.scalar(
            sa.select(ClassMembership.pupil_id)
            .where(ClassMembership.class_id == cls.id)
            .order_by(ClassMembership.pupil_id)
            .offset(n // 2)
            .limit(1)
        )
        pages.append(
            Page(
                "Pupil page from the sorted overview",
                f"{n} pupils",
                teacher_of(cls.id).username,
                path("review.pupil", pupil_id=middle) + f"?cls={cls.id}&sort=open&dir=desc",
                runs,
                scale=n,
            )
        )
        pages += staff_lists(path, sid, f"{n} pupils", runs, scale=n)
        pages.append(
            Page(
                "Counsellor caseload",
                f"{n} pupils",
                user_with_role(sid, Role.COUNSELLOR).username,
                path("review.caseload"),
                runs,
                scale=n,
            )
        )
    db.session.commit()
    return pages


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=40)
    parser.add_argument("--pupils", type=int, default=250)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--sizes", default="10,100,1500")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per endpoint")
    parser.add_argument(
        "--quick", action="store_true", help="small district, few runs (smoke test)"
    )
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--no-pdf-bench", action="store_true", help="skip bench_pdf.py")
    parser.add_argument("--no-crawl", action="store_true", help="skip crawl.py (the demo school)")
    parser.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    args = parser.parse_args()
    args.load_before = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    if args.quick:
        args.schools, args.pupils, args.runs, args.sizes, args.seconds = 2, 60, 8, "10,100", 3
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        raise SystemExit("BENCH_DATABASE_URL is not set (make bench starts a PostgreSQL for it)")
    tmp = tempfile.mkdtemp(prefix="bwp-bench-")
    os.environ["INSTANCE_PATH"] = tmp
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "UPLOAD_FOLDER": os.path.join(tmp, "uploads"),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "bench",
        }
    )
    assert not app.debug and not app.jinja_env.auto_reload, "bench must run without debug/reload"
    sizes = [int(s) for s in args.sizes.split(",")]
    with app.app_context():
        from flask_migrate import upgrade

        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
        upgrade()
        server_version = db.session.scalar(sa.text("SHOW server_version"))
        t0 = time.perf_counter()
        district = seed_bulk(args.schools, args.pupils, seed=1, prefix="district")
        seed_seconds = time.perf_counter() - t0
        pages = plan_pages(app, args, district, sizes)
        # As on any school day after the nightly refresh (04:00): the day's progress rows
        # are stored and the planner has statistics of them (ANALYZE; autovacuum in
        # production). Without them the first minutes measured an empty table's plans.
        # The first view of a day without stored rows is measured on its own (below).
        from portfolio import progress_store, transaction
        from portfolio.models import School

        t1 = time.perf_counter()
        for school_id in db.session.scalars(sa.select(School.id).order_by(School.id)).all():
            with transaction.atomic():
                progress_store.refresh(school_id)
        print(f"progress rows of the day stored in {time.perf_counter() - t1:.1f} s", flush=True)
        # VACUUM too: what autovacuum would do after the seeding's and the refresh's
        # writes, so that it does not run beside the measurements.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        engine = db.engine
        db.session.remove()
    # What the seeding left in this process is no web worker's: out of the collector's
    # sight, as create_app does with its start-up objects (a full collection walks them all).
    gc.collect()
    gc.freeze()
    print(f"objects left by the seeding: {gc.get_freeze_count():,}", flush=True)

    # Measured outside any app context: each request pushes its own, as under gunicorn.
    counter = StatementCounter(engine)
    clock = CpuClock(engine)
    results = []
    for page in pages:
        client = login(app, page.username)
        results.append(measure(counter, clock, client, page))
        r = results[-1]
        print(
            f"{page.name:22} {page.size:32} p50 {r.p50:7.1f} ms  p95 {r.p95:7.1f} ms  "
            f"CPU {r.cpu:6.1f} ms  SQL {r.statements:3}  HTTP {r.status} {r.note}",
            flush=True,
        )
    # The first view of a new day finds no stored progress rows (portfolio/progress_store.py)
    # and computes them: as on a morning before `flask progress-refresh` has run.
    first_views = []
    for page in pages:
        if page.name in FIRST_VIEW_PAGES and page.html and (page.scale or 0) == max_scale(pages):
            first_views.append(
                measure_first_view(counter, clock, login(app, page.username), page, engine)
            )
    pupil_username = pages[0].username
    throughput = (
        None if args.no_throughput else measure_throughput(url, tmp, pupil_username, args.seconds)
    )
    pdf_bench = None if args.no_pdf_bench else run_pdf_bench(url, args.quick)
    crawled = None if args.no_crawl else run_crawl(url, args.quick)
    write_results(
        args,
        district,
        seed_seconds,
        server_version,
        results,
        throughput,
        pdf_bench,
        first_views,
        crawled,
    )
    shutil.rmtree(tmp, ignore_errors=True)


# -- throughput under gunicorn ----------------------------------------------------------------
def _cookies(response, jar: dict) -> None:
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            jar[key] = rest.split(";")[0]


def gunicorn_login(port: int, username: str) -> str:
    """Log in as a browser would (CSRF token from the form); return the Cookie header."""
    jar: dict[str, str] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/login")
    response = conn.getresponse()
    form = response.read().decode()
    _cookies(response, jar)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    fields = {"username": username, "password": BULK_PASSWORD}
    if token:
        fields["csrf_token"] = token.group(1)
    conn.request(
        "POST",
        "/login",
        urllib.parse.urlencode(fields),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
        },
    )
    response = conn.getresponse()
    response.read()
    _cookies(response, jar)
    if response.status != 302 or "/login" in (response.getheader("Location") or ""):
        raise RuntimeError(f"gunicorn login of {username} failed: HTTP {response.status}")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def _postmaster(url) -> int | None:
    """The PostgreSQL server process (parent of a backend), if it runs on this machine."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            backend = conn.scalar(sa.text("SELECT pg_backend_pid()"))
            # While the connection is open: the backend ends with it.
            with open(f"/proc/{backend}/status") as fh:
                return next(int(line.split()[1]) for line in fh if line.startswith("PPid:"))
    except (OSError, StopIteration, sa.exc.SQLAlchemyError):
        return None
    finally:
        engine.dispose()


def _server_cpu(gunicorn_pid: int, postmaster: int | None) -> tuple[float, float]:
    """CPU seconds so far of the gunicorn workers and of the PostgreSQL processes."""
    app = sum(_proc_cpu(p) for p in _children(gunicorn_pid))
    database = sum(_proc_cpu(p) for p in _children(postmaster)) if postmaster else 0.0
    return app, database


#: Commits per second elsewhere in the district while the kept page is measured once more.
WRITES_PER_SECOND = 10


def measure_throughput(url, tmp, username, seconds=10):
    """Requests per second under gunicorn: pupil start page vs. /healthz, same server, same
    run; the page as the app serves it (kept in memory, portfolio/pagecache.py), the same
    while WRITES_PER_SECOND commits elsewhere change the write generation, and, from a
    second gunicorn with PAGE_CACHE_SIZE=0, rendered on every request."""
    if not shutil.which("wrk"):
        return {"error": "wrk is not installed (apt-get install wrk)"}
    found = _gunicorn_throughput(url, tmp, username, seconds, {}, with_writes=True)
    if "error" not in found:
        rendered = _gunicorn_throughput(url, tmp, username, seconds, {"PAGE_CACHE_SIZE": "0"})
        found["rendered"] = rendered.get("page")
    return found


class _Writer:
    """Commits a write WRITES_PER_SECOND times a second through a watched engine (as
    another app process would): each one changes the generation that kept pages hold for.
    (The UPDATE matches no row: what counts is that a transaction wrote and committed.)"""

    def __init__(self, url):
        import threading

        from portfolio import pagecache

        self.engine = sa.create_engine(url)
        pagecache.watch(self.engine)
        self.stop = threading.Event()
        self.count = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.wait(1 / WRITES_PER_SECOND):
            with self.engine.begin() as conn:
                conn.execute(sa.text("UPDATE school SET name = name WHERE id = -1"))
            self.count += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.stop.set()
        self.thread.join()
        self.engine.dispose()


def _gunicorn_throughput(url, tmp, username, seconds, extra_env, with_writes=False):
    port = free_port()
    workers = os.cpu_count() or 2
    env = dict(
        os.environ,
        DATABASE_URL=url,
        INSTANCE_PATH=tmp,
        SECRET_KEY="bench",
        UPLOAD_FOLDER=os.path.join(tmp, "uploads"),
        PORTFOLIO_ENV="development",
        LOGIN_LIMIT_PER_ACCOUNT="10000 per minute",
        LOGIN_LIMIT_PER_ADDRESS="10000 per minute",
        **extra_env,
    )
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    proc = subprocess.Popen(
        [
            gunicorn,
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        try:
            wait_until_listening(port, proc, "/healthz", timeout=30)
        except RuntimeError:
            return {"error": "gunicorn did not start"}
        cookie = gunicorn_login(port, username)
        start_path = "/portfolio/"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", start_path, headers={"Cookie": cookie})
        check = conn.getresponse()
        check.read()
        if check.status != 200:
            return {"error": f"{start_path} answered HTTP {check.status} under gunicorn"}

        postmaster = _postmaster(url)

        def wrk(path, header=None):
            cmd = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency"]
            if header:
                cmd += ["-H", header]
            cpu_before = _server_cpu(proc.pid, postmaster)
            out = subprocess.run(
                cmd + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
            ).stdout
            cpu_after = _server_cpu(proc.pid, postmaster)
            rps = float(
                next(
                    line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")
                )
            )
            non2xx = next(
                (int(line.split()[-1]) for line in out.splitlines() if "Non-2xx" in line), 0
            )
            p50 = next(
                (line.split()[1] for line in out.splitlines() if line.strip().startswith("50%")),
                "?",
            )
            done = next(
                (int(line.split()[0]) for line in out.splitlines() if "requests in" in line), 0
            )
            # CPU per request of the workers and the database: what a request costs, however
            # busy the machine is (the req/s are shared with everything else that runs).
            app_ms, db_ms = (
                (1000 * (after - before) / done if done else 0.0)
                for before, after in zip(cpu_before, cpu_after, strict=True)
            )
            return {"rps": rps, "non2xx": non2xx, "p50": p50, "app_ms": app_ms, "db_ms": db_ms}

        # Warm both workers, then measure the bare endpoint and the page back to back.
        wrk("/healthz")
        bare = wrk("/healthz")
        page = wrk(start_path, f"Cookie: {cookie}")
        found = {
            "workers": workers,
            "bare": bare,
            "page": page,
            "path": start_path,
            "ratio": page["rps"] / bare["rps"] if bare["rps"] else 0,
            "seconds": seconds,
        }
        if with_writes:
            with _Writer(url) as writer:
                found["with_writes"] = wrk(start_path, f"Cookie: {cookie}")
            found["with_writes"]["writes"] = writer.count
        return found
    finally:
        stop(proc)


# -- the detailed PDF benchmark of the export ---------------------------------------------------
def _run_module(url: str, module: str, database: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m tests.benchmarks.<module> ARGS --database-url` on a fresh database of its
    own on the same server (the module drops and re-creates its schema)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            f"tests.benchmarks.{module}",
            *args,
            "--database-url",
            create_database(url, database, replace=True),
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "INSTANCE_PATH"},
    )


def run_pdf_bench(url, quick):
    script = os.path.join(HERE, "bench_pdf.py")
    if not os.path.exists(script):
        return None
    # bench_pdf.py drops and re-creates its schema: give it a database of its own.
    proc = _run_module(url, "bench_pdf", "portfolio_pdfbench", "--runs", "2" if quick else "5")
    table = [
        line for line in proc.stdout.splitlines() if line.strip() and not line.startswith("INFO ")
    ]
    return {"rc": proc.returncode, "table": table[-14:], "stderr": proc.stderr[-2000:]}


# -- every page of every role of the demo school ------------------------------------------------
def run_crawl(url, quick):
    """crawl.py on a database of its own: its table, the routes it missed and its summary."""
    proc = _run_module(url, "crawl", "portfolio_crawl", "--runs", "5" if quick else "20")
    lines = proc.stdout.splitlines()
    return {
        "rc": proc.returncode,
        "runs": 5 if quick else 20,
        "table": [line for line in lines if line.startswith("|")],
        "notes": [line for line in lines if line.strip() and not line.startswith("|")],
        "stderr": proc.stderr[-2000:],
    }


# -- RESULTS.md ---------------------------------------------------------------------------------
def machine_description() -> str:
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu
            )
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(next(line.split()[1] for line in fh if line.startswith("MemTotal")))
            mem = f", {kb / 2**20:.0f} GB RAM"
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}"


def _ok(cond: bool) -> str:
    return "ok" if cond else "**missed**"


def _throughput_lines(throughput) -> list[str]:
    lines: list[str] = []
    lines.append("## Throughput under gunicorn")
    lines.append("")
    if not throughput:
        lines.append("Not measured (--no-throughput).")
    elif "error" in throughput:
        lines.append(f"Not measured: {throughput['error']}.")
    else:
        t = throughput
        lines.append(
            f"One gunicorn with {t['workers']} sync workers (`wsgi:app`, same database); "
            f"wrk, 2 threads, 8 connections, {t['seconds']} s per endpoint, one after the "
            "other in the same run."
        )
        lines.append("")
        lines.append(
            "| Endpoint | req/s | p50 latency | non-2xx | CPU ms/request: workers | database |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|")
        rows = [
            ("/healthz (bare)", t["bare"]),
            (f"{t['path']} (pupil start page, logged in; kept in memory)", t["page"]),
        ]
        if t.get("with_writes"):
            rows.append(
                (
                    f"{t['path']}, the same pupil while {WRITES_PER_SECOND} commits a second "
                    "elsewhere change the write generation (each: one render per worker)",
                    t["with_writes"],
                )
            )
        if t.get("rendered"):
            rows.append(
                (
                    f"{t['path']}, rendered on every request (a second gunicorn, "
                    "PAGE_CACHE_SIZE=0)",
                    t["rendered"],
                )
            )
        for name, m in rows:
            lines.append(
                f"| {name} | {m['rps']:.0f} | {m['p50']} | {m['non2xx']} | "
                f"{m.get('app_ms', 0):.2f} | {m.get('db_ms', 0):.2f} |"
            )
        lines.append("")
        ratio_ok = t["ratio"] >= THROUGHPUT_RATIO and not t["page"]["non2xx"]
        lines.append(
            f"Ratio: **{t['ratio']:.0%}** of the bare endpoint (target ≥ "
            f"{THROUGHPUT_RATIO:.0%}: {_ok(ratio_ok)})."
        )
        bare_rps = t["bare"]["rps"] or 1
        others = [
            f"{m['rps'] / bare_rps:.0%} {label}"
            for label, m in (
                (f"with {WRITES_PER_SECOND} writes a second elsewhere", t.get("with_writes")),
                ("rendered on every request", t.get("rendered")),
            )
            if m
        ]
        if others:
            lines.append("")
            lines.append(f"For comparison, not the target: {'; '.join(others)}.")
    return lines


def write_results(
    args,
    district,
    seed_seconds,
    server_version,
    results,
    throughput,
    pdf_bench,
    first_views=(),
    crawled=None,
):
    lines = ["# Benchmark results", ""]
    command = "make bench" + (" BENCH_ARGS=--quick" if args.quick else "")
    lines.append(
        f"Command: `{command}` (tests/benchmarks/run.py --schools {args.schools} "
        f"--pupils {args.pupils} --runs {args.runs} --sizes {args.sizes}).  "
    )
    lines.append(
        f"Machine: {machine_description()}; PostgreSQL {server_version} "
        f"(throwaway server of tests/support/pgserver.py, fsync off), same machine; load "
        f"average (1/5/15 min) at the start {args.load_before}.  "
    )
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    lines.append(
        f"Date: {time.strftime('%Y-%m-%d %H:%M')}; load average at the end "
        f"(1/5/15 min): {load} — other work on the machine inflates the latencies, "
        "not the SQL counts.  "
    )
    lines.append(
        f"Data: district of {district.schools} schools, {district.pupils} pupils, "
        f"{district.entries} entries, {district.comments} comments, {district.documents} "
        f"uploads, {district.agreements} agreements, {district.guidance} guidance "
        f"records, {district.notifications} notifications, seeded in {seed_seconds:.1f} s "
        f"(`flask seed-bulk --schools {args.schools} --pupils-per-school {args.pupils}`), "
        f"plus one school per list size below."
    )
    lines.append("")
    lines.append(
        "Latency is measured in-process (Flask test client, one request after another, "
        "each in its own app context, debug off, templates cached), after three warm-up "
        "requests; CPU = mean CPU time of a request (the app's process and its PostgreSQL "
        "backends: what the page costs, whatever else runs on the machine); SQL = "
        f"statements per request (the highest of the {args.runs} runs). Pages kept in "
        "memory (portfolio/pagecache.py) are forgotten before each timed request, so that "
        'the figures are the pages\' own work; the row marked "kept in memory" is the '
        "start page as a pupil gets it when she comes back to it."
    )
    lines.append("")
    lines.append("## Main pages")
    lines.append("")
    lines.append(
        f"Targets: HTML p95 < {P95_HTML_MS} ms, SQL < {MAX_STATEMENTS}; "
        f"PDF median < {PDF_MEDIAN_S:.0f} s."
    )
    lines.append("")
    lines.append("| Page | What | p50 ms | p95 ms | CPU ms | SQL | HTTP | Target |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---|")
    for r in (r for r in results if r.page.scale is None):
        if r.page.html:
            verdict = _ok(r.p95 < P95_HTML_MS and r.statements < MAX_STATEMENTS and r.status == 200)
        else:
            verdict = _ok(r.p50 < PDF_MEDIAN_S * 1000 and r.status == 200)
        note = f" ({r.note})" if r.note else ""
        lines.append(
            f"| {r.page.name} | {r.page.size} | {r.p50:.1f} | {r.p95:.1f} | {r.cpu:.1f} | "
            f"{r.statements} | {r.status} | {verdict}{note} |"
        )
    lines.append("")
    lines.append("## How the lists scale")
    lines.append("")
    scaled = [r for r in results if r.page.scale is not None]
    sizes = sorted({r.page.scale for r in scaled})
    head = " / ".join(f"{n:,}" for n in sizes)
    lines.append(
        f"p95 ms and SQL statements per request with {', '.join(f'{n:,}' for n in sizes)} "
        "pupils in the list (one school per size; class overview: one class of that "
        "size; caseload: all of them assigned to one counsellor)."
    )
    lines.append("")
    lines.append(
        f"| Page | p95 ms ({head} pupils) | CPU ms ({head}) | SQL ({head}) | HTTP | SQL flat "
        f"| SQL < {MAX_STATEMENTS} | p95 < {P95_HTML_MS} ms at {sizes[-1]:,} |"
    )
    lines.append("|---|---|---|---|---|---|---|---|")
    for name in dict.fromkeys(r.page.name for r in scaled):
        row = sorted((r for r in scaled if r.page.name == name), key=lambda r: r.page.scale)
        p95 = " / ".join(f"{r.p95:.1f}" for r in row)
        cpu = " / ".join(f"{r.cpu:.1f}" for r in row)
        sql = " / ".join(str(r.statements) for r in row)
        statuses = "/".join(sorted({str(r.status) for r in row}))
        flat = len({r.statements for r in row}) == 1
        few = max(r.statements for r in row) < MAX_STATEMENTS
        fast = row[-1].p95 < P95_HTML_MS
        lines.append(
            f"| {name} | {p95} | {cpu} | {sql} | {statuses} | {_ok(flat)} | {_ok(few)} "
            f"| {_ok(fast)} |"
        )
    lines.append("")
    if first_views:
        lines.append("### The first view of a day")
        lines.append("")
        lines.append(
            "The staff lists read each pupil's progress from a row stored for the day "
            "(portfolio/progress_store.py). The first view after midnight computes the rows "
            "that are not stored yet, unless the workers (04:00) or `flask progress-refresh` "
            "have done it; measured once, after every row was made out of date:"
        )
        lines.append("")
        lines.append("| Page | What | ms | CPU ms | SQL | HTTP |")
        lines.append("|---|---|---:|---:|---:|---:|")
        for r in first_views:
            lines.append(
                f"| {r.page.name} | {r.page.size} | {r.p50:.1f} | {r.cpu:.1f} | "
                f"{r.statements} | {r.status} |"
            )
        lines.append("")
    notes = os.path.join(HERE, "STAFF_LISTS.md")  # what the profile showed, what each change bought
    if os.path.exists(notes):
        with open(notes) as fh:
            lines.extend(fh.read().rstrip("\n").splitlines())
        lines.append("")
    lines.extend(_throughput_lines(throughput))
    notes = os.path.join(HERE, "THROUGHPUT.md")  # what the profile showed, what each change bought
    if os.path.exists(notes):
        lines.append("")
        with open(notes) as fh:
            lines.extend(fh.read().rstrip("\n").splitlines())
    lines.append("")
    lines.append("## PDF (tests/benchmarks/bench_pdf.py)")
    lines.append("")
    if not pdf_bench:
        lines.append("Not run." if args.no_pdf_bench else "bench_pdf.py does not exist yet.")
    else:
        lines.append("```")
        lines.extend(pdf_bench["table"])
        lines.append("```")
        if pdf_bench["rc"] not in (0, 1):
            lines.append("")
            lines.append(f"bench_pdf.py failed (exit {pdf_bench['rc']}):")
            lines.append("```")
            lines.extend(pdf_bench["stderr"].splitlines()[-15:])
            lines.append("```")
    lines.append("")
    lines.extend(crawl_section(args, crawled))
    text = "\n".join(lines) + "\n"
    print(text)
    with open(args.results, "w") as fh:
        fh.write(text)


def crawl_section(args, crawled) -> list[str]:
    """The crawl's table: every page of every role of the demo school."""
    lines = ["## Every page of every role of the demo school (tests/benchmarks/crawl.py)", ""]
    if not crawled:
        return lines + ["Not run (--no-crawl)."]
    if crawled["rc"] not in (0, 1) or not crawled["table"]:
        return lines + [
            f"crawl.py failed (exit {crawled['rc']}):",
            "```",
            *crawled["stderr"].splitlines()[-15:],
            "```",
        ]
    lines.append(
        "`python -m tests.benchmarks.crawl` on the same PostgreSQL (a database of its own): "
        "the demo school (`flask seed-demo`), each demo account logged in, the pages reached "
        "from the navigation three clicks deep (three addresses per route at most), "
        f"{crawled['runs']} requests per page after three warm-ups. Target: HTML p95 < "
        f"{P95_HTML_MS} ms."
    )
    lines.append("")
    lines.extend(crawled["table"])
    lines.append("")
    lines.extend(f"{note}  " for note in crawled["notes"])
    return lines


if __name__ == "__main__":
    main()
