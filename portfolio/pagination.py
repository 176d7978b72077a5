"""Long lists one page at a time: the page asked for, how many there are, what is on it.

Every list that can grow with the school (pupils, accounts, the audit log) shows a page of
it; the page numbers and the rows come from the database (LIMIT/OFFSET or a slice of the
ids a filter kept), never from rendering everything. Templates draw the links with
`templates/macros/pagination.html`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

#: Rows per page of the staff lists: one screen of a table, a fast page at any length.
PER_PAGE = 50


@dataclass
class Page:
    items: list = field(default_factory=list)
    page: int = 1
    pages: int = 1
    total: int = 0
    per_page: int = PER_PAGE

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first(self) -> int:
        """1-based position of the first row on the page (0 when empty)."""
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_numbers(total: int, page: int, size: int = PER_PAGE) -> tuple[int, int]:
    """(page, pages): the page asked for within 1..pages (pages is at least 1)."""
    pages = max(1, -(-total // size))
    return min(max(1, page), pages), pages


def paginate(items: Sequence, page: int, size: int = PER_PAGE) -> Page:
    """One page of a sequence held in memory (e.g. the ids a filter kept)."""
    page, pages = page_numbers(len(items), page, size)
    start = (page - 1) * size
    return Page(list(items[start : start + size]), page, pages, len(items), size)


def page_arg(value) -> int:
    """`request.args.get("page", type=page_arg)`: a page number, 1 for anything else."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return number if 1 <= number < 2**31 else 1
