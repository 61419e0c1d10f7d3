"""One user action, one transaction, on both databases: a write made inside a savepoint
(an idempotency key, a once-only record) is undone with the rest of its action. On SQLite
a savepoint opened before the action's first INSERT used to start a transaction of its own
that its RELEASE committed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, text

from services import payments
from services.db import db
from services.models import LedgerEntry, Payment


def test_a_savepoint_as_the_actions_first_write_is_undone_with_the_action(ctx):
    db.session.execute(text("CREATE TABLE probe (x INTEGER)"))
    db.session.commit()
    db.session.execute(text("SELECT 1"))  # reads first, as an action does
    with db.session.begin_nested():
        db.session.execute(text("INSERT INTO probe VALUES (1)"))
    db.session.execute(text("INSERT INTO probe VALUES (2)"))
    db.session.rollback()  # the action fails after its savepoint was released
    assert db.session.execute(text("SELECT count(*) FROM probe")).scalar_one() == 0


def test_a_payment_recorded_by_an_action_that_then_fails_leaves_no_trace(ctx, demo):
    """缴款 records the payment in a savepoint (its idempotency key), then its 未分配 row:
    if the action fails after that, neither stays (no payment without its ledger row)."""
    def counts() -> tuple[int, int]:
        return (db.session.execute(select(func.count()).select_from(Payment)).scalar_one(),
                db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one())

    before = counts()
    notice = payments.check({"unit_account": demo["units"][0]["unit_account"],
                             "amount": "100.00", "method": "transfer",
                             "reference": "CCB20261207001", "idempotency_key": "rollback-0001"})
    received = payments.receive(notice, "finance:test", "测试", date(2026, 12, 7))
    db.session.flush()
    assert not received.replayed and counts() == (before[0] + 1, before[1] + 1)
    db.session.rollback()
    assert counts() == before
