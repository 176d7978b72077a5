"""Counting SQL statements: list pages issue a fixed number of queries whatever their length."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa

from portfolio.extensions import db


@contextlib.contextmanager
def count_queries():
    """The SQL statements sent to the database inside the block (a list, filled as they go)."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


def queries_of_page(client, url: str, **kwargs) -> int:
    """How many statements a GET of `url` issues; the page must answer 200."""
    with count_queries() as statements:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, url
    return len(statements)
