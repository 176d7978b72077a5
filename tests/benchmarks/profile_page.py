#!/usr/bin/env python3
"""Profile one page: where the time of a request goes, and which SQL it sends.

    python -m tests.benchmarks.profile_page --database-url URL --seed   # once: a small district
    python -m tests.benchmarks.profile_page --database-url URL --user NAME --path /portfolio/ \
        [--runs 20] [--sql] [--html out.html]
    python -m tests.benchmarks.profile_page --demo [--database-url URL] --user stubo \
        --path /review/pupils/57    # the demo school (as the crawl sees it), demo password

Each request runs in its own app context (as in production); pyinstrument profiles `--runs`
requests after three warm-up requests.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL"), required=False
    )
    parser.add_argument("--seed", action="store_true", help="reset the schema and seed a district")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="a fresh database (the URL's, else SQLite) with the demo school, as crawl.py uses",
    )
    parser.add_argument("--user")
    parser.add_argument("--path")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sql", action="store_true", help="print the statements of one request")
    parser.add_argument("--html", help="write the pyinstrument HTML report here")
    args = parser.parse_args()
    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="bwp-profile-"))

    import sqlalchemy as sa
    from sqlalchemy import event

    from portfolio import create_app
    from portfolio.extensions import db
    from portfolio.seed.bulk import BULK_PASSWORD, seed_bulk

    password = BULK_PASSWORD
    if args.demo:
        from portfolio.seed.demo import DEMO_PASSWORD
        from tests.benchmarks.crawl import make_app

        app, password = make_app(args.database_url), DEMO_PASSWORD
    else:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": args.database_url,
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
                "SECRET_KEY": "bench",
            }
        )
    if args.seed and not args.demo:
        from flask_migrate import upgrade

        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
            upgrade()
            stats = seed_bulk(4, 250, seed=1, prefix="district")
            for size, grades, cls, name in (
                (600, ("8", "9", "10"), 28, "stubo"),
                (300, ("9", "10"), 30, "caseload"),
                (1000, ("9",), 1000, "scale1000"),
            ):
                seed_bulk(
                    1,
                    size,
                    class_size=cls,
                    grades=grades,
                    counsellors=1 if size != 600 else 2,
                    files=False,
                    prefix=name,
                    seed=size,
                )
            with db.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
            print(f"seeded {stats.pupils} pupils in the district")
        if not args.user:
            return 0
    with app.app_context():
        engine = db.engine
    statements: list[str] = []
    event.listen(
        engine, "before_cursor_execute", lambda _c, _cur, stmt, params, *_a: statements.append(stmt)
    )
    client = app.test_client()
    r = client.post("/login", data={"username": args.user, "password": password})
    assert r.status_code == 302, r.status_code
    for _ in range(3):
        r = client.get(args.path)
        r.get_data()
    print(f"HTTP {r.status_code}, {len(r.get_data())} bytes")
    statements.clear()
    client.get(args.path).get_data()
    print(f"{len(statements)} statements per request")
    if args.sql:
        for s in statements:
            print("---", " ".join(s.split())[:400])
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    wall, cpu = time.perf_counter(), time.process_time()
    profiler.start()
    for _ in range(args.runs):
        client.get(args.path).get_data()
    profiler.stop()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{1000 * wall / args.runs:.1f} ms wall, {1000 * cpu / args.runs:.1f} ms CPU per request")
    print(
        profiler.output_text(unicode=False, color=False, show_all=bool(os.environ.get("SHOW_ALL")))
    )
    if args.html:
        with open(args.html, "w") as fh:
            fh.write(profiler.output_html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
