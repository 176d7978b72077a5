"""What app processes may keep in memory, and how they know it is still true
(portfolio/pagecache.py)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.models.base import Base


class PageGeneration(Base):
    """Rows whose values every transaction that writes anything changes (one row, picked
    at random, gets a new random value) just before its COMMIT, in the same transaction;
    the sum of the values is the write generation. Pages kept in memory are valid for the
    generation they were rendered under only. No row (a fresh database): nothing is kept
    until the first write makes one."""

    __tablename__ = "page_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(sa.BigInteger)
