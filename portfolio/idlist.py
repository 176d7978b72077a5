"""`column IN (many ids)` with one parameter, for lists of hundreds of pupils.

SQLAlchemy sends `IN (...)` with one bound parameter per id: for a school of 1,500 pupils
that is 1,500 parameters to render, send and plan, some 15 ms for each such statement on
PostgreSQL. PostgreSQL takes the whole list as one array parameter (`= ANY(:ids)`), which
also keeps the statement text the same for any number of ids. SQLite keeps the IN list.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
import sqlalchemy as sa
from psycopg import adapters, postgres
from psycopg.adapt import Dumper
from sqlalchemy.engine import Engine

from portfolio.extensions import db


def dialect() -> str:
    """The name of the database dialect of the current session ("postgresql", "sqlite")."""
    return db.session.get_bind().dialect.name


class _Ids(list):
    """Ids on their way to PostgreSQL (`IdArray`)."""


class _IdsDumper(Dumper):
    """An int4[] parameter written in one step. psycopg's own list dumper inspects every
    element of a list (some 1.5 ms for 1,500 ids, for each list of a statement)."""

    oid = postgres.types["int4"].array_oid

    def dump(self, obj) -> bytes:
        return ("{" + ",".join(map(str, obj)) + "}").encode()


adapters.register_dumper(_Ids, _IdsDumper)


@sa.event.listens_for(Engine, "connect")
def _use_ids_dumper(dbapi_connection, _record) -> None:
    """On each new psycopg connection as well. SQLAlchemy's dialect connects with a map of
    its own, which copies psycopg's dumpers when the engine is made (it sets its JSON
    dumpers there), and `create_app` makes the engine before this module is imported: the
    global registration above alone left every list of ids to psycopg's list dumper
    (tests/test_idlist.py)."""
    if isinstance(dbapi_connection, psycopg.Connection):
        dbapi_connection.adapters.register_dumper(_Ids, _IdsDumper)


class IdArray(sa.types.TypeDecorator):
    """PostgreSQL: a list of ids as one int4[] parameter (`_IdsDumper`). It arrives as an
    array constant, so the planner can hash it for a filter over many rows."""

    impl = sa.types.NullType
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else _Ids(int(v) for v in value)


def ids_param(name: str) -> sa.BindParameter:
    """A parameter for a list of ids in a statement built once and run many times; use it
    with `match(column, param)` and pass the ids as a list when executing."""
    if dialect() == "postgresql":
        return sa.bindparam(name, type_=IdArray())
    return sa.bindparam(name, expanding=True)


def match(column, ids: Iterable[int] | sa.BindParameter | sa.Select) -> sa.ColumnElement[bool]:
    """`column` is one of `ids` (a list of ids, a parameter from `ids_param`, or a
    one-column SELECT: `match_select`)."""
    if isinstance(ids, sa.Select):
        return match_select(column, ids)
    if isinstance(ids, sa.BindParameter):
        if ids.expanding:
            return column.in_(ids)
        return column == sa.any_(ids)
    ids = list(ids)
    if dialect() == "postgresql":
        return column == sa.any_(sa.literal(ids, type_=IdArray()))
    return column.in_(ids)


def match_select(column, ids: sa.Select) -> sa.ColumnElement[bool]:
    """`column` is one of the ids a one-column SELECT gives (the pupils of a class).

    PostgreSQL gets `column = ANY(ARRAY(SELECT ...))`: one index lookup per id. Written as
    a join or `IN (SELECT ...)`, the planner hashes the whole other table instead (every
    account of the district for a class of 1,500: twice the time). SQLite keeps IN."""
    ids = ids.correlate(None)  # (also over the table of `column`: a list of its own)
    if dialect() == "postgresql":
        return column == sa.any_(sa.func.array(ids.scalar_subquery()))
    return column.in_(ids)
