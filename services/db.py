"""The database handle and the column types every model shares.

Money is stored as whole 分 (BIGINT) so sums are exact on SQLite and PostgreSQL alike;
rates as 万分之 (integer); year-months as YYYYMM integers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple, TypeVar

import orjson
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Integer,
    MetaData,
    any_,
    bindparam,
    event,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from .months import YearMonth

T = TypeVar("T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


#: Writes held back while a workflow runs (see `deferred_writes`).
_pending: ContextVar[list | None] = ContextVar("hpf_pending_writes", default=None)


def write(statement, params=None) -> None:
    """A domain write (INSERT, UPDATE…): run now, or, inside `deferred_writes`, once the
    workflow's steps are over."""
    defer(db.session.execute, statement, params)


def defer(action, *args) -> None:
    """Call `action(*args)` now, or, inside `deferred_writes`, after the last step."""
    pending = _pending.get()
    if pending is None:
        action(*args)
    else:
        pending.append((action, args))


@contextmanager
def deferred_writes() -> Iterator[None]:
    """Hold back the writes of what runs inside (service-task handlers) until it is done,
    then run them in order. On SQLite the first write takes the database's write lock
    until commit; a diagram's scripts and conditions, which run between handlers, then
    never run while this action holds it. ORM objects added meanwhile wait too
    (no autoflush). Handlers therefore read the database as it was before the action."""
    pending: list = []
    token = _pending.set(pending)
    try:
        with db.session.no_autoflush:
            yield
    finally:
        _pending.reset(token)
    for action, args in pending:
        action(*args)


#: `Session.info` key of a session that only reads (see `reading_only`).
READ_ONLY = "hpf_read_only"


class WriteWhileReading(RuntimeError):
    """A write in a request declared to only read: a bug, refused before it runs (the
    session has no transaction to roll it back)."""


def reading_only() -> None:
    """The rest of this session only reads: its statements run without a transaction
    (autocommit). On PostgreSQL that saves a page the BEGIN and ROLLBACK round trips
    (measured: 1.3 ms of a 6 ms home page); under READ COMMITTED every statement reads its
    own snapshot either way, so what the page shows is the same. SQLite's driver opens no
    transaction for a SELECT in the first place (switching would only add a PRAGMA when the
    connection goes back to the pool). Call before the session's first statement. Writes in
    such a session are refused (`WriteWhileReading`)."""
    session = db.session()
    if session.in_transaction():
        raise RuntimeError("reading_only() must come before the session's first statement")
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[READ_ONLY] = True


def check_may_write(session) -> None:
    if session.info.get(READ_ONLY):
        raise WriteWhileReading("this request only reads; it may not write")


@event.listens_for(Session, "before_flush")
def _no_flush_while_reading(session, flush_context, instances) -> None:
    check_may_write(session)


@event.listens_for(Session, "do_orm_execute")
def _no_write_while_reading(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        check_may_write(state.session)


#: Memory a month-wide sort or hash may use before spilling to disk: a 50,000-person
#: reconciliation sorts about 3 MB, over PostgreSQL's default of 4 MB with its overhead.
SET_WISE_WORK_MEM = "32MB"


@contextmanager
def set_wise() -> Iterator[None]:
    """Statements over a whole month (tens of thousands of rows) planned as what they are.
    The planner has not seen this month's rows yet and guesses a handful, so on
    PostgreSQL it would join them one by one (nested loops) and compile the plan (JIT),
    each costing more than the work (bench/month_end.py); inside, it does neither, and
    sorts and hashes keep to memory (SET_WISE_WORK_MEM). No effect on SQLite."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text("SET LOCAL enable_nestloop = off"))
        db.session.execute(text(f"SET LOCAL work_mem = '{SET_WISE_WORK_MEM}'"))
    try:
        yield
    finally:
        if postgres:
            db.session.execute(text("SET LOCAL jit TO DEFAULT"))
            db.session.execute(text("SET LOCAL enable_nestloop TO DEFAULT"))
            db.session.execute(text("SET LOCAL work_mem TO DEFAULT"))


@contextmanager
def bulk_work() -> Iterator[None]:
    """Around work that builds a row object per row of a large file (an import): the
    cyclic garbage collector is paused, since it would otherwise rescan the growing
    batch every few hundred allocations (a third of a 100,000-row import's Python time;
    reference counting still frees everything as usual). Afterwards the heap freed is
    handed back to the system (glibc keeps it otherwise, so the server would stay at its
    peak); a full collection would cost 100 ms here."""
    with _PAUSE_LOCK:
        global _PAUSED
        _PAUSED += 1
        if _PAUSED == 1:
            _RESUME_GC[0] = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _PAUSE_LOCK:
            _PAUSED -= 1
            if _PAUSED == 0 and _RESUME_GC[0]:
                gc.enable()
        if _LIBC is not None:
            _LIBC.malloc_trim(0)


_PAUSE_LOCK = threading.Lock()
_PAUSED = 0
_RESUME_GC = [True]


def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


#: Lists count their matches up to here and say “10000 条以上” beyond: an exact count
#: of every match would make a page cost what the whole list holds.
COUNT_CAP = 10_000
#: The task lists (待办, 已办, 我发起的, the group queue) and 消息 grow by every application
#: a unit or reviewer ever handled, and their total only sizes the pager: they count to
#: here (“共 1000 条以上”), so a page costs the same after years of work.
LIST_COUNT_CAP = 1_000


def count_capped(query, cap: int = COUNT_CAP) -> int:
    """How many rows `query` matches, counting no further than `cap`: the rows are only
    counted, so the list's order and columns are dropped (no sort, nothing read)."""
    return db.session.execute(capped_count(query, cap)).scalar_one()


def capped_count(query, cap: int = COUNT_CAP):
    """The statement `count_capped` runs (for `prepared` lists that bind their values)."""
    counted = query.order_by(None).with_only_columns(literal_column("1"),
                                                     maintain_column_froms=True)
    return select(func.count()).select_from(counted.limit(cap).subquery())


class PageStatements(NamedTuple):
    """A list's two statements for `prepared`: its count to `cap`, and a page of it."""
    counting: object
    listing: object
    cap: int


def page_statements(query, *order, cap: int = LIST_COUNT_CAP, counted=None) -> PageStatements:
    """`query`'s count to `cap` and a page of it in `order` (LIMIT and OFFSET bound by
    `run_page`). `counted`: the query to count, where `query` adds to each row what its page
    shows (joins that do not change which rows match)."""
    return PageStatements(capped_count(query if counted is None else counted, cap),
                          query.order_by(*order).limit(bindparam("limit"))
                          .offset(bindparam("offset")), cap)


def run_page(statements: PageStatements, params: dict, page: int, per_page: int,
             count: bool = True, whole_rows: bool = False) -> tuple[list, int | None]:
    """One page of `page_statements` with `params` bound: its rows (ORM objects; with
    `whole_rows`, every column of each) and the count (None with count=False). A page that
    is not full ends the list, so its count is known without counting (most lists fit on
    their first page); a full one, or an empty one past the first, is counted."""
    offset = (page - 1) * per_page
    params = {**params, "limit": per_page, "offset": offset}
    result = db.session.execute(statements.listing, params)
    rows = result.all() if whole_rows else result.scalars().all()
    if not count:
        return rows, None
    if (rows or page == 1) and len(rows) < per_page and offset + len(rows) < statements.cap:
        return rows, offset + len(rows)
    return rows, db.session.execute(statements.counting, params).scalar_one()


_PREPARED: dict[tuple, object] = {}


def prepared(shape: tuple, build: Callable[[], T]) -> T:
    """A statement built once per process for its `shape` (which conditions it has, never
    their values: those are bindparams given at execution). Building a statement and its
    cache key on every request cost a list page more than running it (bench/http.py);
    a kept statement keeps its cache key, so SQLAlchemy finds its compiled form at once."""
    statement = _PREPARED.get(shape)
    if statement is None:
        statement = _PREPARED.setdefault(shape, build())
    return statement


#: Up to this many values, `one_of` lists them (IN (?, ?, …)); beyond, one array.
FEW_VALUES = 32


def one_of(column, values: Iterable) -> ColumnElement:
    """`column IN (values)` as one bound parameter however many values there are: a JSON
    array read by json_each on SQLite, an array compared with = ANY on PostgreSQL. A
    100,000-row import's key checks are then one statement each, not 112 lists of 900
    parameters each rendered anew (the same SQL every time, so it is compiled once).
    Values are strings or integers."""
    values = list(values)
    if len(values) <= FEW_VALUES:
        # A single entry's one key: an index probe per value. (Given a JSON array, SQLite
        # read every open key of the business instead: 1.6 ms in a 10,000-row 清册.)
        return column.in_(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(values, ARRAY(column.type)))
    listed = func.json_each(literal(orjson.dumps(values).decode())).table_valued("value")
    return column.in_(select(listed.c.value))


def utcnow() -> datetime:
    """Naive UTC timestamp, stored the same way on both databases."""
    return datetime.now(UTC).replace(tzinfo=None)


class Money(TypeDecorator):
    """Decimal 元 with two places, stored as integer 分."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        cents = (value if isinstance(value, Decimal) else Decimal(value)).scaleb(2)
        if cents != cents.to_integral_value():
            raise ValueError(f"金额超过两位小数：{value}")
        return int(cents)

    def process_result_value(self, value, dialect):
        # scaleb is exact and keeps two places (12345 → 123.45, 100 → 1.00)
        return None if value is None else Decimal(int(value)).scaleb(-2)


class Rate(TypeDecorator):
    """A fraction such as 0.12, stored as 万分之 (1200)."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        scaled = Decimal(value) * 10000
        if scaled != scaled.to_integral_value():
            raise ValueError(f"比例精度超过万分之一：{value}")
        return int(scaled)

    def process_result_value(self, value, dialect):
        return None if value is None else (Decimal(int(value)) / 10000).normalize()


class YearMonthType(TypeDecorator):
    """A `YearMonth`, stored as YYYYMM."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return YearMonth.parse(value).to_int()

    def process_result_value(self, value, dialect):
        return None if value is None else YearMonth.from_int(int(value))
