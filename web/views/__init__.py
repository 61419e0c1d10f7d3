"""HTML pages: the employer hall, the task centre, the business pages and the centre desk."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask import Blueprint, Flask, current_app
from sqlalchemy import select

from services.clock import CST, display
from services.db import COUNT_CAP, LIST_COUNT_CAP, db
from services.models import City
from services.money import fmt, percent

from ..auth import header

bp = Blueprint("views", __name__)


def money_text(value: object) -> str:
    """A stored amount ("1234.5") shown as 1,234.50."""
    try:
        return fmt(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return "" if value is None else str(value)


def percent_text(value: object) -> str:
    try:
        return percent(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return ""


def isotime(value: str | None) -> str:
    """An API timestamp (ISO, +08:00) as 2026-11-27 16:30."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(CST).strftime("%Y-%m-%d %H:%M")


def list_count(value: int | None) -> str:
    """A task list's or 消息's count as shown: “1000+” where it was counted no further."""
    if value is None:
        return ""
    return f"{value}+" if value >= LIST_COUNT_CAP else str(value)


def centre_name() -> str:
    """The centre's name in every page's header: read once per process (no page edits
    it; seeding a city happens before the hall serves)."""
    kept = current_app.extensions.get("hpf.centre_name")
    if kept is None:
        name = db.session.execute(select(City.centre_name).limit(1)).scalar()
        kept = name or "住房公积金管理中心"
        if name:
            current_app.extensions["hpf.centre_name"] = kept
    return kept


def init_app(app: Flask) -> None:
    from . import (  # noqa: F401  (each module adds its pages to the blueprint)
        auth,
        business,
        centre,
        change_query,
        documents,
        finance,
        hall,
        jobs,
        monitor,
        processes,
        queries,
        remittance,
        status_query,
        studio,
        tasks,
        unit_query,
    )
    app.register_blueprint(bp)
    app.jinja_env.filters.update(money=fmt, money_text=money_text, percent=percent_text,
                                 list_count=list_count,
                                 localtime=display, isotime=isotime)
    app.jinja_env.globals.update(header=header, centre_name=centre_name,
                                 count_cap=COUNT_CAP, list_count_cap=LIST_COUNT_CAP)
