"""Requests that only read (home, the task lists, the desk) run without a transaction:
`services.db.reading_only`, which on PostgreSQL saves each of them two round trips."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import request

from services.db import reading_only


def reads_only(view: Callable) -> Callable:
    """Mark a view that changes nothing on GET: it then reads without a transaction, and a
    write it attempts is refused. Put it right under the route, above every other
    decorator (it must come before the request's first statement, the login check)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method in ("GET", "HEAD"):
            reading_only()
        return view(*args, **kwargs)

    return wrapper
