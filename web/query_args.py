"""Reading a page's query string: page numbers and date filters, the same way on every
list. Nothing here fails: a value that cannot be used is replaced and, for dates, said so."""

from __future__ import annotations

from datetime import date

from flask import request

from services.clock import dates_from

#: No list has this many pages; a bigger number (99999999999999999999) reads as the last
#: possible page instead of overflowing the database's integer.
MAX_PAGE = 100_000


def page_number(name: str = "page") -> int:
    text = (request.args.get(name) or "").strip()
    if not text.isascii() or not text.isdigit():
        return 1
    return max(1, min(int(text[:7]), MAX_PAGE))


def date_filters(*names: tuple[str, str]) -> tuple[dict[str, date | None], dict[str, str]]:
    """Dates from the query string by (name, label); see services.clock.dates_from."""
    return dates_from(request.args, *names)
