"""The sets list's query: its filters and page number (checked, so a bad one is a 400, never a
500), and the page links that keep the filters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.exceptions import HTTPException

FILTERS = ("athlete", "date", "exercise", "fault")
#: Sets per page of the list.
PAGE_SIZE = 50
#: The longest filter value accepted (athlete names are cut at 200 characters when stored).
MAX_FILTER_CHARS = 200
_DATE_PREFIX = re.compile(r"[0-9]{4}(-[0-9]{2}){0,2}")
_PAGE = re.compile(r"[1-9][0-9]{0,5}")
#: Page links either side of the current page.
_WINDOW = 3


def list_query(params: Mapping[str, str]) -> tuple[dict[str, str | None], int]:
    """The filters (None when not set) and the page number (from 1) of a sets-list request;
    HTTPException 400 for a filter that is too long, a date that is not ``YYYY[-MM[-DD]]`` or
    a page that is not a number from 1 to 999999."""
    filters: dict[str, str | None] = {}
    for key in FILTERS:
        value = params.get(key) or None
        if value is not None and len(value) > MAX_FILTER_CHARS:
            raise HTTPException(
                400, f"the {key} filter is longer than {MAX_FILTER_CHARS} characters"
            )
        filters[key] = value
    date = filters["date"]
    if date is not None and not _DATE_PREFIX.fullmatch(date):
        raise HTTPException(400, "the date filter must be YYYY, YYYY-MM or YYYY-MM-DD")
    page = params.get("page") or "1"
    if not _PAGE.fullmatch(page):
        raise HTTPException(400, "page must be a whole number from 1 to 999999")
    return filters, int(page)


@dataclass
class Pager:
    """One page of the sets list: which sets it shows and the links to the others."""

    page: int
    pages: int
    total: int
    first: int  # 1-based number of the first set shown (0 when none)
    last: int
    links: list[tuple[str, str | None]] = field(default_factory=list)  # (label, href or None)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE


def pager(total: int, page: int, filters: Mapping[str, str | None]) -> Pager:
    """The :class:`Pager` for ``total`` matching sets; a page past the end shows the last."""
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages)
    first = (page - 1) * PAGE_SIZE + 1 if total else 0
    p = Pager(page, pages, total, first, min(total, page * PAGE_SIZE))
    if pages > 1:
        p.links = _links(page, pages, {k: v for k, v in filters.items() if v})
    return p


def _links(page: int, pages: int, kept: dict) -> list[tuple[str, str | None]]:
    def href(n: int) -> str:
        query = urlencode({**kept, "page": n} if n > 1 else kept)
        return "/?" + query if query else "/"

    links: list[tuple[str, str | None]] = [("‹ previous", href(page - 1) if page > 1 else None)]
    lo, hi = max(1, page - _WINDOW), min(pages, page + _WINDOW)
    if lo > 1:
        links.append(("1", href(1)))
        if lo > 2:
            links.append(("…", None))
    links += [(str(n), None if n == page else href(n)) for n in range(lo, hi + 1)]
    if hi < pages:
        if hi < pages - 1:
            links.append(("…", None))
        links.append((str(pages), href(pages)))
    links.append(("next ›", href(page + 1) if page < pages else None))
    return links
