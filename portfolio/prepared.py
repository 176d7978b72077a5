"""Prepared statements: PostgreSQL plans a request's statements once per connection.

psycopg prepares a statement on the server once a connection has run it five times
(`prepare_threshold`); from then on PostgreSQL skips parsing and planning it, which for the
statements every page runs (the logged-in user, a pupil's progress) costs more than
running them. But psycopg forgets all of a connection's prepared statements at every
ROLLBACK, in case the transaction created objects they use, and every request that wrote
nothing ends with a ROLLBACK (portfolio/transaction.py: a read sends no COMMIT), so
nothing was ever prepared. PostgreSQL keeps prepared statements through a ROLLBACK (they
are not transactional) and requests create no tables: the connections made here keep
them. psycopg still forgets them when the connection itself runs DROP or ALTER, and
PostgreSQL plans a statement again when another connection changed its tables
(tests/benchmarks/THROUGHPUT.md: what it buys).
"""

from __future__ import annotations

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine


class Connection(psycopg.Connection):
    """A psycopg connection that keeps its prepared statements through a ROLLBACK."""

    def rollback(self) -> None:
        manager = getattr(self, "_prepared", None)
        if manager is None or not callable(getattr(manager, "clear", None)):
            super().rollback()  # another psycopg: its own behaviour (tests notice)
            return
        manager.clear = _keep  # for this ROLLBACK only
        try:
            super().rollback()
        finally:
            del manager.clear


def _keep() -> bool:
    return False


def _connect(dialect, _record, cargs, cparams):
    if dialect.driver != "psycopg" or dialect.is_async:
        return None
    return Connection.connect(*cargs, **cparams)


def install() -> None:
    """Make every new psycopg connection of this process one of ours (idempotent)."""
    if not sa.event.contains(Engine, "do_connect", _connect):
        sa.event.listen(Engine, "do_connect", _connect)


install()  # on import: before any engine opens its first connection
