"""Benchmark: the portfolio PDF of the fullest demo pupil (elif.yilmaz).

Seeds the demo into a fresh instance (temporary SQLite, or BENCH_DATABASE_URL), then
renders the whole portfolio N times and reports, as medians:

* total: queries + templating + images + WeasyPrint (what a download costs),
* ours: everything before WeasyPrint (`portfolio_html`), and its share of the total,
* weasyprint: `html_to_pdf` alone on the same final HTML,
* peak memory of one render in a fresh subprocess (ru_maxrss) and Python's own peak
  allocations (tracemalloc).

Targets: median total < 2 s, our share < 25 %, peak memory < 300 MB.

    .venv/bin/python -m tests.benchmarks.bench_pdf [--runs 5] [--fill auto|yes|no]
        [--scripts] [--locale ar]

`--scripts` adds reflections in every script and with emoji (pdf_fixtures.SCRIPTS), so
that the CJK and colour emoji fonts are part of the render; `--locale` renders in
another language than German (Arabic: right to left).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TARGET_SECONDS = 2.0
TARGET_SHARE = 0.25
TARGET_MB = 300


def make_app(database_url: str, upload_folder: str):
    from portfolio import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "UPLOAD_FOLDER": upload_folder,
            "SECRET_KEY": "bench",
            "TESTING": True,
        }
    )


def prepare(
    database_url: str, upload_folder: str, username: str, fill: str, scripts: bool = False
) -> dict:
    """Migrate, seed the demo, top up the pupil's portfolio if asked; describe it."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from portfolio import transaction
    from portfolio.extensions import db
    from portfolio.models import Agreement, Document, Entry, GuidanceRecord, User
    from portfolio.seed.demo import seed_demo

    app = make_app(database_url, upload_folder)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
        upgrade()
        with transaction.atomic():
            seed_demo()
        pupil = db.session.scalar(sa.select(User).where(User.username == username))

        def count(model):
            return db.session.scalar(
                sa.select(sa.func.count(model.id)).where(model.pupil_id == pupil.id)
            )

        filled = False
        if fill == "yes" or (fill == "auto" and count(Entry) < 8):
            from tests.support.pdf_fixtures import fill_portfolio

            fill_portfolio(pupil)
            filled = True
        if scripts:
            from tests.support.pdf_fixtures import add_scripts

            add_scripts(pupil)
            db.session.commit()
        return {
            "pupil_id": pupil.id,
            "entries": count(Entry),
            "documents": count(Document),
            "agreements": count(Agreement),
            "guidance": count(GuidanceRecord),
            "topped_up": filled,
        }


def render_once(app, pupil_id: int, locale: str = "de") -> dict:
    from flask_babel import force_locale

    from portfolio.access import access_to
    from portfolio.export.render import portfolio_html
    from portfolio.extensions import db
    from portfolio.models import User
    from portfolio.pdf import attachment, html_to_pdf

    with app.test_request_context(), force_locale(locale):
        pupil = db.session.get(User, pupil_id)
        w0, c0 = time.perf_counter(), time.process_time()
        html, content = portfolio_html(access_to(pupil, pupil))
        w1, c1 = time.perf_counter(), time.process_time()
        pdf = html_to_pdf(html, attachments=[attachment(*a) for a in content.attachments])
        w2, c2 = time.perf_counter(), time.process_time()
        db.session.remove()
    return {
        "total": w2 - w0,
        "ours": w1 - w0,
        "weasyprint": w2 - w1,
        "cpu_total": c2 - c0,
        "cpu_ours": c1 - c0,
        "bytes": len(pdf),
        "html": html,
    }


def _vm_hwm_mb() -> float:
    """Peak resident memory of this process. (ru_maxrss of a child would include the
    parent's size at fork time; VmHWM starts afresh at exec.)"""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(
    database_url: str, upload_folder: str, pupil_id: int, trace: bool, locale: str = "de"
) -> None:
    """Runs in a fresh process: one render, then print the peaks as JSON."""
    import tracemalloc

    app = make_app(database_url, upload_folder)
    with app.test_request_context():  # warm imports and fonts are part of a worker's life
        pass
    base = _vm_hwm_mb()
    if trace:
        tracemalloc.start()
    result = render_once(app, pupil_id, locale)
    peak_py = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    print(
        json.dumps(
            {
                "maxrss_mb": _vm_hwm_mb(),
                "baseline_mb": base,
                "tracemalloc_peak_mb": peak_py,
                "pages_bytes": result["bytes"],
            }
        )
    )


def measure_memory(
    database_url: str, upload_folder: str, pupil_id: int, trace: bool, locale: str = "de"
) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.benchmarks.bench_pdf",
            "--memory-child",
            str(pupil_id),
            "--database-url",
            database_url,
            "--upload-folder",
            upload_folder,
            "--locale",
            locale,
        ]
        + (["--trace"] if trace else []),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(
    runs: int = 5,
    fill: str = "auto",
    username: str = "elif.yilmaz",
    database_url: str | None = None,
    scripts: bool = False,
    locale: str = "de",
) -> list[tuple[str, str, str]]:
    tmp = tempfile.mkdtemp(prefix="bench-pdf-")
    os.environ.setdefault("INSTANCE_PATH", os.path.join(tmp, "instance"))
    database_url = (
        database_url or os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
    )
    upload_folder = os.path.join(tmp, "uploads")
    info = prepare(database_url, upload_folder, username, fill, scripts)
    app = make_app(database_url, upload_folder)
    render_once(app, info["pupil_id"], locale)  # warm-up: imports, fonts, templates
    results = [render_once(app, info["pupil_id"], locale) for _ in range(runs)]
    last = render_once(app, info["pupil_id"], locale)
    med = {
        k: statistics.median(r[k] for r in results)
        for k in ("total", "ours", "weasyprint", "cpu_total", "cpu_ours")
    }
    share = med["ours"] / med["total"]
    cpu_share = med["cpu_ours"] / med["cpu_total"]
    rss = measure_memory(database_url, upload_folder, info["pupil_id"], False, locale)
    traced = measure_memory(database_url, upload_folder, info["pupil_id"], True, locale)
    html_path = os.path.join(tmp, "portfolio.html")
    with open(html_path, "w") as fh:
        fh.write(last["html"])
    # Re-render the exact HTML once more with WeasyPrint alone (the same final HTML).
    with app.test_request_context():
        from portfolio.pdf import html_to_pdf

        w0 = time.perf_counter()
        pdf = html_to_pdf(last["html"])
        weasy_only = time.perf_counter() - w0
    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(pdf)).pages)

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    rows = [
        (
            "portfolio",
            (
                f"{username}: {info['entries']} entries, {info['documents']} documents, "
                f"{info['agreements']} agreements, {info['guidance']} guidance records, "
                f"{pages} pages, {last['bytes'] // 1024} KiB"
                + (" (topped up with tests/support/pdf_fixtures)" if info["topped_up"] else "")
                + (", every script and emoji" if scripts else "")
                + (f", in {locale}" if locale != "de" else "")
            ),
            "",
        ),
        ("database", database_url.split(":")[0], ""),
        ("runs", str(runs), ""),
        ("total (median, wall)", f"{med['total']:.2f} s", mark(med["total"] < TARGET_SECONDS)),
        ("total (median, CPU)", f"{med['cpu_total']:.2f} s", ""),
        (
            "ours: queries+templates+images",
            f"{med['ours']:.3f} s = {share:.1%} of total",
            mark(share < TARGET_SHARE),
        ),
        ("ours (CPU share)", f"{cpu_share:.1%}", ""),
        ("weasyprint in the run (median)", f"{med['weasyprint']:.2f} s", ""),
        ("weasyprint alone, same HTML", f"{weasy_only:.2f} s", ""),
        (
            "peak RSS (VmHWM), one render, fresh process",
            f"{rss['maxrss_mb']:.0f} MB (after start-up {rss['baseline_mb']:.0f} MB)",
            mark(rss["maxrss_mb"] < TARGET_MB),
        ),
        ("peak Python allocations (tracemalloc)", f"{traced['tracemalloc_peak_mb']:.0f} MB", ""),
    ]
    return rows


def print_table(rows) -> None:
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    print(f"{'PDF benchmark':<{w1}}  {'value':<{w2}}  target")
    print("-" * (w1 + w2 + 10))
    for name, value, status in rows:
        print(f"{name:<{w1}}  {value:<{w2}}  {status}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--fill",
        choices=("auto", "yes", "no"),
        default="auto",
        help="top up the pupil's portfolio with the test fixture (auto: if thin)",
    )
    parser.add_argument("--username", default="elif.yilmaz")
    parser.add_argument(
        "--scripts", action="store_true", help="add reflections in every script and emoji"
    )
    parser.add_argument("--locale", default="de", help="language of the PDF (de, ar, ...)")
    parser.add_argument("--database-url")
    parser.add_argument("--upload-folder")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(
            args.database_url, args.upload_folder, args.memory_child, args.trace, args.locale
        )
        return 0
    rows = run(args.runs, args.fill, args.username, args.database_url, args.scripts, args.locale)
    print_table(rows)
    return 1 if any(r[2] == "MISSED" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
