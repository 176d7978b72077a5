#!/usr/bin/env python3
"""Load test with faults: `make loadtest` (LOADTEST_ARGS="--quick" for a short smoke run).

Runs under `tests/support/pgserver.py run --durable --env LOADTEST_DATABASE_URL`, so a
throwaway PostgreSQL that commits durably (fsync, synchronous_commit on) is there
(PGSERVER_DIR names its directory). Steps:

1. migrate, load the demo data and `seed_bulk` schools into LOADTEST_DATABASE_URL;
2. start gunicorn (several gthread workers) on a free port of 127.0.0.1 and, beside it,
   --job-workers `flask jobs worker` processes at --job-nice (the PDFs are made there);
3. simulate users (asyncio + aiohttp) for --duration seconds; they arrive (log in) spread
   evenly over the first --ramp seconds: pupils log in, create and edit entries through
   the real forms (CSRF tokens included) and read them; teachers open class overviews;
   guardians open the family page and ask for a PDF as a browser does: the button's
   POST starts a job, the job page is opened, its JSON polled as static/js/jobs.js polls
   it, the page reloaded when it is done and the file downloaded. Scenarios: `mixed`
   (--users split 75/15/10) and `parents-evening` (100 guardians each download their
   child's portfolio PDF as they arrive, while 100 pupils and 10 teachers browse);
4. a third into the run one gunicorn worker gets SIGKILL (its requests in flight are
   dropped; gunicorn starts a new one); at two thirds PostgreSQL is stopped the hard way
   (pg_ctl restart -m immediate: a crash, recovery from the WAL) as the cluster's owner.
   A create whose answer was lost is sent again once, as a user would press "Save" again;
5. afterwards every acknowledged write (a success redirect was received) is looked up in
   the database: the entry exists and holds the last acknowledged text; and no text of a
   create is stored in two entries (a create sent again must not duplicate);
6. requests, errors (those in flight during each fault apart), latency percentiles of
   page views, the PDFs' time to completion (click to downloaded file), throughput ->
   stdout and tests/loadtest/RESULTS.md.

Exit status 0 only with no errors outside the faults, no lost writes and no duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from tests.support.servers import free_port, wait_until_listening

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VENV_BIN = os.path.dirname(sys.executable)
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION_RE = re.compile(r'name="version"[^>]*value="([^"]*)"')
ENTRY_RE = re.compile(r"/portfolio/entry/(\d+)$")
CLASS_RE = re.compile(r'href="/review/classes/(\d+)')
HIDDEN_RE = re.compile(r'<input[^>]*type="hidden"[^>]*>')
NAME_RE = re.compile(r'name="([^"]+)"')
VALUE_RE = re.compile(r'value="([^"]*)"')
#: Requests that show a page (what a user waits for between clicks).
PAGE_VIEWS = frozenset(
    {
        "pupil home",
        "entry page",
        "entry form",
        "entry edit form",
        "class list",
        "class overview",
        "family page",
        "family child",
        "job page",
    }
)
#: Seconds between polls of a job's JSON, as static/js/jobs.js: 1.5 s, slower while the
#: job waits for its turn (x1.5 per poll, at most 5 s).
POLL_FIRST, POLL_GROWTH, POLL_MAX = 1.5, 1.5, 5.0
#: A PDF not downloaded this long after the click counts as an error.
PDF_GIVE_UP = 600.0
JOB_RE = re.compile(r"/jobs/(\d+)$")
#: The client lets a connection idle at most this long (under gunicorn's keep-alive, 2 s).
KEEPALIVE_SECONDS = 1.0
#: Seconds after a fault in which a request that fails was dropped by it.
FAULT_GRACE = 5.0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- preparation -------------------------------------------------------------------------------
def prepare(env: dict, schools: int, pupils: int) -> None:
    flask = [os.path.join(VENV_BIN, "flask"), "--app", "wsgi"]
    for cmd in (
        ["db", "upgrade"],
        ["seed-demo"],
        ["seed-bulk", "--schools", str(schools), "--pupils-per-school", str(pupils)],
    ):
        log("flask " + " ".join(cmd))
        subprocess.run(flask + cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def accounts(url: str) -> dict[str, list]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT u.username, r.role FROM user_account u "
                "JOIN user_role r ON r.user_id = u.id WHERE u.username LIKE 'bulk%'"
            )
        ).all()
        links = conn.execute(
            sa.text(
                "SELECT g.username, l.pupil_id FROM guardian_link l "
                "JOIN user_account g ON g.id = l.guardian_id WHERE g.username LIKE 'bulk%'"
            )
        ).all()
    engine.dispose()
    by_role: dict[str, list] = defaultdict(list)
    for username, role in rows:
        by_role[role].append(username)
    by_role["guardian_links"] = [(u, p) for u, p in links]
    return by_role


# -- the load ---------------------------------------------------------------------------------
@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    requests: int = 0
    #: entry id -> the last text whose save was acknowledged
    acknowledged: dict[int, str] = field(default_factory=dict)
    creates: int = 0
    edits: int = 0
    #: texts of every create sent (acknowledged or not), for the duplicate check
    create_texts: set[str] = field(default_factory=set)
    resent: int = 0
    login_waits: int = 0
    events: list[tuple[float, str]] = field(default_factory=list)
    #: (start, end, name) seconds into the run during which a fault was acting
    fault_windows: list[tuple[float, float, str]] = field(default_factory=list)
    #: seconds from the click to the downloaded file, per PDF
    pdf_times: list[float] = field(default_factory=list)
    pdf_asked: int = 0
    #: failed requests: (start, end, key) seconds into the run
    failures: list[tuple[float, float, str]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def fail(self, t0: float, key: str, *, server_side: bool) -> None:
        """A failed request; `server_side`: no answer, or a 5xx (what a fault can cause)."""
        self.errors[key] += 1
        self.failures.append((t0 - self.started, time.monotonic() - self.started, key, server_side))

    def split_errors(self) -> tuple[dict[str, Counter], Counter]:
        """The failures each fault caused (no answer or a 5xx, in flight while it acted or
        in its grace time; by the fault's name), and the others."""
        by_fault: dict[str, Counter] = defaultdict(Counter)
        other: Counter = Counter()
        for t0, t1, key, server_side in self.failures:
            hit = next(
                (
                    name
                    for start, end, name in self.fault_windows
                    if server_side and t0 <= end + FAULT_GRACE and t1 >= start
                ),
                None,
            )
            if hit:
                by_fault[hit][key] += 1
            else:
                other[key] += 1
        return by_fault, other


class Failed(Exception):
    """A request that failed; `answer_lost` when no answer came (connection dropped)."""

    def __init__(self, answer_lost: bool = False):
        super().__init__()
        self.answer_lost = answer_lost


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a form page (CSRF token, version, any key the form carries)."""
    fields = {}
    for tag in HIDDEN_RE.findall(page):
        name, value = NAME_RE.search(tag), VALUE_RE.search(tag)
        if name:
            fields[name.group(1)] = value.group(1) if value else ""
    return fields


class User:
    def __init__(self, base, stats, username, password, deadline, arrival=0.0):
        self.base, self.stats, self.username, self.password = base, stats, username, password
        self.deadline = deadline
        #: seconds into the run at which this user arrives (logs in)
        self.arrival = arrival

    async def call(self, session, kind, method, path, expect=(200,), **kw):
        import aiohttp

        started = time.perf_counter()
        try:
            async with session.request(
                method,
                self.base + path,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=120),
                **kw,
            ) as r:
                body = await r.read()
                status, location = r.status, r.headers.get("Location", "")
        except Exception as exc:
            self.stats.requests += 1
            self.stats.fail(started, f"{kind}: {type(exc).__name__}", server_side=True)
            self._sample(f"{kind} {method} {path}: {exc!r}")
            raise Failed(answer_lost=True) from exc
        self.stats.requests += 1
        self.stats.latencies[kind].append(time.perf_counter() - started)
        if status not in expect:
            self.stats.fail(started, f"{kind}: HTTP {status}", server_side=status >= 500)
            text = body.decode(errors="replace")
            detail = re.findall(
                r'class="kern-alert__title[^"]*"[^>]*>([^<]+)|'
                r'<p class="kern-(?:body|error)[^"]*"[^>]*>([^<]+)',
                text,
            )
            self._sample(
                f"{self.username} {kind} {method} {path}: {status} {location} "
                f"{detail[:3]} {text[:120]!r}"
            )
            raise Failed
        return status, location, body

    def _sample(self, text):
        if len(self.stats.error_samples) < 20:
            self.stats.error_samples.append(text)

    async def login(self, session):
        _s, _l, body = await self.call(session, "login page", "GET", "/login")
        token = CSRF_RE.search(body.decode()).group(1)
        data = {"csrf_token": token, "username": self.username, "password": self.password}
        for _attempt in range(5):
            status, _l, _b = await self.call(
                session, "login", "POST", "/login", expect=(302, 429), data=data
            )
            if status == 302:
                return
            # Someone else is logging in to the same account this very moment (two
            # parents, one account): the throttle answers "wait a moment"; so do we.
            self.stats.login_waits += 1
            await asyncio.sleep(2)
        raise Failed

    async def think(self, low, high):
        await asyncio.sleep(random.uniform(low, high))

    async def run(self):
        import aiohttp

        jar = aiohttp.CookieJar(unsafe=True)
        # gunicorn closes a keep-alive connection after 2 s idle; a request sent on it just
        # then meets a reset that no fault caused. Browsers send such a request again on a
        # new connection; this client instead never reuses a connection idle for 1 s.
        connector = aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS)
        async with aiohttp.ClientSession(cookie_jar=jar, connector=connector) as session:
            await asyncio.sleep(self.arrival)  # users arrive over the ramp
            try:
                await self.login(session)
            except Failed:
                return
            while time.monotonic() < self.deadline:
                try:
                    await self.step(session)
                except Failed:
                    await self.think(1, 2)


class Pupil(User):
    entries: list[int]

    async def create(self, session, data) -> str:
        """POST the new entry; when the answer is lost, send the same form once more."""
        path = "/portfolio/kind/reflection/new"
        try:
            _s, location, _b = await self.call(
                session, "entry create", "POST", path, expect=(302,), data=data
            )
        except Failed as exc:
            if not exc.answer_lost:
                raise
            self.stats.resent += 1
            await self.think(1, 2)
            _s, location, _b = await self.call(
                session, "entry create", "POST", path, expect=(302,), data=data
            )
        return location

    async def step(self, session):
        entries = getattr(self, "entries", [])
        self.entries = entries
        await self.call(session, "pupil home", "GET", "/portfolio/")
        await self.think(0.5, 2)
        if not entries or random.random() < 0.35:
            _s, _l, body = await self.call(
                session, "entry form", "GET", "/portfolio/kind/reflection/new"
            )
            text = f"load {self.username} {uuid.uuid4().hex}"
            data = {**hidden_fields(body.decode()), "title": text[:60], "text": text}
            self.stats.create_texts.add(text)
            location = await self.create(session, data)
            match = ENTRY_RE.search(location)
            if not match:
                raise Failed
            entry_id = int(match.group(1))
            entries.append(entry_id)
            self.stats.acknowledged[entry_id] = text
            self.stats.creates += 1
        else:
            entry_id = random.choice(entries)
            _s, _l, body = await self.call(
                session, "entry edit form", "GET", f"/portfolio/entry/{entry_id}/edit"
            )
            page = body.decode()
            token, version = CSRF_RE.search(page).group(1), VERSION_RE.search(page).group(1)
            text = f"edit {self.username} {uuid.uuid4().hex}"
            await self.call(
                session,
                "entry edit",
                "POST",
                f"/portfolio/entry/{entry_id}/edit",
                expect=(302,),
                data={"csrf_token": token, "version": version, "title": text[:60], "text": text},
            )
            self.stats.acknowledged[entry_id] = text
            self.stats.edits += 1
        await self.think(0.5, 2)
        await self.call(session, "entry page", "GET", f"/portfolio/entry/{entry_id}")
        await self.think(1, 3)


class Teacher(User):
    async def step(self, session):
        _s, _l, body = await self.call(session, "class list", "GET", "/review/classes")
        ids = CLASS_RE.findall(body.decode())
        await self.think(0.5, 2)
        if ids:
            await self.call(
                session, "class overview", "GET", f"/review/classes/{random.choice(ids)}"
            )
        await self.think(2, 5)


class Guardian(User):
    pupil_id: int = 0

    async def pdf(self, session, document: str) -> None:
        """Ask for the child's PDF as a browser does: the button on the child's page
        POSTs (with the form's hidden fields), the job page opens, static/js/jobs.js polls
        its JSON, reloads the page when the job is done, and the file is downloaded.
        The time from the click to the downloaded file is the PDF's time to completion."""
        _s, _l, body = await self.call(
            session, "family child", "GET", f"/family/child/{self.pupil_id}"
        )
        action = f"/export/pupil/{self.pupil_id}/{document}.pdf"
        form = re.search(
            r'<form method="post" action="' + re.escape(action) + r'"[^>]*>(.*?)</form>',
            body.decode(),
            re.S,
        )
        if not form:
            self._sample(f"{self.username}: no form for {action} on the child's page")
            raise Failed
        await self.think(1, 3)
        clicked = time.monotonic()
        self.stats.pdf_asked += 1
        _s, location, _b = await self.call(
            session, "pdf start", "POST", action, expect=(302,), data=hidden_fields(form.group(1))
        )
        job = JOB_RE.search(location)
        if not job:
            self._sample(f"{self.username}: {action} led to {location!r}, not a job page")
            raise Failed
        page = f"/jobs/{job.group(1)}"
        await self.call(session, "job page", "GET", page)
        delay = POLL_FIRST
        while True:
            await asyncio.sleep(delay)
            _s, _l, body = await self.call(session, "job status (JSON poll)", "GET", page + ".json")
            status = json.loads(body)
            if status["state"] in ("done", "failed"):
                break
            delay = min(delay * POLL_GROWTH, POLL_MAX) if status["state"] == "queued" else 1.5
            if time.monotonic() - clicked > PDF_GIVE_UP:
                self.stats.fail(clicked, "pdf: not ready in time", server_side=False)
                raise Failed
        await self.call(session, "job page", "GET", page)  # jobs.js reloads the page
        if status["state"] != "done" or not status["download"]:
            self.stats.fail(clicked, "pdf: the job failed", server_side=False)
            self._sample(f"{self.username} {page}: {status}")
            raise Failed
        _s, _l, data = await self.call(session, "pdf download", "GET", status["download"])
        if not data.startswith(b"%PDF"):
            self.stats.fail(clicked, "pdf: not a PDF", server_side=False)
            raise Failed
        self.stats.pdf_times.append(time.monotonic() - clicked)

    async def step(self, session):
        await self.call(session, "family page", "GET", "/family/")
        await self.think(1, 3)
        await self.pdf(session, random.choice(["summary", "portfolio"]))
        await self.think(8, 15)


class EveningGuardian(Guardian):
    """A parent at the parents' evening: arrives during the ramp (the teacher has just
    shown the QR code), asks for the child's portfolio PDF once, waits on the job page
    until it can be downloaded, then reads the family pages now and then."""

    downloaded = False

    async def step(self, session):
        if not self.downloaded:
            self.downloaded = True
            await self.call(session, "family page", "GET", "/family/")
            await self.think(1, 3)
            await self.pdf(session, "portfolio")
        await self.think(5, 15)
        await self.call(session, "family child", "GET", f"/family/child/{self.pupil_id}")


def cast(scenario: str, n_users: int) -> tuple[int, int, int]:
    """Pupils, teachers and guardians of a scenario."""
    if scenario == "parents-evening":
        return 100, 10, 100
    n_teachers = max(1, n_users * 15 // 100)
    n_guardians = max(1, n_users * 10 // 100)
    return n_users - n_teachers - n_guardians, n_teachers, n_guardians


async def load(base, stats, users_by_role, scenario, n_users, duration, ramp, password, faults):
    deadline = time.monotonic() + duration
    pupils = users_by_role["pupil"]
    teachers = users_by_role["teacher"]
    links = users_by_role["guardian_links"]
    random.shuffle(pupils)
    random.shuffle(links)
    n_pupils, n_teachers, n_guardians = cast(scenario, n_users)
    users: list[User] = [Pupil(base, stats, u, password, deadline) for u in pupils[:n_pupils]]
    random.shuffle(teachers)
    users += [
        Teacher(base, stats, teachers[i % len(teachers)], password, deadline)
        for i in range(n_teachers)
    ]
    parent = EveningGuardian if scenario == "parents-evening" else Guardian
    one_child = list({username: pupil_id for username, pupil_id in links}.items())
    for username, pupil_id in one_child[:n_guardians]:
        g = parent(base, stats, username, password, deadline)
        g.pupil_id = pupil_id
        users.append(g)
    # Arrivals spread evenly over the ramp, in random order of roles.
    random.shuffle(users)
    for i, user in enumerate(users):
        user.arrival = ramp * i / max(1, len(users))
    log(
        f"{len(users)} simulated users ({n_pupils} pupils, {n_teachers} teachers, "
        f"{len(one_child[:n_guardians])} guardians) arriving over {ramp:.0f} s, "
        f"for {duration} s"
    )
    tasks = [asyncio.create_task(u.run()) for u in users]
    fault_tasks = [asyncio.create_task(f(deadline, duration)) for f in faults]
    await asyncio.gather(*tasks)
    # A fault under way (a restart waiting for PostgreSQL's recovery) is let finish.
    if fault_tasks:
        await asyncio.wait(fault_tasks, timeout=120)
    for t in fault_tasks:
        t.cancel()
    return len(users)


# -- faults -----------------------------------------------------------------------------------
def worker_pids(master: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True, check=False
    ).stdout
    return [int(p) for p in out.split()]


def cpu_seconds(pids) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _pg_bindir(pgdir: str) -> str:
    with open(os.path.join(pgdir, "pgserver.json"), encoding="utf-8") as fh:
        return json.load(fh)["bindir"]


def make_faults(
    master_pid: int, stats: Stats, started: float, sig: str = "KILL", pg_mode: str = "immediate"
):
    async def kill_worker(deadline, duration):
        await asyncio.sleep(duration / 3)
        pids = worker_pids(master_pid)
        if pids:
            at = time.monotonic() - started
            os.kill(pids[0], getattr(signal, f"SIG{sig}"))
            stats.fault_windows.append((at, at, "SIGKILL of a web worker"))
            msg = f"SIG{sig} to gunicorn worker {pids[0]} (of {len(pids)}); gunicorn replaces it"
            stats.events.append((at, msg))
            log(msg)

    async def restart_postgres(deadline, duration):
        await asyncio.sleep(2 * duration / 3)
        pgdir = os.environ.get("PGSERVER_DIR")
        if not pgdir:
            stats.events.append((time.monotonic() - started, "no PGSERVER_DIR: no restart"))
            return
        bindir = _pg_bindir(pgdir)
        data = os.path.join(pgdir, "data")
        cmd = [
            os.path.join(bindir, "pg_ctl"),
            "-D",
            data,
            "-m",
            pg_mode,
            "-w",
            "-t",
            "60",
            "-l",
            os.path.join(pgdir, "postgres.log"),
            "restart",
        ]
        if os.geteuid() == 0:
            import pwd

            cmd = ["runuser", "-u", pwd.getpwuid(os.stat(data).st_uid).pw_name, "--", *cmd]
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _out, err = await proc.communicate()
        stats.fault_windows.append((t0 - started, time.monotonic() - started, "PostgreSQL restart"))
        msg = (
            f"PostgreSQL restarted (pg_ctl restart -m {pg_mode}, "
            f"{time.monotonic() - t0:.1f} s, "
            f"exit {proc.returncode}){' ' + err.decode().strip() if proc.returncode else ''}"
        )
        stats.events.append((time.monotonic() - started, msg))
        log(msg)

    return [kill_worker, restart_postgres]


# -- checks and report ------------------------------------------------------------------------
def duplicates(conn, texts: set[str]) -> list[str]:
    """Texts of creates that are stored in more than one entry."""
    import sqlalchemy as sa

    counts: Counter = Counter()
    rows = conn.execute(sa.text("SELECT data FROM entry WHERE kind = 'reflection'"))
    for (data,) in rows:
        text = (data if isinstance(data, dict) else json.loads(data)).get("text")
        if text in texts:
            counts[text] += 1
    return [f"{n} entries hold {text!r}" for text, n in counts.items() if n > 1]


def _connect_when_ready(engine, timeout: float = 300):
    """A connection once the server accepts them again (after a crash it first replays
    its WAL)."""
    import sqlalchemy as sa

    deadline = time.monotonic() + timeout
    while True:
        try:
            return engine.connect()
        except sa.exc.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def verify(url: str, stats: Stats) -> tuple[int, list[str], list[str]]:
    """Acknowledged writes checked, the lost ones, the duplicated creates."""
    import sqlalchemy as sa

    acknowledged = stats.acknowledged
    engine = sa.create_engine(url)
    lost = []
    with _connect_when_ready(engine) as conn:
        ids = list(acknowledged)
        found = {}
        for i in range(0, len(ids), 1000):
            chunk = ids[i : i + 1000]
            for eid, data in conn.execute(
                sa.text("SELECT id, data FROM entry WHERE id = ANY(:ids)"), {"ids": chunk}
            ):
                found[eid] = data if isinstance(data, dict) else json.loads(data)
        doubled = duplicates(conn, stats.create_texts)
    engine.dispose()
    for eid, text in acknowledged.items():
        if eid not in found:
            lost.append(f"entry {eid} missing")
        elif found[eid].get("text") != text:
            lost.append(f"entry {eid}: {found[eid].get('text')!r} instead of {text!r}")
    return len(acknowledged) - len(lost), lost, doubled


def durability(url: str) -> str:
    """The server's fsync and synchronous_commit, as the report names them."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with _connect_when_ready(engine) as conn:
        fsync = conn.execute(sa.text("SHOW fsync")).scalar()
        sync = conn.execute(sa.text("SHOW synchronous_commit")).scalar()
    engine.dispose()
    return f"fsync={fsync}, synchronous_commit={sync}"


def pct(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def _load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _pcts(values) -> str:
    return " / ".join(f"{pct(values, p) * 1000:.0f}" for p in (50, 95, 99))


def report(args, stats: Stats, run: dict) -> str:
    """RESULTS.md: the command, the machine, the figures and the checks of one run."""
    everything = [v for vs in stats.latencies.values() for v in vs]
    pages = [v for k, vs in stats.latencies.items() if k in PAGE_VIEWS for v in vs]
    pdfs = stats.pdf_times
    by_fault, other = stats.split_errors()
    dropped = sum(sum(c.values()) for c in by_fault.values())
    elapsed, lost, doubled = run["elapsed"], run["lost"], run["doubled"]
    extra = f" LOADTEST_ARGS={' '.join(sys.argv[1:])!r}" if sys.argv[1:] else ""
    page_p95 = pct(pages, 95) * 1000
    lines = [
        "# Load test results",
        "",
        f"Command: `make loadtest{extra}` — {time.strftime('%Y-%m-%d %H:%M %Z')}",
        "",
        (
            f"- scenario: {args.scenario}; gunicorn: {args.workers} gthread workers x "
            f"{args.threads} threads; jobs: {args.job_workers} `flask jobs worker` "
            f"process(es) beside it at nice {args.job_nice} (SQLite queue); PostgreSQL "
            f"(throwaway, {run['durability']}); {args.schools} bulk schools x "
            f"{args.pupils} pupils + demo data"
        ),
        (
            f"- machine: {os.cpu_count()} CPUs, load generator on the same machine; load "
            f"average (1/5/15 min) before {run['load_before']}, after {_load_average()}"
        ),
        (
            f"- simulated users: {run['users']} for {elapsed:.0f} s; they arrive (log in) "
            f"spread evenly over the first {args.ramp:.0f} s, not all in the same second"
        ),
        (
            f"- requests: {stats.requests}, throughput: {stats.requests / elapsed:.1f} req/s; "
            f"errors: **{sum(other.values())}** outside the faults, {dropped} "
            f"dropped by the faults (in flight or within {FAULT_GRACE:.0f} s after)"
        ),
        f"- latency all requests (p50 / p95 / p99 ms): {_pcts(everything)}",
        (
            f"- page views (p50 / p95 / p99 ms): {_pcts(pages)} — target p95 < 200 ms: "
            f"**{'met' if pages and page_p95 < 200 else 'missed'}**"
        ),
        (
            "- PDFs, time to completion (click to downloaded file, the job page polled as "
            "static/js/jobs.js polls it; p50 / p95 / max s): "
            + (
                f"{pct(pdfs, 50):.1f} / {pct(pdfs, 95):.1f} / {max(pdfs):.1f} "
                f"({len(pdfs)} of {stats.pdf_asked} asked for downloaded)"
                if pdfs
                else f"none of {stats.pdf_asked} asked for"
            )
        ),
        (
            f"- acknowledged writes: {stats.creates} entries created, {stats.edits} edits; "
            f"{len(stats.acknowledged)} entries checked afterwards, **{len(lost)} lost**"
        ),
        (
            f"- creates sent again after a lost answer: {stats.resent}; texts stored in more "
            f"than one entry: **{len(doubled)}**; logins told to wait a moment (the same "
            f"account logging in at once elsewhere): {stats.login_waits}"
        ),
        (
            "- CPU used during the run (user + system s, of "
            f"{elapsed * (os.cpu_count() or 1):.0f} s on {os.cpu_count()} cores): "
            + ", ".join(f"{k} {v:.0f}" for k, v in run.get("cpu", {}).items())
            + (
                f"; the jobs workers {run['cpu']['jobs workers'] / len(pdfs):.1f} s per PDF"
                if pdfs and run.get("cpu")
                else ""
            )
        ),
        "",
        "Faults during the run:",
        "",
        *([f"- at {t:.0f} s: {msg}" for t, msg in stats.events] or ["- none"]),
        "",
        "| request | count | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind in sorted(stats.latencies):
        vs = stats.latencies[kind]
        lines.append(
            f"| {kind} | {len(vs)} | {pct(vs, 50) * 1000:.0f} | {pct(vs, 95) * 1000:.0f} "
            f"| {pct(vs, 99) * 1000:.0f} |"
        )
    lines += ["", "Errors outside the faults:", ""]
    lines += [f"- {k}: {v}" for k, v in other.items()] or ["- none"]
    for _t, _m, name in stats.fault_windows:
        errors = by_fault.get(name, Counter())
        lines += ["", f'Dropped by the fault "{name}":', ""]
        lines += [f"- {k}: {v}" for k, v in errors.items()] or ["- none"]
    if stats.error_samples:
        lines += ["", "Samples:", ""] + [f"- `{s}`" for s in stats.error_samples]
    if lost:
        lines += ["", "Lost writes:", ""] + [f"- {x}" for x in lost[:20]]
    if doubled:
        lines += ["", "Duplicated creates:", ""] + [f"- {x}" for x in doubled[:20]]
    return "\n".join(lines) + "\n"


def warm_up(port: int, workers: int) -> None:
    """The workers have started (the port is bound before they have loaded the app): a few
    pages from each, so that the run measures the app, not the start."""
    import concurrent.futures
    import urllib.request

    def fetch(_n):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=120) as r:
            r.read()

    with concurrent.futures.ThreadPoolExecutor(workers * 2) as pool:
        list(pool.map(fetch, range(workers * 6)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 s, 50 users (smoke run)")
    parser.add_argument(
        "--scenario",
        default="mixed",
        choices=["mixed", "parents-evening"],
        help="mixed: --users split into pupils, teachers, guardians; parents-evening: 100 "
        "guardians download PDFs at once while 100 pupils and 10 teachers browse",
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument(
        "--ramp",
        type=float,
        default=60.0,
        help="seconds over which the users arrive and log in, evenly spread (a login's "
        "scrypt hash costs CPU: 210 in the same second is not how an evening starts)",
    )
    parser.add_argument(
        "--job-workers",
        type=int,
        default=1,
        help="`flask jobs worker` processes beside gunicorn (each makes one PDF at a time)",
    )
    parser.add_argument(
        "--job-nice",
        type=int,
        default=10,
        help="niceness of the jobs workers: the web workers come first for the CPU",
    )
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=max(3, (os.cpu_count() or 1) + 1))
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--schools", type=int, default=2)
    parser.add_argument("--pupils", type=int, default=250, help="pupils per bulk school")
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument(
        "--kill-signal",
        default="KILL",
        choices=["TERM", "KILL", "QUIT"],
        help="signal for the worker (KILL drops the worker's requests in flight, which the "
        "clients see; TERM: graceful, gunicorn replaces it)",
    )
    parser.add_argument(
        "--pg-stop",
        default="immediate",
        choices=["immediate", "fast"],
        help="how PostgreSQL is stopped for its restart (immediate: a crash, recovery from "
        "the WAL; fast: a clean shutdown)",
    )
    parser.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    args = parser.parse_args()
    if args.quick:
        args.users, args.duration = min(args.users, 50), min(args.duration, 30.0)
        args.ramp = min(args.ramp, 10.0)
    url = os.environ.get("LOADTEST_DATABASE_URL")
    if not url:
        print("LOADTEST_DATABASE_URL is not set; run through `make loadtest`.", file=sys.stderr)
        return 2
    from portfolio.seed.bulk import BULK_PASSWORD

    workdir = tempfile.mkdtemp(prefix="bwp-loadtest-")
    env = dict(
        os.environ,
        DATABASE_URL=url,
        INSTANCE_PATH=os.path.join(workdir, "instance"),
        SECRET_KEY="loadtest-" + uuid.uuid4().hex,
        PORTFOLIO_ENV="development",
        LOGIN_LIMIT_PER_ADDRESS="1000000 per minute",
        LOGIN_LIMIT_PER_ACCOUNT="1000000 per minute",
        LOGIN_LIMIT_PER_ADDRESS_ACCOUNT="1000000 per minute",
        LOGIN_LIMIT_PER_DEVICE="1000000 per minute",
        FLASK_APP="wsgi",
    )
    prepare(env, args.schools, args.pupils)
    users_by_role = accounts(url)
    port = free_port()
    gunicorn = subprocess.Popen(
        [
            os.path.join(VENV_BIN, "gunicorn"),
            "-w",
            str(args.workers),
            "-k",
            "gthread",
            "--threads",
            str(args.threads),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "--graceful-timeout",
            "60",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        env=env,
        cwd=ROOT,
    )
    # The jobs workers (the PDFs), niced so that page views come first for the CPU.
    job_workers = [
        subprocess.Popen(
            [
                "nice",
                "-n",
                str(args.job_nice),
                os.path.join(VENV_BIN, "flask"),
                "--app",
                "wsgi",
                "jobs",
                "worker",
            ],
            env=env,
            cwd=ROOT,
        )
        for _ in range(args.job_workers)
    ]
    stats = Stats()
    load_before = _load_average()
    cpu: dict[str, float] = {}
    try:
        wait_until_listening(port, gunicorn, timeout=60)
        warm_up(port, args.workers)
        log(
            f"gunicorn on 127.0.0.1:{port}, {args.workers} workers; {args.job_workers} "
            f"jobs worker(s) at nice {args.job_nice}"
        )
        started = stats.started = time.monotonic()
        faults = (
            []
            if args.no_faults
            else make_faults(gunicorn.pid, stats, started, args.kill_signal, args.pg_stop)
        )
        n_users = asyncio.run(
            load(
                f"http://127.0.0.1:{port}",
                stats,
                users_by_role,
                args.scenario,
                args.users,
                args.duration,
                args.ramp,
                BULK_PASSWORD,
                faults,
            )
        )
        elapsed = time.monotonic() - started
        # CPU the app used (the web workers alive now: one killed by the fault is missing;
        # the jobs workers), and this load generator, against the run's 2-core budget.
        cpu = {
            "web workers": cpu_seconds(worker_pids(gunicorn.pid)),
            "jobs workers": cpu_seconds(p.pid for p in job_workers),
            "load generator": cpu_seconds([os.getpid()]),
        }
    finally:
        for proc in (gunicorn, *job_workers):
            proc.send_signal(signal.SIGTERM)
        for proc in (gunicorn, *job_workers):
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    _verified, lost, doubled = verify(url, stats)
    run = {
        "elapsed": elapsed,
        "users": n_users,
        "lost": lost,
        "doubled": doubled,
        "load_before": load_before,
        "durability": durability(url),
        "cpu": cpu,
    }
    text = report(args, stats, run)
    print("\n" + text)
    with open(args.results, "w", encoding="utf-8") as fh:
        fh.write(text)
    _by_fault, other = stats.split_errors()
    return 0 if not other and not lost and not doubled else 1


if __name__ == "__main__":
    sys.exit(main())
