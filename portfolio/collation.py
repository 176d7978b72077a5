"""Names in the order German readers expect, in Python and in SQL: the one place for it.

DIN 5007-1 ("Öztürk" between "Nowak" and "Petrov", "Şahin" among the S, "ß" as "ss") is
the Unicode Collation Algorithm's order as ICU implements it for German. Both sides use
ICU, so a list sorted in SQL and one sorted in Python agree:

* Python: `sort_key(text)`, `name_key(user)` and `by_name(users)` (PyICU).
* SQL: `collated(column)` and `name_order(User)` for ORDER BY. PostgreSQL has the ICU
  collation built in (`"de-x-icu"`); SQLite gets the same ICU comparison registered as
  the collation `bwp_de` on every new connection (`install`, called by create_app).

Sort by the name columns through these helpers wherever people are listed (class lists,
class overview, caseload, dashboard, account lists, login slips, exports); never with a
bare `ORDER BY last_name` or `sorted(key=str.casefold)`, which put Ö, Ş and Ä after Z.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from typing import TypeVar

import icu
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, coercions, roles
from sqlalchemy.sql.visitors import InternalTraversal

#: The ICU locale of the order (German; its standard order is DIN 5007-1).
LOCALE = "de"
#: PostgreSQL's name of the ICU collation for LOCALE (present when built with ICU).
POSTGRES_COLLATION = "de-x-icu"
#: The collation registered on SQLite connections.
SQLITE_COLLATION = "bwp_de"

_local = threading.local()
T = TypeVar("T")


def _collator() -> icu.Collator:
    """The ICU collator of this thread (collators are not shared between threads)."""
    collator = getattr(_local, "collator", None)
    if collator is None:
        collator = icu.Collator.createInstance(icu.Locale(LOCALE))
        _local.collator = collator
    return collator


def sort_key(text: str | None) -> bytes:
    """The ICU sort key of a text: compare keys to compare texts in German order."""
    return _collator().getSortKey(text or "")


def compare(a: str | None, b: str | None) -> int:
    """-1, 0 or 1: how a and b compare in German order (the SQLite collation)."""
    return _collator().compare(a or "", b or "")


def name_key(person) -> tuple[bytes, bytes, int]:
    """Sort key of a person: last name, first name, then id (stable for equal names)."""
    return (sort_key(person.last_name), sort_key(person.first_name), person.id or 0)


def by_name(people: Iterable[T], key=None) -> list[T]:
    """People (or rows holding a person: `key` picks it) in German name order."""
    if key is None:
        return sorted(people, key=name_key)
    return sorted(people, key=lambda row: name_key(key(row)))


# -- SQL ----------------------------------------------------------------------------------
class collated(ColumnElement):  # noqa: N801  (reads like a function in queries)
    """`column COLLATE <German ICU collation>` for the current database."""

    inherit_cache = True
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement)]

    def __init__(self, element) -> None:
        self.element = coercions.expect(roles.ExpressionElementRole, element)
        self.type = self.element.type


@compiles(collated)
def _collated_sqlite(element, compiler, **kw) -> str:
    return f"{compiler.process(element.element, **kw)} COLLATE {SQLITE_COLLATION}"


@compiles(collated, "postgresql")
def _collated_postgresql(element, compiler, **kw) -> str:
    return f'{compiler.process(element.element, **kw)} COLLATE "{POSTGRES_COLLATION}"'


def name_order(model) -> list:
    """ORDER BY terms for a person model (or alias): last name, first name, id."""
    return [collated(model.last_name), collated(model.first_name), model.id]


def _register(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_collation(SQLITE_COLLATION, compare)


def install() -> None:
    """Register the collation on every new SQLite connection (idempotent)."""
    if not sa.event.contains(Engine, "connect", _register):
        sa.event.listen(Engine, "connect", _register)


install()  # on import: before any engine opens its first connection
