"""Times are stored as naive UTC and shown in China Standard Time (UTC+8)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


def today() -> date:
    """Today in China: the hall's months (当前月份, 应汇缴年月) turn at Beijing midnight."""
    return datetime.now(CST).date()


def local(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC).astimezone(CST) if value else None


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with the +08:00 offset, for the API."""
    return local(value).isoformat(timespec="seconds") if value else None


def display(value: datetime | None, seconds: bool = False) -> str:
    """2026-11-27 16:30 for pages."""
    return local(value).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") \
        if value else ""


def dates_from(args, *names: tuple[str, str]) -> tuple[dict[str, date | None], dict[str, str]]:
    """Dates typed into a query form, by (name, label): one that does not parse is left
    out and named in the problems, for the page to say so; so is a range (a start and an
    end) that ends before it starts, which nothing can match."""
    dates: dict[str, date | None] = {}
    problems: dict[str, str] = {}
    for name, label in names:
        text = (args.get(name) or "").strip()
        try:
            dates[name] = date.fromisoformat(text) if text else None
        except ValueError:
            dates[name] = None
            problems[name] = f"{label}格式应为 YYYY-MM-DD，已忽略该条件"
    if len(names) == 2:
        (start, start_label), (end, end_label) = names
        if dates[start] and dates[end] and dates[start] > dates[end]:
            problems[end] = f"{end_label}早于{start_label}，没有符合条件的记录，请检查日期"
    return dates, problems


def day_start_utc(day: date) -> datetime:
    """The stored (naive UTC) moment a day in China begins: date filters mean the dates
    people see, which are Beijing dates."""
    return datetime.combine(day, datetime.min.time(), CST).astimezone(UTC).replace(tzinfo=None)


def day_bounds(since: date | None, until: date | None) -> tuple[datetime | None,
                                                                 datetime | None]:
    """The stored UTC times the Beijing dates since…until span: from the start of `since`
    to before the start of the day after `until` (either may be open: None). A bound at
    the calendar's edge (0001-01-01, 9999-12-31, typed for “no limit”) is open."""
    return _bound(since, 0), _bound(until, 1)


def _bound(day: date | None, days_after: int) -> datetime | None:
    try:
        return day_start_utc(day + timedelta(days=days_after)) if day else None
    except OverflowError:
        return None


def on_days(column, since: date | None, until: date | None) -> list:
    """Conditions for a stored UTC time `column` falling on the Beijing dates since…until
    (both included; either may be open)."""
    start, end = day_bounds(since, until)
    conditions = []
    if start:
        conditions.append(column >= start)
    if end:
        conditions.append(column < end)
    return conditions
