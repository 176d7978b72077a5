#!/usr/bin/env python3
"""Start and stop a throwaway PostgreSQL server for tests, benchmarks and load tests.

Standard library only, so it runs before (and without) the project's virtualenv.

Command line::

    python tests/support/pgserver.py start [--durable] --dir DIR   # prints the SQLAlchemy URL
    python tests/support/pgserver.py stop --dir DIR    # stops the server and removes DIR
    python tests/support/pgserver.py restart --dir DIR [--mode fast|immediate] [--down SECONDS]
    python tests/support/pgserver.py run [--durable] [--dir DIR] [--env NAME] -- CMD [ARGS...]
        # start, run CMD with NAME (default TEST_DATABASE_URL) set to the URL, always stop

From Python::

    from tests.support.pgserver import start, stop, restart, create_database
    url = start("/tmp/pg-xyz")          # postgresql+psycopg://USER:PASS@127.0.0.1:PORT/portfolio_test
    url = start("/tmp/pg-abc", durable=True)  # fsync on: for crash and durability tests
    url2 = create_database(url, "portfolio_test_gw1")
    restart("/tmp/pg-xyz", mode="immediate")   # every connection breaks; the data stays
    stop("/tmp/pg-xyz")

Layout of DIR: ``data/`` (the cluster), ``postgres.log``, the unix socket, ``url`` (the URL)
and ``pgserver.json`` (marker + metadata; ``stop`` refuses to delete a directory without it).

By default the server is tuned for speed, not durability (fsync, synchronous_commit and
full_page_writes off): a crash of the server (pg_ctl stop -m immediate) may lose commits it
acknowledged. `durable=True` (`--durable`) keeps PostgreSQL's own defaults for them, as in
production: the load test with its faults and the durability tests use it. It listens on
127.0.0.1 only, uses the C locale with UTF-8 encoding (byte-wise collation, like SQLite) and
password (SCRAM) authentication over TCP. The role in the URL is the cluster's superuser, so
tests may create and drop databases.

When run as root, initdb/pg_ctl are run as the system user ``postgres`` through ``runuser``
(initdb refuses to run as root). Set ``PG_BINDIR`` to choose the server binaries.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import quote, unquote, urlsplit, urlunsplit

__all__ = [
    "PgServerError",
    "crash_restart",
    "create_database",
    "find_bindir",
    "restart",
    "start",
    "stop",
]

DATABASE = "portfolio_test"
ROLE = "portfolio"
MARKER = "pgserver.json"
PREFERRED_MAJOR = "15"
REQUIRED_BINARIES = ("initdb", "pg_ctl", "pg_isready", "postgres", "createdb", "dropdb")

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    # Less WAL, no replication: faster CREATE TABLE / TRUNCATE / bulk inserts.
    "wal_level": "minimal",
    "max_wal_senders": "0",
    # JIT compilation only slows down the short queries of a web application's tests.
    "jit": "off",
    "logging_collector": "off",
    "timezone": "'UTC'",
}


#: What `durable=True` sets instead (PostgreSQL's defaults): a commit is on disk when acknowledged.
DURABLE_SETTINGS = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


class PgServerError(RuntimeError):
    """Raised with a human-readable explanation when the server cannot be started/stopped."""


# --------------------------------------------------------------------------- helpers


def _log(msg: str) -> None:
    print(f"pgserver: {msg}", file=sys.stderr, flush=True)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _version_key(path: str) -> tuple:
    # /usr/lib/postgresql/15/bin -> (is_preferred, 15)
    major = os.path.basename(os.path.dirname(path))
    try:
        num = float(major)
    except ValueError:
        num = 0.0
    return (major == PREFERRED_MAJOR, num)


def find_bindir() -> str:
    """Return the directory holding initdb, pg_ctl, postgres, ... or raise PgServerError."""
    candidates: list[str] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates += sorted(glob.glob("/usr/pgsql-*/bin"), reverse=True)  # RHEL/PGDG layout
    for tool in ("pg_ctl", "initdb"):
        found = shutil.which(tool)
        if found:
            candidates.append(os.path.dirname(os.path.realpath(found)))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
            if out:
                candidates.append(out)
        except (OSError, subprocess.CalledProcessError):
            pass
    for cand in candidates:
        if all(os.access(os.path.join(cand, b), os.X_OK) for b in REQUIRED_BINARIES):
            return cand
    looked = ", ".join(dict.fromkeys(candidates)) or "/usr/lib/postgresql/*/bin and PATH"
    raise PgServerError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found "
        f"(looked in: {looked}).\n"
        "  Debian 12:        apt-get install --no-install-recommends postgresql-15\n"
        "  Debian/Ubuntu:    apt-get install --no-install-recommends postgresql\n"
        "  or set PG_BINDIR to the directory containing initdb and pg_ctl."
    )


def _runuser() -> str:
    found = shutil.which("runuser") or next(
        (
            p
            for p in ("/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser")
            if os.path.exists(p)
        ),
        None,
    )
    if not found:
        raise PgServerError("running as root but 'runuser' (util-linux) is not available")
    return found


def _server_user_for_new_cluster():
    """The pwd entry to run the server as, or None to run as the current user."""
    if not _is_root():
        return None
    import pwd

    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PgServerError(
            "running as root, but the system user 'postgres' does not exist. initdb refuses to "
            "run as root, so the server must run as 'postgres'. Install the 'postgresql' package "
            "(it creates the user), create the user (adduser --system --group postgres), "
            "or run the tests as an unprivileged user."
        ) from None


def _owner_of(path: str):
    """For stop(): when root, run pg_ctl as the owner of the data directory."""
    if not _is_root():
        return None
    import pwd

    uid = os.stat(path).st_uid
    if uid == 0:
        return None
    try:
        return pwd.getpwuid(uid)
    except KeyError:
        raise PgServerError(f"owner uid {uid} of {path} has no passwd entry") from None


def _cmd_as(user, cmd: list[str]) -> list[str]:
    if user is None:
        return cmd
    return [_runuser(), "-u", user.pw_name, "--", *cmd]


def _run(user, cmd: list[str], cwd: str, *, check: bool = True, env=None, timeout=None):
    """Run a command (as `user` when given), capturing output; raise PgServerError on failure."""
    try:
        proc = subprocess.run(
            _cmd_as(user, cmd),
            check=False,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise PgServerError(f"timed out after {timeout}s: {' '.join(cmd)}") from exc
    if check and proc.returncode != 0:
        raise PgServerError(
            f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"{proc.stdout}{proc.stderr}".rstrip()
        )
    return proc


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client_env(password: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") or k == "PG_BINDIR"}
    if password is not None:
        env["PGPASSWORD"] = password
    env["PGCONNECT_TIMEOUT"] = "10"
    return env


def _tail(path: str, start: int = 0, lines: int = 30) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            fh.seek(start)
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return ""


def _prepare_dir(path: str, user) -> str:
    path = os.path.abspath(path)
    if os.path.lexists(path):
        if not os.path.isdir(path) or os.path.islink(path):
            raise PgServerError(f"{path} exists and is not a directory")
        if os.listdir(path):
            raise PgServerError(f"{path} exists and is not empty; refusing to use it")
        created = False
    else:
        os.makedirs(path, mode=0o700)
        created = True
    try:
        os.chmod(path, 0o700)
        # The unix socket path (DIR/.s.PGSQL.65535) must fit into sun_path (108 bytes).
        if len(os.fsencode(path)) + len("/.s.PGSQL.65535") >= 107:
            raise PgServerError(
                f"{path} is too long for a unix socket directory; use a shorter path"
            )
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)
            probe = subprocess.run(
                _cmd_as(user, ["test", "-w", path, "-a", "-x", path]),
                check=False,
                stdin=subprocess.DEVNULL,
            )
            if probe.returncode != 0:
                raise PgServerError(
                    f"user '{user.pw_name}' cannot access {path}: a parent directory is not "
                    "searchable by it (e.g. /root). Use a directory under /tmp."
                )
    except BaseException:
        if created:
            os.rmdir(path)
        raise
    return path


def _parse_url(url: str):
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgresql"):
        raise PgServerError(f"not a PostgreSQL URL: {url}")
    return parts


# --------------------------------------------------------------------------- public API


def create_database(url: str, name: str, *, replace: bool = False) -> str:
    """Create database `name` on the server of `url` (owned by the URL's role); return its URL.

    With replace=True an existing database of that name is dropped first.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise PgServerError(f"invalid database name {name!r} (use letters, digits, underscore)")
    parts = _parse_url(url)
    bindir = find_bindir()
    user = unquote(parts.username or "")
    password = unquote(parts.password) if parts.password is not None else None
    conn = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", user]
    env = _client_env(password)
    cwd = tempfile.gettempdir()
    if replace:
        _run(
            None,
            [os.path.join(bindir, "dropdb"), *conn, "--if-exists", name],
            cwd,
            env=env,
            timeout=60,
        )
    _run(
        None, [os.path.join(bindir, "createdb"), *conn, "-O", user, name], cwd, env=env, timeout=60
    )
    return urlunsplit(parts._replace(path="/" + name))


def _initdb(
    user, bindir: str, path: str, data: str, password: str, *, durable: bool = False
) -> None:
    """A new cluster in `data` whose superuser ROLE has `password`, with SERVER_SETTINGS
    (and DURABLE_SETTINGS when `durable`)."""
    pwfile = os.path.join(path, "pwfile")
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    if user is not None:
        os.chown(pwfile, user.pw_uid, user.pw_gid)
    _run(
        user,
        [
            os.path.join(bindir, "initdb"),
            "-D",
            data,
            "-U",
            ROLE,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ],
        path,
        timeout=300,
    )
    os.unlink(pwfile)

    settings = dict(SERVER_SETTINGS, unix_socket_directories=f"'{path}'")
    if durable:
        settings.update(DURABLE_SETTINGS)
    with open(os.path.join(data, "postgresql.conf"), "a", encoding="utf-8") as fh:
        fh.write("\n# --- throwaway test server (tests/support/pgserver.py) ---\n")
        fh.writelines(f"{key} = {value}\n" for key, value in settings.items())


def _pg_ctl_start(user, bindir: str, path: str, data: str, logfile: str) -> int:
    """pg_ctl start on a free port, retrying if another process grabbed the port meanwhile.
    Returns the port."""
    pg_ctl = os.path.join(bindir, "pg_ctl")
    for attempt in range(8):
        port = _free_port()
        log_pos = os.path.getsize(logfile) if os.path.exists(logfile) else 0
        proc = _run(
            user,
            [pg_ctl, "-D", data, "-l", logfile, "-w", "-t", "60", "-o", f"-p {port}", "start"],
            path,
            check=False,
            timeout=120,
        )
        if proc.returncode == 0:
            return port
        log = _tail(logfile, log_pos, 50)
        if "could not bind" in log or "Address already in use" in log:
            _log(f"port {port} was taken, retrying ({attempt + 1})")
            continue
        raise PgServerError(
            f"pg_ctl start failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
            f"--- {logfile} ---\n{log}".rstrip()
        )
    raise PgServerError(f"could not find a free port; see {logfile}")


def _wait_until_ready(bindir: str, path: str, port: int, logfile: str) -> None:
    """Wait (60 s at most) until the server accepts TCP connections."""
    deadline = time.monotonic() + 60
    isready = [
        os.path.join(bindir, "pg_isready"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        ROLE,
        "-d",
        "postgres",
        "-t",
        "2",
    ]
    while True:
        rc = subprocess.run(
            isready, check=False, capture_output=True, env=_client_env(None), cwd=path
        ).returncode
        if rc == 0:
            return
        if time.monotonic() > deadline:
            raise PgServerError(f"server did not become ready:\n{_tail(logfile)}")
        time.sleep(0.1)


def start(dir: str | os.PathLike | None = None, *, durable: bool = False) -> str:
    """Create a cluster in `dir` (a new or empty directory; a fresh temp dir when None),
    start it on a free 127.0.0.1 port, create the database, write DIR/url and return the URL.
    `durable`: fsync and synchronous commits on (slower; for crash tests)."""
    bindir = find_bindir()
    user = _server_user_for_new_cluster()
    if dir is None:
        dir = tempfile.mkdtemp(prefix="pgserver-")
    path = _prepare_dir(os.fspath(dir), user)
    data = os.path.join(path, "data")
    logfile = os.path.join(path, "postgres.log")
    password = secrets.token_hex(16)
    meta = {
        "pid": os.getpid(),
        "bindir": bindir,
        "role": ROLE,
        "database": DATABASE,
        "durable": durable,
    }

    def write_meta():
        with open(os.path.join(path, MARKER), "w", encoding="utf-8") as fh:
            json.dump(meta, fh, indent=2)

    write_meta()  # written first so that stop() can clean up after a failed start
    try:
        _initdb(user, bindir, path, data, password, durable=durable)
        port = _pg_ctl_start(user, bindir, path, data, logfile)
        meta["port"] = port
        write_meta()
        _wait_until_ready(bindir, path, port, logfile)

        # --- database + URL ---------------------------------------------------------------
        admin_url = (
            f"postgresql+psycopg://{ROLE}:{quote(password, safe='')}@127.0.0.1:{port}/postgres"
        )
        url = create_database(admin_url, DATABASE)
        with open(os.path.join(path, "url"), "w", encoding="utf-8") as fh:
            fh.write(url + "\n")
        os.chmod(os.path.join(path, "url"), 0o600)
        return url
    except BaseException:
        # Leave nothing behind (a running postmaster would outlive us).
        try:
            stop(path)
        except (PgServerError, OSError, subprocess.SubprocessError) as exc:  # best effort
            _log(f"cleanup after failed start also failed: {exc}")
        raise


def crash_restart(dir: str | os.PathLike) -> None:
    """Stop the server in `dir` the hard way (pg_ctl stop -m immediate: no checkpoint, the
    server recovers from its WAL, as after a crash) and start it again on the same port."""
    path = os.path.abspath(os.fspath(dir))
    with open(os.path.join(path, MARKER), encoding="utf-8") as fh:
        bindir = json.load(fh)["bindir"]
    data = os.path.join(path, "data")
    _run(
        _owner_of(data),
        [
            os.path.join(bindir, "pg_ctl"),
            "-D",
            data,
            "-l",
            os.path.join(path, "postgres.log"),
            "-m",
            "immediate",
            "-w",
            "-t",
            "60",
            "restart",
        ],
        path,
        timeout=120,
    )


def stop(dir: str | os.PathLike) -> None:
    """Stop the server in `dir` (pg_ctl stop -m fast) and remove `dir`. Idempotent."""
    path = os.path.abspath(os.fspath(dir))
    if not os.path.exists(path):
        return
    if not os.path.isfile(os.path.join(path, MARKER)):
        raise PgServerError(
            f"{path} was not created by pgserver.py ({MARKER} missing); not removing it"
        )
    data = os.path.join(path, "data")
    if os.path.isfile(os.path.join(data, "postmaster.pid")):
        try:
            with open(os.path.join(path, MARKER), encoding="utf-8") as fh:
                bindir = json.load(fh)["bindir"]
        except (OSError, ValueError, KeyError):
            bindir = find_bindir()
        pg_ctl = os.path.join(bindir, "pg_ctl")
        user = _owner_of(data)
        proc = _run(
            user,
            [pg_ctl, "-D", data, "-m", "fast", "-w", "-t", "60", "stop"],
            path,
            check=False,
            timeout=120,
        )
        if proc.returncode != 0 and os.path.isfile(os.path.join(data, "postmaster.pid")):
            _log(f"fast shutdown failed ({(proc.stdout + proc.stderr).strip()}); trying immediate")
            _run(
                user,
                [pg_ctl, "-D", data, "-m", "immediate", "-w", "-t", "60", "stop"],
                path,
                check=False,
                timeout=120,
            )
    shutil.rmtree(path, ignore_errors=False)


def restart(dir: str | os.PathLike, *, mode: str = "fast", down: float = 0.0) -> None:
    """Stop the server in `dir` and start it again on the same port, keeping the data.

    For fault tests: every open connection breaks. `mode` is pg_ctl's shutdown mode:
    "fast" (sessions are terminated, a clean shutdown) or "immediate" (like a crash:
    recovery from the WAL at start). `down` seconds pass between stop and start.
    """
    if mode not in ("smart", "fast", "immediate"):
        raise PgServerError(f"unknown shutdown mode {mode!r}")
    path = os.path.abspath(os.fspath(dir))
    try:
        with open(os.path.join(path, MARKER), encoding="utf-8") as fh:
            meta = json.load(fh)
        bindir, port = meta["bindir"], meta["port"]
    except (OSError, ValueError, KeyError) as exc:
        raise PgServerError(f"{path} holds no running pgserver ({exc})") from None
    data, logfile = os.path.join(path, "data"), os.path.join(path, "postgres.log")
    pg_ctl = os.path.join(bindir, "pg_ctl")
    user = _owner_of(data)
    _run(user, [pg_ctl, "-D", data, "-m", mode, "-w", "-t", "60", "stop"], path, timeout=120)
    if down:
        time.sleep(down)
    start_cmd = [pg_ctl, "-D", data, "-l", logfile, "-w", "-t", "120", "-o", f"-p {port}", "start"]
    _run(user, start_cmd, path, timeout=180)


# --------------------------------------------------------------------------- CLI


def _cmd_run(args) -> int:
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        raise PgServerError(
            "run: no command given (usage: run [--dir DIR] [--env NAME] -- CMD ...)"
        )
    path = args.dir or tempfile.mkdtemp(prefix="pgserver-")
    url = start(path, durable=args.durable)
    child = None

    def forward(signum, _frame):
        # Ctrl-C already reaches the child through the terminal's process group; only pass on
        # SIGTERM/SIGHUP (e.g. from a CI runner) and then clean up once the child has exited.
        if signum != signal.SIGINT and child is not None and child.poll() is None:
            child.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        env = dict(os.environ)
        for name in args.env or ["TEST_DATABASE_URL"]:
            env[name] = url
        env["PGSERVER_DIR"] = os.path.abspath(path)
        child = subprocess.Popen(cmd, env=env)
        while True:
            try:
                rc = child.wait()
                return 128 - rc if rc < 0 else rc  # killed by signal N -> 128+N, like a shell
            except KeyboardInterrupt:  # pragma: no cover - handler replaced above
                continue
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        stop(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    p_start = sub.add_parser("start", help="create + start a server; print its SQLAlchemy URL")
    p_start.add_argument("--dir", help="new or empty directory (default: a fresh temp dir)")
    p_start.add_argument("--durable", action="store_true", help="fsync and synchronous commit on")
    p_stop = sub.add_parser("stop", help="stop the server and remove DIR")
    p_stop.add_argument("--dir", required=True)
    p_restart = sub.add_parser("restart", help="stop and start the server in DIR (fault tests)")
    p_restart.add_argument("--dir", required=True)
    p_restart.add_argument("--mode", default="fast", choices=("smart", "fast", "immediate"))
    p_restart.add_argument("--down", type=float, default=0.0, help="seconds between stop and start")
    p_db = sub.add_parser("createdb", help="create an extra database; print its URL")
    p_db.add_argument("--url", required=True)
    p_db.add_argument("--replace", action="store_true")
    p_db.add_argument("name")
    p_run = sub.add_parser("run", help="start, run a command with the URL in the environment, stop")
    p_run.add_argument("--dir", help="new or empty directory (default: a fresh temp dir)")
    p_run.add_argument("--durable", action="store_true", help="fsync and synchronous commit on")
    p_run.add_argument(
        "--env",
        action="append",
        metavar="NAME",
        help="environment variable receiving the URL (repeatable; default TEST_DATABASE_URL)",
    )
    p_run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            print(start(args.dir, durable=args.durable), flush=True)
        elif args.action == "stop":
            stop(args.dir)
        elif args.action == "restart":
            restart(args.dir, mode=args.mode, down=args.down)
        elif args.action == "createdb":
            print(create_database(args.url, args.name, replace=args.replace), flush=True)
        elif args.action == "run":
            return _cmd_run(args)
    except PgServerError as exc:
        _log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
