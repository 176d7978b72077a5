"""CPU time of a request: this process plus the PostgreSQL server processes it talks to.

Wall-clock latency on a shared machine says as much about the neighbours as about the
page (a load average of 12 on two cores stretches every request several times). The CPU
time a request costs is what the page itself does, and it changes little with the load:
this process's CPU time (Python, and SQLite when the database is a file) plus, for
PostgreSQL on the same machine, the CPU time of the server backends of the engine's
connections (read from /proc). Benchmarks report it beside the latency.
"""

from __future__ import annotations

import os
import time

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> float:
    """utime + stime of a process in seconds (0 when it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


class CpuClock:
    """`with clock: ...` then `clock.last_ms`: CPU milliseconds of the block, this process
    plus the database backends seen so far (PostgreSQL on this machine)."""

    def __init__(self, engine=None) -> None:
        self.backends: set[int] = set()
        self.last_ms = 0.0
        if engine is not None and engine.dialect.name == "postgresql" and os.path.isdir("/proc"):
            from sqlalchemy import event

            event.listen(engine, "connect", self._remember)
            engine.dispose()  # every connection from now on is seen

    def _remember(self, dbapi_connection, _record) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.backends.add(cursor.fetchone()[0])

    def _now(self) -> float:
        return time.process_time() + sum(_proc_cpu(pid) for pid in self.backends)

    def __enter__(self):
        self._start = self._now()
        return self

    def __exit__(self, *exc) -> None:
        self.last_ms = (self._now() - self._start) * 1000
