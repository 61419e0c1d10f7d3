"""The direct write path: INSERT and UPDATE statements compiled once per dialect and run
on the session's DBAPI cursor (so inside its transaction), skipping SQLAlchemy's
per-call parameter handling, which cost more than the statements themselves for the
engine's hot path and for bulk rows (bench/engine.py, bench/http.py). Values still go
through each column type's bind processor (Money to 分, Rate to 万分之…)."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy.exc import DBAPIError

from .db import db


def insert_rows(model, rows: list[dict]) -> None:
    """INSERT the rows in one executemany. Each row names every column but an
    autoincrement key: this path applies no column defaults."""
    if rows:
        required = _required_columns(model)
        for row in rows:
            if row.keys() != required:
                raise ValueError(f"{model.__tablename__}: columns {sorted(row)} given, "
                                 f"{sorted(required)} expected")
        execute_direct(_insert_statement(model), rows)


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
    return _Compiled(compiled.string, names, compiled.positional, tuple(processors))


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

    def processed(name, processor, value):
        # A value shared by every row (the moment they were written) converts once.
        key = (name, id(value))
        if key not in memo or memo[key][0] is not value:
            memo[key] = (value, processor(value))
        return memo[key][1]

    def convert(values: dict):
        if plan.processors:
            values = dict(values)
            for name, processor in plan.processors:
                value = values[name]
                values[name] = processed(name, processor, value) \
                    if isinstance(value, datetime) else processor(value)
        return tuple(values[name] for name in plan.names) if plan.positional else values

    dbapi_connection = connection.connection.driver_connection
    cursor = dbapi_connection.cursor()
    try:
        if many:
            cursor.executemany(plan.sql, [convert(values) for values in params])
        else:
            cursor.execute(plan.sql, convert(params))
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
