#!/usr/bin/env python3
"""`make bench`: latency, SQL statements and throughput of the main pages.

Runs against PostgreSQL (BENCH_DATABASE_URL; `make bench` starts a throwaway one),
seeds a district (40 schools x 250 pupils by default) plus schools sized for the
list pages (10, 100, 1,000 pupils), and reports for each main page p50/p95 latency
and SQL statements per request, how both change with the list length, the PDF
figures, and the throughput of the pupil start page under gunicorn against a bare
endpoint (/healthz) of the same server, as a ratio. Writes tests/benchmarks/RESULTS.md.

    python tests/benchmarks/run.py [--schools 40] [--pupils 250] [--runs 40] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402

from portfolio import create_app  # noqa: E402
from portfolio.bulk import BULK_PASSWORD, seed_bulk  # noqa: E402
from portfolio.extensions import db, limiter  # noqa: E402
from portfolio.models import (  # noqa: E402
    ClassMembership, CounsellorAssignment, Entry, GuardianLink, Role, SchoolClass, User, UserRole,
)


@dataclass
class Result:
    page: str
    size: str
    p50: float
    p95: float
    statements: int
    status: int
    note: str = ""


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


def measure(app, counter, client, url, runs):
    for _ in range(3):
        response = client.get(url)
    times, statements = [], []
    for _ in range(runs):
        counter.count = 0
        start = time.perf_counter()
        response = client.get(url)
        response.get_data()
        times.append((time.perf_counter() - start) * 1000)
        statements.append(counter.count)
    return percentile(times, 50), percentile(times, 95), max(statements), response.status_code


def login(app, username):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": BULK_PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"login of {username} failed: {response.status_code}")
    return client


def url_for_endpoint(app, endpoint, **values):
    if endpoint not in app.view_functions:
        return None
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def first(query):
    return db.session.scalar(query.limit(1))


def user_with_role(school_id, role):
    return first(sa.select(User).join(UserRole, UserRole.user_id == User.id)
                 .where(User.school_id == school_id, UserRole.role == role.value).order_by(User.id))


def scenario_school(size, grades, class_size, counsellors=1):
    stats = seed_bulk(1, size, class_size=class_size, grades=grades, counsellors=counsellors,
                      files=False, prefix=f"scale{size}", seed=size)
    return stats.school_ids[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=40)
    parser.add_argument("--pupils", type=int, default=250)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--quick", action="store_true", help="small district, few runs (smoke test)")
    parser.add_argument("--no-throughput", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.schools, args.pupils, args.runs, args.sizes = 2, 60, 8, "10,100"
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        raise SystemExit("BENCH_DATABASE_URL is not set (make bench starts a PostgreSQL for it)")
    tmp = tempfile.mkdtemp(prefix="bwp-bench-")
    os.environ["INSTANCE_PATH"] = tmp
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": os.path.join(tmp, "uploads"),
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "SECRET_KEY": "bench"})
    results: list[Result] = []
    with app.app_context():
        from flask_migrate import upgrade

        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
        upgrade()
        t0 = time.perf_counter()
        district = seed_bulk(args.schools, args.pupils, seed=1)
        seed_seconds = time.perf_counter() - t0
        sizes = [int(s) for s in args.sizes.split(",")]
        scale = {n: scenario_school(n, ("9",), class_size=n) for n in sizes}
        big_school = scenario_school(600, ("8", "9", "10"), class_size=28, counsellors=2) \
            if not args.quick else district.school_ids[0]
        caseload_school = scenario_school(300, ("9", "10"), class_size=30, counsellors=1) \
            if not args.quick else district.school_ids[0]
        db.session.commit()
        counter = StatementCounter(db.engine)
        limiter.enabled = False

        school_id = district.school_ids[len(district.school_ids) // 2]
        pupil = first(sa.select(User).join(ClassMembership, ClassMembership.pupil_id == User.id)
                      .join(SchoolClass, SchoolClass.id == ClassMembership.class_id)
                      .where(User.school_id == school_id, SchoolClass.grade == "10").order_by(User.id))
        entry = first(sa.select(Entry).where(Entry.pupil_id == pupil.id, Entry.kind == "praktikum"))
        guardian = first(sa.select(User).join(GuardianLink, GuardianLink.guardian_id == User.id)
                         .where(GuardianLink.school_id == school_id))
        cls30 = first(sa.select(SchoolClass).where(SchoolClass.school_id == school_id))

        def page(name, username, endpoint, size="district", **values):
            target = url_for_endpoint(app, endpoint, **values)
            if target is None:
                results.append(Result(name, size, 0, 0, 0, 0, f"endpoint {endpoint} not built"))
                return
            client = login(app, username)
            p50, p95, n, status = measure(app, counter, client, target, args.runs)
            results.append(Result(name, size, p50, p95, n, status))

        page("Pupil start page", pupil.username, "pupil.home")
        if entry is not None:
            page("Entry page (placement)", pupil.username, "pupil.entry", entry_id=entry.id)
        teacher = first(sa.select(User).join(UserRole, UserRole.user_id == User.id)
                        .where(User.school_id == school_id, UserRole.role == "teacher",
                               User.username.like("%.t0")))
        from portfolio.models import TeacherClass

        teacher = first(sa.select(User).join(TeacherClass, TeacherClass.teacher_id == User.id)
                        .where(TeacherClass.class_id == cls30.id))
        page("Class overview", teacher.username, "review.class_overview", f"{cls30.name} (28)",
             class_id=cls30.id)
        page("StuBO dashboard", user_with_role(big_school, Role.STUBO).username,
             "review.stubo_dashboard", "600 pupils")
        counsellor = first(sa.select(User).join(CounsellorAssignment,
                                                CounsellorAssignment.counsellor_id == User.id)
                           .where(User.school_id == caseload_school))
        page("Counsellor caseload", counsellor.username, "review.caseload", "300 assigned")
        page("Guardian page", guardian.username, "guardian.home")
        for n, sid in scale.items():
            cls = first(sa.select(SchoolClass).where(SchoolClass.school_id == sid))
            t = first(sa.select(User).join(TeacherClass, TeacherClass.teacher_id == User.id)
                      .where(TeacherClass.class_id == cls.id))
            page("Class overview", t.username, "review.class_overview", f"{n} pupils", class_id=cls.id)
            page("StuBO dashboard", user_with_role(sid, Role.STUBO).username,
                 "review.stubo_dashboard", f"{n} pupils")
            page("Counsellor caseload", user_with_role(sid, Role.COUNSELLOR).username,
                 "review.caseload", f"{n} assigned")
        pdf = None
        if "export.portfolio_pdf" in app.view_functions or "export.my_portfolio_pdf" in app.view_functions:
            endpoint = "export.my_portfolio_pdf" if "export.my_portfolio_pdf" in app.view_functions \
                else "export.portfolio_pdf"
            values = {} if endpoint == "export.my_portfolio_pdf" else {"pupil_id": pupil.id}
            page("Portfolio PDF", pupil.username, endpoint, "grade-10 pupil", **values)
        pupil_username = pupil.username
    throughput = None if args.no_throughput else measure_throughput(url, tmp, pupil_username)
    write_results(args, district, seed_seconds, results, throughput)
    shutil.rmtree(tmp, ignore_errors=True)


def measure_throughput(url, tmp, username, seconds=10):
    """Requests per second under gunicorn: pupil start page vs. /healthz, same server, same run."""
    if not shutil.which("wrk"):
        return {"error": "wrk is not installed (apt-get install wrk)"}
    port = 18765
    workers = os.cpu_count() or 2
    env = dict(os.environ, DATABASE_URL=url, INSTANCE_PATH=tmp, SECRET_KEY="bench",
               UPLOAD_FOLDER=os.path.join(tmp, "uploads"),
               LOGIN_LIMIT_PER_ACCOUNT="10000 per minute", LOGIN_LIMIT_PER_ADDRESS="10000 per minute")
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    proc = subprocess.Popen([gunicorn, "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                             "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    try:
        import http.client
        import urllib.parse

        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        body = urllib.parse.urlencode({"username": username, "password": BULK_PASSWORD})
        conn.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        cookie = response.getheader("Set-Cookie").split(";")[0]
        location = response.getheader("Location")

        def wrk(path, header=None):
            cmd = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency"]
            if header:
                cmd += ["-H", header]
            out = subprocess.run(cmd + [f"http://127.0.0.1:{port}{path}"], capture_output=True,
                                 text=True, check=True).stdout
            rps = float(next(line.split()[1] for line in out.splitlines()
                             if line.startswith("Requests/sec")))
            non2xx = next((line for line in out.splitlines() if "Non-2xx" in line), "")
            return rps, non2xx

        bare, _ = wrk("/healthz")
        start_path = "/portfolio/" if location in (None, "/") else location
        # Follow the start page of the pupil as the browser would.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/", headers={"Cookie": cookie})
        r = conn.getresponse()
        r.read()
        if r.status == 302:
            start_path = urllib.parse.urlsplit(r.getheader("Location")).path
        page, non2xx = wrk(start_path, f"Cookie: {cookie}")
        return {"workers": workers, "bare": bare, "page": page, "path": start_path,
                "ratio": page / bare if bare else 0, "non2xx": non2xx, "seconds": seconds}
    finally:
        proc.terminate()
        proc.wait(10)


def write_results(args, district, seed_seconds, results, throughput):
    lines = []
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines.append("# Benchmark results\n")
    lines.append(f"Command: `make bench` (tests/benchmarks/run.py --schools {args.schools} "
                 f"--pupils {args.pupils} --runs {args.runs}), PostgreSQL 15, {machine}, "
                 f"{time.strftime('%Y-%m-%d')}.\n")
    lines.append(f"District seeded: {district.schools} schools, {district.pupils} pupils, "
                 f"{district.entries} entries in {seed_seconds:.1f} s (`flask seed-bulk`).\n")
    lines.append("| Page | List size | p50 ms | p95 ms | SQL statements | Status | Note |")
    lines.append("|---|---|---:|---:|---:|---:|---|")
    for r in results:
        lines.append(f"| {r.page} | {r.size} | {r.p50:.1f} | {r.p95:.1f} | {r.statements} | "
                     f"{r.status} | {r.note} |")
    if throughput:
        lines.append("")
        if "error" in throughput:
            lines.append(f"Throughput: not measured ({throughput['error']}).")
        else:
            lines.append(f"Throughput under gunicorn ({throughput['workers']} sync workers, wrk 2 threads "
                         f"8 connections, {throughput['seconds']} s each): bare endpoint /healthz "
                         f"{throughput['bare']:.0f} req/s, pupil start page {throughput['path']} "
                         f"{throughput['page']:.0f} req/s, ratio {throughput['ratio']:.0%}. "
                         f"{throughput['non2xx']}")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(HERE, "RESULTS.md"), "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
