"""Month-end benchmark: a 50,000-person unit on PostgreSQL. Prints seconds for 汇缴核定
(verification: every person's line of the month written, the reconciliation with the
month before computed and stored) and for 分配 (allocation: the month's lines booked as
every person's ledger row, 缴至年月 moved for all of them, 未分配 and the balances
moved), beside the floor: one
plain INSERT … SELECT of the same persons into a table shaped like the month's lines.

Between months the unit changes as units do (registrations, seals, base adjustments), so
the reconciliation has work. Each figure is the median of `--months` months; each step
is its own transaction, committed inside the timing. The verification is also timed
through the engine once (start the application and complete its task, as the page does).

Usage: .venv/bin/python bench/month_end.py [--persons 50000] [--months 3]
A throw-away PostgreSQL database on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
# This folder holds bench/http.py: it must not stand in for the standard library's http.
sys.path[0] = str(ROOT)  # not bench/: its http.py would shadow the standard library

from engine import runner  # noqa: E402
from engine.actors import OPERATOR, Actor  # noqa: E402
from engine.deploy import deploy_directory  # noqa: E402
from engine.models import READY, HumanTask  # noqa: E402
from services import allocation, clock, payments, remittance  # noqa: E402
from services.changes import Who  # noqa: E402
from services.db import db  # noqa: E402
from services.demo import seed_demo  # noqa: E402
from services.models import Operator, UnitAccount  # noqa: E402
from services.months import YearMonth  # noqa: E402
from tests.run_suites import POSTGRES as PG_ADMIN  # noqa: E402
from tests.run_suites import postgres_answers  # noqa: E402
from web import create_app  # noqa: E402
from web.migrate import upgrade  # noqa: E402

SQL = sa.text


def build_unit(persons: int, first: YearMonth) -> int:
    """A unit of `persons` accounts in 正常 from `first`, each with a base period; written
    set-wise (this is the bench's set-up, not what it measures)."""
    city = db.session.execute(SQL("SELECT id FROM city LIMIT 1")).scalar()
    unit_id = db.session.execute(SQL(
        "INSERT INTO unit (city_id, name, uscc, unit_type, address, postcode, legal_rep, "
        "contact_name, contact_phone, bank_name, created_at) VALUES (:c, '压测单位', "
        "'91350100BENCH0001X', '', '', '', '', '', '', '', now()) RETURNING id"), {"c": city}).scalar()
    db.session.execute(SQL(
        "INSERT INTO unit_account (unit_id, account_no, status, unit_rate, person_rate, opened_on, "
        "first_month, paid_through) VALUES (:u, '9999999999', '02', 1200, 1200, :d, :m, NULL)"),
        {"u": unit_id, "d": first.first_day(), "m": first.to_int()})
    db.session.execute(SQL(
        "INSERT INTO operator (unit_id, login_name, name, mobile, password_hash, sound_enabled, "
        "active, created_at, session_version, failed_logins) VALUES (:u, 'bench', '压测经办人', '', "
        "'-', true, true, now(), 0, 0)"), {"u": unit_id})
    add_persons(unit_id, persons, first, "B")
    return unit_id


def add_persons(unit_id: int, count: int, month: YearMonth, tag: str) -> None:
    """`count` new accounts in 正常 from `month` with base periods and 开户 events."""
    params = {"u": unit_id, "n": count, "m": month.to_int(), "d": month.first_day(), "t": tag}
    db.session.execute(SQL(
        "INSERT INTO person (id_type, id_number, name, gender, mobile, phone, postcode, education, "
        "position, occupation, title, marital_status, address, created_at) "
        "SELECT '01', :t || :u || '-' || g, '职工' || g, '1', '', '', '', '', '', '', '', '', '', now() "
        "FROM generate_series(1, :n) g"), params)
    db.session.execute(SQL(
        "INSERT INTO person_account (account_no, person_id, unit_id, status, base, person_rate, "
        "unit_amount, person_amount, opened_on, first_month, paid_through, updated_at) "
        "SELECT substr(md5(p.id_number), 1, 12), p.id, :u, '01', b.base, 1200, "
        "b.base * 12 / 100, b.base * 12 / 100, :d, :m, NULL, now() FROM person p "
        "CROSS JOIN LATERAL (SELECT (254000 + (p.id * 7919) % 3000000)::bigint AS base) b "
        "WHERE p.id_number LIKE :t || :u || '-%'"), params)
    db.session.execute(SQL(
        "INSERT INTO base_period (person_account_id, from_month, base, unit_rate, person_rate, "
        "unit_amount, person_amount, instance_id, created_at) SELECT a.id, :m, a.base, 1200, 1200, "
        "a.unit_amount, a.person_amount, NULL, now() FROM person_account a JOIN person p "
        "ON p.id = a.person_id WHERE p.id_number LIKE :t || :u || '-%'"), params)
    db.session.execute(SQL(
        "INSERT INTO account_event (unit_id, person_account_id, change, reason, from_status, "
        "to_status, month, at, actor, actor_name, instance_id) SELECT :u, a.id, 'open', NULL, NULL, "
        "'01', :m, now(), 'bench', '压测', NULL FROM person_account a JOIN person p "
        "ON p.id = a.person_id WHERE p.id_number LIKE :t || :u || '-%'"), params)


def change_unit(unit_id: int, month: YearMonth) -> None:
    """Between months: 500 registrations, 300 seals, 1,000 base adjustments from `month`."""
    add_persons(unit_id, 500, month, f"R{month.to_int()}")
    params = {"u": unit_id, "m": month.to_int()}
    sealed = db.session.execute(SQL(
        "UPDATE person_account SET status = '02' WHERE id IN (SELECT id FROM person_account "
        "WHERE unit_id = :u AND status = '01' ORDER BY random() LIMIT 300) RETURNING id"),
        params).scalars().all()
    db.session.execute(SQL(
        "INSERT INTO account_event (unit_id, person_account_id, change, reason, from_status, "
        "to_status, month, at, actor, actor_name, instance_id) SELECT :u, id, 'seal', '01', '01', "
        "'02', :m, now(), 'bench', '压测', NULL FROM unnest(CAST(:ids AS integer[])) id"),
        {**params, "ids": sealed})
    db.session.execute(SQL(
        "INSERT INTO base_period (person_account_id, from_month, base, unit_rate, person_rate, "
        "unit_amount, person_amount, instance_id, created_at) SELECT id, :m, base + 10000, 1200, "
        "1200, (base + 10000) * 12 / 100, (base + 10000) * 12 / 100, NULL, now() FROM "
        "person_account WHERE unit_id = :u AND status = '01' ORDER BY id LIMIT 1000"), params)


def timed(action) -> float:
    started = time.perf_counter()
    action()
    db.session.commit()
    return time.perf_counter() - started


def floor(unit_id: int, month: YearMonth) -> float:
    """One plain INSERT … SELECT of the same persons into a table shaped like the lines
    (its indexes too, no foreign keys), which grows month by month as they do."""
    db.session.execute(SQL("CREATE TABLE IF NOT EXISTS bench_floor "
                           "(LIKE payable_line INCLUDING DEFAULTS INCLUDING INDEXES)"))
    db.session.commit()
    return timed(lambda: db.session.execute(SQL(
        "INSERT INTO bench_floor (payable_id, person_account_id, month, base, unit_amount, "
        "person_amount, amount) SELECT 0, id, :m, base, unit_amount, person_amount, "
        "unit_amount + person_amount FROM person_account WHERE unit_id = :u AND status = '01'"),
        {"u": unit_id, "m": month.to_int()}))


def one_month(unit_id: int, month: YearMonth, who: Who) -> dict:
    day = month.first_day().replace(day=10)
    clock.today = lambda: day
    db.session.execute(SQL("ANALYZE"))
    db.session.commit()
    verify = timed(lambda: remittance.verify(unit_id, month, who, day))
    payable = remittance.month_payable(unit_id, month)
    notice = payments.Notice(unit_id, "9999999999", payable.amount, "transfer", "BENCH",
                             f"bench-{month}")
    payments.receive(notice, "bench", "压测", day)
    db.session.commit()
    allocate = timed(lambda: allocation.allocate(payable.id, who, day, "transfer"))
    return {"month": month, "persons": payable.head_count, "verify": verify,
            "allocate": allocate, "floor": floor(unit_id, month)}


def through_engine(unit_id: int, month: YearMonth) -> float:
    """汇缴核定 as the page does it: start the application, complete its task, commit."""
    operator = db.session.execute(sa.select(Operator).where(Operator.unit_id == unit_id)).scalar_one()
    actor = Actor(kind=OPERATOR, id=operator.id, name=operator.name, unit_id=unit_id)
    day = month.first_day().replace(day=10)
    clock.today = lambda: day

    def verify():
        instance = runner.start("remittance", unit_id, actor)
        task_id = db.session.execute(sa.select(HumanTask.id).where(
            HumanTask.instance_id == instance.id, HumanTask.state == READY)).scalar_one()
        runner.complete(task_id, actor, {"month": str(month)})

    return timed(verify)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=3)
    args = parser.parse_args()
    if not postgres_answers():
        print("PostgreSQL 未在 127.0.0.1:5432 应答：本压测只在 PostgreSQL 上运行")
        return 1
    name = f"hpf_bench_month_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(SQL(f'CREATE DATABASE "{name}"'))
    try:
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        upgrade(url)
        with tempfile.TemporaryDirectory() as work:
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": work,
                              "SECRET_KEY": "bench", "DEPLOY_ON_START": False})
            with app.app_context():
                run(args)
                db.session.remove()
                db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(SQL(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


def run(args) -> None:
    seed_demo(Path(tempfile.gettempdir()), today=date(2026, 1, 10))
    deploy_directory(ROOT / "bpmn-diagrams", "bench")
    first = YearMonth(2027, 1)
    started = time.perf_counter()
    unit_id = build_unit(args.persons, first)
    db.session.commit()
    print(f"压测单位：{args.persons:,} 人，准备用时 {time.perf_counter() - started:.1f} 秒")
    who = Who("bench", "压测经办人", "汇缴")
    results = [one_month(unit_id, first, who)]  # the first month: nothing before it
    month = first
    for _ in range(args.months):
        month = month + 1
        change_unit(unit_id, month)
        db.session.commit()
        results.append(one_month(unit_id, month, who))
    print(f"\n{'month':<9}{'persons':>9}{'verify':>9}{'allocate':>10}{'both':>8}{'floor':>8}"
          f"{'both/floor':>12}")
    for r in results:
        both = r["verify"] + r["allocate"]
        print(f"{r['month']!s:<9}{r['persons']:>9,}{r['verify']:>8.3f}s{r['allocate']:>9.3f}s"
              f"{both:>7.3f}s{r['floor']:>7.3f}s{both / r['floor']:>12.2f}")
    later = results[1:]
    verify = statistics.median(r["verify"] for r in later)
    allocate = statistics.median(r["allocate"] for r in later)
    floor_s = statistics.median(r["floor"] for r in later)
    print(f"\nmedian of the months after the first: verify {verify:.3f} s, allocate {allocate:.3f} s,"
          f" together {verify + allocate:.3f} s; floor {floor_s:.3f} s; "
          f"verify {verify / floor_s:.2f}×, allocate {allocate / floor_s:.2f}×, "
          f"together {(verify + allocate) / floor_s:.2f}× the floor")
    month = month + 1
    change_unit(unit_id, month)
    db.session.commit()
    db.session.execute(SQL("ANALYZE"))
    db.session.commit()
    engine_seconds = through_engine(unit_id, month)
    account = db.session.execute(sa.select(UnitAccount).where(UnitAccount.unit_id == unit_id)).scalar_one()
    print(f"汇缴核定 through the engine (start + complete + commit), {month}: {engine_seconds:.3f} s"
          f" (unit paid through {account.paid_through})")


if __name__ == "__main__":
    sys.exit(main())
