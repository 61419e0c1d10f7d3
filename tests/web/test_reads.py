"""Pages that only read run without a transaction (web/reads.py); a write there is refused."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import bindparam, event, select, update

from services.db import WriteWhileReading, db, reading_only, utcnow
from services.direct_sql import execute_direct
from services.models import Message, Unit

API = "/api/v1"


@pytest.fixture
def postgres(databases):
    if not databases.is_postgres:
        pytest.skip("SQLite's driver opens no transaction for a SELECT anyway")


@contextmanager
def transaction_modes(app):
    """Per SQL statement the app runs through SQLAlchemy inside the block: whether psycopg
    runs it in a transaction (not autocommit)."""
    seen: list[bool] = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(not conn.connection.driver_connection.autocommit)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.mark.parametrize("url", ["/", "/tasks?list=done", f"{API}/tasks?list=initiated",
                                 "/messages"])
def test_a_page_that_only_reads_runs_without_a_transaction_and_the_next_action_has_one(
        app, make_api, postgres, url):
    operator = make_api().login_operator()
    with transaction_modes(app) as reading:
        assert operator.get(url).status_code == 200
    assert reading and not any(reading)
    # The same pooled connection serves the next action in a transaction again.
    with transaction_modes(app) as acting:
        started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
    assert started.status_code == 201, started.json
    assert acting and all(acting)


def test_the_desk_reads_without_a_transaction(app, make_api, postgres):
    reviewer = make_api().login_reviewer()
    with transaction_modes(app) as reading:
        assert reviewer.get("/centre").status_code == 200
    assert reading and not any(reading)


def test_a_write_while_reading_is_refused_and_changes_nothing(app, demo):
    with app.test_request_context("/", method="GET"):
        reading_only()
        unit = db.session.execute(select(Unit).order_by(Unit.id)).scalars().first()
        name = unit.name
        unit.name = "改过的名称"
        with pytest.raises(WriteWhileReading):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(WriteWhileReading):
            db.session.execute(update(Unit).where(Unit.id == unit.id).values(name="改过的名称"))
        with pytest.raises(WriteWhileReading):
            execute_direct(update(Message).values(read_at=bindparam("at")), {"at": utcnow()})
        db.session.remove()
    with app.app_context():
        assert db.session.get(Unit, unit.id).name == name


def test_reading_only_must_come_before_the_first_statement(app):
    with app.test_request_context("/", method="GET"):
        db.session.execute(select(Unit.id)).first()
        with pytest.raises(RuntimeError):
            reading_only()
        db.session.remove()
