"""Checks of many keys at once (`services.db.one_of`): a 100,000-row import asks which of
its keys exist in one statement, past both databases' bound-parameter limits (SQLite
32,766, PostgreSQL 65,535), and gets exactly the keys that exist."""

from __future__ import annotations

from sqlalchemy import event, select

from services import persons, registration
from services.db import db
from services.identifiers import with_check_digit
from services.models import Person, PersonAccount


def test_seventy_thousand_keys_are_one_statement_and_find_exactly_the_known(ctx):
    known = db.session.execute(select(PersonAccount.account_no).limit(50)).scalars().all()
    id_numbers = db.session.execute(select(Person.id_number).limit(50)).scalars().all()
    assert len(known) == 50 and len(id_numbers) == 50
    unknown = [with_check_digit(f"9{n:010d}") for n in range(70_000)]
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        found = persons.refs_by_account(None, unknown + known)
        holders = registration.holders([f"X{n}" for n in range(70_000)] + id_numbers)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert sorted(found) == sorted(known)
    assert all(ref.account_no == number for number, ref in found.items())
    assert set(holders) <= set(id_numbers) and holders  # the demo's people hold accounts
    assert len(seen) == 2, seen
