"""The direct write path: INSERT and UPDATE statements compiled once per dialect and run
on the session's DBAPI cursor (so inside its transaction), skipping SQLAlchemy's
per-call parameter handling, which cost more than the statements themselves for the
engine's hot path and for bulk rows (bench/engine.py, bench/http.py). Values still go
through each column type's bind processor (Money to 分, Rate to 万分之…)."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from itertools import repeat
from operator import itemgetter

from sqlalchemy.exc import DBAPIError

from .db import check_may_write, db

#: From this many rows, PostgreSQL takes them by COPY: one stream instead of a statement
#: per row (a 10,000-row approval writes some 60,000 rows).
COPY_FROM = 200


def insert_rows(model, rows: list[dict]) -> None:
    """INSERT the rows (see `insert_tuples`). Each row names every column but an
    autoincrement key: this path applies no column defaults."""
    if rows:
        required = _required_columns(model)
        for row in rows:
            if row.keys() != required:
                raise ValueError(f"{model.__tablename__}: columns {sorted(row)} given, "
                                 f"{sorted(required)} expected")
        names = tuple(sorted(required))
        values = itemgetter(*names)
        insert_tuples(model, {}, names, [values(row) for row in rows])


def insert_tuples(model, fixed: dict, names: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT rows given as tuples of the `names` columns' values, each row also taking
    `fixed` (the values every row shares, converted once): one executemany, or on
    PostgreSQL from COPY_FROM rows one COPY. Between them `fixed` and `names` name every
    column but an autoincrement key. Values go through their column type's bind processor
    (Money to 分, …); a 100,000-row import builds no dict per row."""
    if not rows:
        return
    if fixed.keys() & set(names) or fixed.keys() | set(names) != _required_columns(model):
        raise ValueError(f"{model.__tablename__}: columns {sorted(fixed)} + {names} given, "
                         f"{sorted(_required_columns(model))} expected")
    connection = db.session.connection()
    dialect = connection.dialect
    table = model.__table__
    copy = len(rows) >= COPY_FROM and dialect.name == "postgresql"
    plan = _compiled(_insert_statement(model), dialect, tuple(sorted(_required_columns(model))))
    order = ([c.key for c in table.columns if c is not table.autoincrement_column] if copy
             else list(plan.names))

    def processor(key: str):
        return table.c[key].type.dialect_impl(dialect).bind_processor(dialect)

    memo: dict = {}
    shared = tuple(_bound(processor(key), value, memo) for key, value in fixed.items())
    # Column by column: each converted column is one pass (shared objects, an amount a
    # file's rows repeat, convert once); rows are taken apart and put back together at C
    # speed, with the shared values, in the statement's column order.
    values = list(zip(*rows, strict=True))
    for index, key in enumerate(names):
        if (convert := processor(key)) is not None:
            values[index] = [_bound(convert, value, memo) for value in values[index]]
    slots = {key: index for index, key in enumerate((*names, *fixed))}
    count = len(rows)
    columns = [values[slots[key]] if slots[key] < len(names)
               else repeat(shared[slots[key] - len(names)], count) for key in order]
    params = list(zip(*columns, strict=False))  # `repeat` columns are the rows' length
    if copy:
        _copy_rows(connection, table, order, params)
    elif plan.positional:
        _run(connection, plan, params, many=True)
    else:
        _run(connection, plan, [dict(zip(order, row, strict=True)) for row in params], many=True)


def update_by_key(model, key: str, names: tuple[str, ...], rows: list[tuple],
                  fixed: dict | None = None) -> None:
    """UPDATE many rows, each found by its `key` column and given the `names` columns'
    values (a row is (key value, *values)), every row also taking `fixed`. Values go
    through their column type's bind processor. PostgreSQL takes them as one statement
    over arrays (UPDATE … FROM unnest(…)): a statement per row was 10,000 round trips in
    a 10,000-row approval; SQLite, in process, runs one executemany."""
    if not rows:
        return
    fixed = fixed or {}
    connection = db.session.connection()
    dialect = connection.dialect
    table = model.__table__
    columns = (key, *names)

    def processor(column: str):
        return table.c[column].type.dialect_impl(dialect).bind_processor(dialect)

    memo: dict = {}
    converters = [processor(column) for column in columns]
    values = [[_bound(convert, row[i], memo) for row in rows]
              for i, convert in enumerate(converters)]
    shared = {column: _bound(processor(column), value, memo)
              for column, value in fixed.items()}
    name = {c: dialect.identifier_preparer.quote(table.c[c].name) for c in (*columns, *fixed)}
    target = dialect.identifier_preparer.format_table(table)
    if dialect.name == "postgresql":
        settings = [f"{name[c]} = v.{name[c]}" for c in names] + \
            [f"{name[c]} = %(f_{c})s" for c in fixed]
        arrays = ", ".join(f"%(a_{i})s::{table.c[c].type.compile(dialect)}[]"
                           for i, c in enumerate(columns))
        sql = (f"UPDATE {target} AS t SET {', '.join(settings)} FROM unnest({arrays}) AS v("
               f"{', '.join(name[c] for c in columns)}) WHERE t.{name[key]} = v.{name[key]}")
        params = {**{f"a_{i}": column for i, column in enumerate(values)},
                  **{f"f_{c}": value for c, value in shared.items()}}
        _run(connection, _Compiled(sql, (), False, ()), params)
        return
    settings = [f"{name[c]} = :{c}" for c in (*names, *fixed)]
    sql = f"UPDATE {target} SET {', '.join(settings)} WHERE {name[key]} = :{key}"
    params = [{**dict(zip(columns, row_values, strict=True)), **shared}
              for row_values in zip(*values, strict=True)]
    _run(connection, _Compiled(sql, (), False, ()), params, many=True)


def _copy_rows(connection, table, columns: list[str], rows: list[tuple]) -> None:
    """COPY … FROM STDIN on the session's connection (inside its transaction) of rows
    already converted as an INSERT would send them."""
    check_may_write(db.session)
    dialect = connection.dialect
    quote = dialect.identifier_preparer
    sql = (f"COPY {quote.format_table(table)} "
           f"({', '.join(quote.quote(table.c[key].name) for key in columns)}) FROM STDIN")
    dbapi_connection = connection.connection.driver_connection
    try:
        with dbapi_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except dialect.loaded_dbapi.Error as exc:
        invalidated = dialect.is_disconnect(exc, dbapi_connection, None)
        if invalidated:
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error,
                                  connection_invalidated=invalidated,
                                  dialect=dialect) from exc


def _bound(processor, value, memo: dict):
    if processor is None:
        return value
    if value is None or isinstance(value, datetime | Decimal):
        # One object shared by many rows (a moment, an amount a file's rows repeat, a
        # blank) converts once per column type; the memo holds both, so neither id is
        # reused meanwhile.
        key = (id(processor), id(value))
        found = memo.get(key)
        if found is None or found[0] is not processor or found[1] is not value:
            found = memo[key] = (processor, value, processor(value))
        return found[2]
    return processor(value)


@lru_cache(maxsize=16)
def _required_columns(model) -> frozenset[str]:
    table = model.__table__
    return frozenset(c.key for c in table.columns if c is not table.autoincrement_column)


@lru_cache(maxsize=16)
def _insert_statement(model):
    return model.__table__.insert()


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    positional: bool
    processors: tuple  # (name, bind processor) for the parameters that need converting
    results: tuple = ()  # per result column: its result processor, or None


@lru_cache(maxsize=256)
def _compiled(statement, dialect, keys: tuple[str, ...]) -> _Compiled:
    compiled = statement.compile(dialect=dialect,
                                 column_keys=list(keys) if statement.is_insert else None)
    # Only plain statements whose every value is a named parameter: anything SQLAlchemy
    # would compute per call (defaults, IN lists, literals, escaped names) is refused.
    baked = [name for name, bind in compiled.binds.items()
             if not bind.required or bind.callable is not None]
    if (compiled.insert_prefetch or compiled.update_prefetch or compiled.post_compile_params
            or compiled.literal_execute_params or compiled.escaped_bind_names or baked):
        raise ValueError(f"statement not supported on the direct write path: {compiled}")
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
    processors = []
    for name in names:
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.append((name, processor))
    results = tuple(column[3].dialect_impl(dialect).result_processor(dialect, None)
                    for column in getattr(compiled, "_result_columns", None) or ())
    return _Compiled(compiled.string, names, compiled.positional, tuple(processors), results)


def query_direct(statement, params: dict) -> list[tuple]:
    """Run a prepared SELECT like `execute_direct` runs a write: compiled once per dialect,
    on the session's DBAPI cursor; rows come back as tuples, each value through its
    column type's result processor. For the reads every request makes (who is logged in,
    the locked instance, the task and its application), where building the statement and
    its cache key cost more than running it."""
    connection = db.session.connection()
    plan = _compiled(statement, connection.dialect, tuple(sorted(params)))
    rows = _run(connection, plan, params, fetch=True)
    if not any(plan.results):
        return [tuple(row) for row in rows]
    processors = plan.results
    return [tuple(p(v) if p is not None else v for p, v in zip(processors, row, strict=True))
            for row in rows]


def execute_direct(statement, params: dict | list[dict]) -> int:
    """Run a write on the session's DBAPI connection (so inside its transaction), compiled
    once per dialect; returns the rowcount. The engine's writes take this path because
    SQLAlchemy's per-call parameter handling cost more than the statements themselves
    (bench/engine.py); values still go through each column type's bind processor."""
    connection = db.session.connection()
    many = isinstance(params, list)
    first = params[0] if many else params
    plan = _compiled(statement, connection.dialect, tuple(sorted(first)))

    memo: dict = {}
    if many:
        return _run(connection, plan, [_convert(plan, values, memo) for values in params],
                    many=True)
    return _run(connection, plan, _convert(plan, params, memo))


def _convert(plan: _Compiled, values: dict, memo: dict | None = None):
    """Parameters as the driver takes them. A datetime shared by every row of a bulk
    write (the moment they were written) converts once (`memo`)."""
    if plan.processors:
        values = dict(values)
        for name, processor in plan.processors:
            value = values[name]
            if memo is not None and isinstance(value, datetime):
                key = (name, id(value))
                if key not in memo or memo[key][0] is not value:
                    memo[key] = (value, processor(value))
                values[name] = memo[key][1]
            else:
                values[name] = processor(value)
    return tuple(values[name] for name in plan.names) if plan.positional else values


def _run(connection, plan: _Compiled, params, many: bool = False, fetch: bool = False):
    """Execute on the DBAPI cursor: rows if `fetch`, else the rowcount."""
    if not fetch:
        check_may_write(db.session)
    dbapi_connection = connection.connection.driver_connection
    cursor = dbapi_connection.cursor()
    try:
        if many:
            cursor.executemany(plan.sql, params)
        elif fetch:
            cursor.execute(plan.sql, _convert(plan, params))
            return cursor.fetchall()
        else:
            cursor.execute(plan.sql, params)
        return cursor.rowcount
    except connection.dialect.loaded_dbapi.Error as exc:
        # As Connection.execute would: a lost connection is invalidated (so the rollback
        # that follows works), and the error is SQLAlchemy's, like every other one.
        invalidated = connection.dialect.is_disconnect(exc, dbapi_connection, cursor)
        if invalidated:
            connection.invalidate(exc)
        raise DBAPIError.instance(plan.sql, params, exc, connection.dialect.loaded_dbapi.Error,
                                  connection_invalidated=invalidated,
                                  dialect=connection.dialect) from exc
    finally:
        with suppress(connection.dialect.loaded_dbapi.Error):
            cursor.close()
