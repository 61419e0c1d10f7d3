"""Reading a page's query string: page numbers and date filters, the same way on every
list. Nothing here fails: a value that cannot be used is replaced and, for dates, said so."""

from __future__ import annotations

from datetime import date

from flask import request

#: No list has this many pages; a bigger number (99999999999999999999) reads as the last
#: possible page instead of overflowing the database's integer.
MAX_PAGE = 100_000


def page_number(name: str = "page") -> int:
    text = (request.args.get(name) or "").strip()
    if not text.isascii() or not text.isdigit():
        return 1
    return max(1, min(int(text[:7]), MAX_PAGE))


def date_filters(*names: tuple[str, str]) -> tuple[dict[str, date | None], dict[str, str]]:
    """Dates from the query string by (name, label); a date that does not parse is
    dropped with a message for the page to show."""
    dates: dict[str, date | None] = {}
    problems: dict[str, str] = {}
    for name, label in names:
        text = (request.args.get(name) or "").strip()
        try:
            dates[name] = date.fromisoformat(text) if text else None
        except ValueError:
            dates[name] = None
            problems[name] = f"{label}格式应为 YYYY-MM-DD，已忽略该条件"
    return dates, problems
