"""`hpf seed-scale`: a city's worth of data for load tests, in minutes, by set-based SQL.

10,000 units (one operator each, password as in demo.json), 10 depositors each, 10 months
of remittance in the ledger (1,000,000 person rows, plus the units' verification,
payment and allocation rows), and 100,000 finished base adjustments. Those are not
invented: one real base adjustment is run through the engine (start, a 清册 row, submit,
claim, approve) and the rows it wrote (process_instance, human_task, history_event) are
copied with new ids onto the units, spread over the past year, so they look exactly like
what the engine stores today, whatever that becomes.

Rows are built in Python only where each needs its own check digit (account numbers,
ID numbers); everything else is INSERT … SELECT. Runs once: a second run changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import func, select, text
from stdnum.cn import ric, uscc

from engine import manifests, runner
from engine.actors import OPERATOR, STAFF, Actor
from engine.models import HumanTask, ProcessInstance
from services.accounts import hash_password
from services.clock import today
from services.db import db, utcnow
from services.demo import DEMO_PASSWORDS
from services.identifiers import USCC_ALPHABET, person_account_number, unit_account_number
from services.models import City, Operator, PersonAccount, Staff, Unit
from services.months import YearMonth
from services.numbers import reserve

NAME_PREFIX = "规模测试单位"
RATE = 1200  # 12% in 万分之, both sides
BATCH = 5000


def seed_scale(units: int = 10_000, persons_per_unit: int = 10, months: int = 10,
               applications: int = 100_000, echo: Callable[[str], None] = print) -> dict:
    """Create the data unless a previous run did; returns what exists."""
    existing = db.session.execute(select(func.count()).select_from(Unit).where(
        Unit.name.like(f"{NAME_PREFIX}%"))).scalar_one()
    if existing:
        echo(f"已有 {existing} 个规模测试单位，未重复生成")
        return counts()
    city_id = db.session.execute(select(City.id).where(City.code == "DEMO")).scalar_one()
    started = time.monotonic()
    first_unit = _create_units(city_id, units, echo)
    first_account = _create_persons(first_unit, units, persons_per_unit, echo)
    _create_ledger(first_unit, units, first_account, months, echo)
    db.session.commit()
    _clone_applications(first_unit, units, applications, echo)
    db.session.commit()
    _analyze()
    echo(f"完成，用时 {time.monotonic() - started:.0f} 秒")
    return counts()


def counts() -> dict:
    def count(table: str) -> int:
        return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    return {t: count(t) for t in ("unit", "person_account", "ledger_entry", "process_instance",
                                  "human_task", "history_event")}


def _next_id(table: str) -> int:
    return (db.session.execute(text(f"SELECT max(id) FROM {table}")).scalar() or 0) + 1


def _many(sql: str, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(text(sql), rows[start:start + BATCH])


def _fix_sequence(table: str) -> None:
    """Explicit ids leave PostgreSQL's serial behind: move it past them."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT max(id) FROM {table}))"))


def _create_units(city_id: int, units: int, echo) -> int:
    first = _next_id("unit")
    account_first = _next_id("unit_account")
    operator_first = _next_id("operator")
    numbers = reserve("unit_account", units)
    opened = today() - timedelta(days=400)
    first_month = YearMonth.of(opened) + 1
    paid_through = YearMonth.of(today()) - 1
    password = hash_password(DEMO_PASSWORDS["operator"])
    now = utcnow()
    unit_rows, account_rows, operator_rows = [], [], []
    for k in range(units):
        body = "91350100" + _base31(first + k, 9)
        unit_rows.append({"id": first + k, "city_id": city_id, "name": f"{NAME_PREFIX}{k + 1:05d}",
                          "uscc": body + uscc.calc_check_digit(body + "0"), "now": now})
        account_rows.append({"id": account_first + k, "unit_id": first + k,
                             "account_no": unit_account_number(numbers[k]), "opened": opened,
                             "first": first_month.to_int(), "paid": paid_through.to_int()})
        operator_rows.append({"id": operator_first + k, "unit_id": first + k, "hash": password,
                              "now": now})
    _many("INSERT INTO unit (id, city_id, name, uscc, unit_type, address, postcode, legal_rep, "
          "contact_name, contact_phone, bank_name, created_at) VALUES (:id, :city_id, :name, "
          ":uscc, '有限责任公司', '示范市', '350001', '', '', '', '', :now)", unit_rows)
    _many("INSERT INTO unit_account (id, unit_id, account_no, status, unit_rate, person_rate, "
          f"opened_on, first_month, paid_through) VALUES (:id, :unit_id, :account_no, '01', {RATE}, "
          f"{RATE}, :opened, :first, :paid)", account_rows)
    _many("INSERT INTO operator (id, unit_id, login_name, name, mobile, password_hash, "
          "sound_enabled, active, created_at, session_version, failed_logins) VALUES (:id, "
          ":unit_id, 'jbr01', '经办人', '', :hash, false, true, :now, 0, 0)", operator_rows)
    for table in ("unit", "unit_account", "operator"):
        _fix_sequence(table)
    echo(f"单位 {units} 个")
    return first


def _create_persons(first_unit: int, units: int, per_unit: int, echo) -> int:
    total = units * per_unit
    person_first = _next_id("person")
    account_first = _next_id("person_account")
    numbers = reserve("person_account", total)
    opened = today() - timedelta(days=400)
    first_month = (YearMonth.of(opened) + 1).to_int()
    paid_through = (YearMonth.of(today()) - 1).to_int()
    now = utcnow()
    persons, accounts, periods = [], [], []
    for i in range(total):
        birth = date(1970, 1, 1) + timedelta(days=i // 400)
        body = f"350199{birth:%Y%m%d}{i % 400 + 100:03d}"  # area 350199: no demo person's
        base = 500_000 + (i % 200) * 5_000  # 分: 5,000.00 … 14,950.00
        side = (base * RATE + 5_000) // 10_000  # half-up to the 分
        persons.append({"id": person_first + i, "number": body + ric.calc_check_digit(body + "0"),
                        "name": f"职工{i + 1:06d}", "birth": birth, "now": now})
        accounts.append({"id": account_first + i, "no": person_account_number(numbers[i]),
                         "person": person_first + i, "unit": first_unit + i // per_unit,
                         "base": base, "side": side, "opened": opened, "first": first_month,
                         "paid": paid_through, "now": now})
        periods.append({"account": account_first + i, "first": first_month, "base": base,
                        "side": side, "now": now})
    _many("INSERT INTO person (id, id_type, id_number, name, gender, birth_date, mobile, phone, "
          "postcode, education, position, occupation, title, marital_status, address, "
          "created_at) VALUES (:id, '01', :number, :name, '1', :birth, '', '', '', '', '', '', "
          "'', '', '', :now)", persons)
    _many("INSERT INTO person_account (id, account_no, person_id, unit_id, status, base, "
          "person_rate, unit_amount, person_amount, opened_on, first_month, paid_through, "
          f"updated_at) VALUES (:id, :no, :person, :unit, '01', :base, {RATE}, :side, :side, "
          ":opened, :first, :paid, :now)", accounts)
    _many("INSERT INTO base_period (person_account_id, from_month, base, unit_rate, person_rate, "
          f"unit_amount, person_amount, created_at) VALUES (:account, :first, :base, {RATE}, "
          f"{RATE}, :side, :side, :now)", periods)
    for table in ("person", "person_account"):
        _fix_sequence(table)
    echo(f"缴存人 {total} 人")
    return account_first


def _create_ledger(first_unit: int, units: int, first_account: int, months: int, echo) -> None:
    """Per month: each person's 汇缴 row, and each unit's 核定, 缴款 and 分配 rows."""
    db.session.execute(text("CREATE TEMP TABLE scale_month (ym INTEGER, booked DATE, label TEXT)"))
    last = YearMonth.of(today()) - 1
    _many("INSERT INTO scale_month VALUES (:ym, :booked, :label)", [
        {"ym": (last - k).to_int(), "booked": (last - k).first_day() + timedelta(days=14),
         "label": str(last - k)} for k in range(months)])
    now = utcnow()
    person = (
        "INSERT INTO ledger_entry (serial_no, unit_id, person_account_id, account_kind, biz_type, "
        "summary, amount, interest, head_count, month, booked_on, instance_id, created_at) "
        "SELECT 'S' || m.ym || '-' || pa.unit_id, pa.unit_id, pa.id, 'P', 'remit', "
        "m.label || ' 汇缴', pa.unit_amount + pa.person_amount, 0, 1, m.ym, m.booked, NULL, :now "
        "FROM person_account pa CROSS JOIN scale_month m WHERE pa.id >= :first")
    db.session.execute(text(person), {"now": now, "first": first_account})
    totals = ("(SELECT unit_id, sum(unit_amount + person_amount) AS total, count(*) AS n "
              "FROM person_account WHERE unit_id >= :unit GROUP BY unit_id) t CROSS JOIN "
              "scale_month m")
    for kind, biz, summary, sign in (("M", "verify", "汇缴核定", ""), ("U", "payment", "缴款（转账）", ""),
                                     ("U", "remit", "汇缴分配", "-")):
        db.session.execute(text(
            "INSERT INTO ledger_entry (serial_no, unit_id, person_account_id, account_kind, "
            "biz_type, summary, amount, interest, head_count, month, booked_on, instance_id, "
            f"created_at) SELECT 'U' || m.ym || '-' || t.unit_id, t.unit_id, NULL, '{kind}', "
            f"'{biz}', m.label || ' {summary}', {sign}t.total, 0, t.n, m.ym, m.booked, NULL, :now "
            f"FROM {totals}"), {"now": now, "unit": first_unit})
    db.session.execute(text("DROP TABLE scale_month"))
    echo(f"业务流水 {units} 个单位 × {months} 个月")


def _clone_applications(first_unit: int, units: int, count: int, echo) -> None:
    template = _one_real_application(first_unit)
    first = _next_id("process_instance")
    operator_first = db.session.execute(select(Operator.id).where(
        Operator.unit_id == first_unit)).scalar_one()
    db.session.execute(text("CREATE TEMP TABLE scale_n (n INTEGER PRIMARY KEY)"))
    _many("INSERT INTO scale_n VALUES (:n)", [{"n": n} for n in range(count)])
    ago = _minutes_before
    unit_of = f"({first_unit} + s.n % {units})"
    operator_key = f"'operator:' || ({operator_first} + s.n % {units})"
    db.session.execute(text(
        "INSERT INTO process_instance (id, definition_id, process_key, unit_id, status, title, "
        "summary_json, state, revision, active_elements, initiator, initiator_name, created_at, "
        "updated_at, ended_at, next_timer_at, manifest_count, manifest_amount, "
        f"manifest_amount_before) SELECT {first} + s.n, p.definition_id, "
        f"p.process_key, {unit_of}, p.status, p.title, p.summary_json, p.state, p.revision, "
        f"p.active_elements, {operator_key}, '经办人', {ago('p.created_at')}, "
        f"{ago('p.updated_at')}, {ago('p.ended_at')}, NULL, p.manifest_count, p.manifest_amount, "
        "p.manifest_amount_before FROM process_instance p CROSS JOIN "
        "scale_n s WHERE p.id = :t"), {"t": template})
    _fix_sequence("process_instance")
    db.session.execute(text("CREATE TEMP TABLE scale_task (old_id VARCHAR(36), n INTEGER, "
                            "new_id VARCHAR(36))"))
    db.session.execute(text(f"INSERT INTO scale_task SELECT t.id, s.n, {_uuid()} FROM human_task t "
                            "CROSS JOIN scale_n s WHERE t.instance_id = :t"), {"t": template})
    is_operator = "LIKE 'operator:%'"
    db.session.execute(text(
        "INSERT INTO human_task (id, instance_id, process_key, element_id, title, lane, form_key, "
        "unit_id, candidate_group, assignee, assignee_name, state, created_at, completed_at, "
        "completed_by, completed_by_name, decision, opinion, values_json) SELECT m.new_id, "
        f"{first} + s.n, t.process_key, t.element_id, t.title, t.lane, t.form_key, {unit_of}, "
        "t.candidate_group, t.assignee, t.assignee_name, t.state, "
        f"{ago('t.created_at')}, {ago('t.completed_at')}, CASE WHEN t.completed_by {is_operator} "
        f"THEN {operator_key} ELSE t.completed_by END, t.completed_by_name, t.decision, t.opinion, "
        "t.values_json FROM human_task t JOIN scale_task m ON m.old_id = t.id JOIN scale_n s ON s.n = m.n"))
    db.session.execute(text(
        "INSERT INTO history_event (instance_id, type, element_id, "
        "source_element_id, lane, task_id, actor, actor_name, decision, opinion, at) SELECT "
        f"{first} + s.n, h.type, h.element_id, h.source_element_id, h.lane, "
        f"m.new_id, CASE WHEN h.actor {is_operator} THEN {operator_key} ELSE h.actor END, "
        f"h.actor_name, h.decision, h.opinion, {ago('h.at')} FROM history_event h CROSS JOIN "
        "scale_n s LEFT JOIN scale_task m ON m.old_id = h.task_id AND m.n = s.n "
        "WHERE h.instance_id = :t ORDER BY s.n, h.id"), {"t": template})
    db.session.execute(text("DROP TABLE scale_task"))
    db.session.execute(text("DROP TABLE scale_n"))
    echo(f"已办结的业务申请 {count} 笔（复制自引擎实际办结的申请 #{template}）")


def _one_real_application(unit_id: int) -> int:
    """A base adjustment run through the engine as users would: its rows are the model."""
    operator = db.session.execute(select(Operator).where(Operator.unit_id == unit_id)).scalar_one()
    reviewer = db.session.execute(select(Staff).where(Staff.role == "reviewer")
                                  .order_by(Staff.id)).scalars().first()
    employer = Actor(kind=OPERATOR, id=operator.id, name=operator.name, unit_id=unit_id)
    staff = Actor(kind=STAFF, id=reviewer.id, name=reviewer.name,
                  groups=frozenset([reviewer.group]), role=reviewer.role)
    account = db.session.execute(select(PersonAccount).where(PersonAccount.unit_id == unit_id)
                                 .order_by(PersonAccount.id)).scalars().first()
    instance = runner.start("base_adjustment", unit_id, employer)
    manifests.add_row(instance.id, employer, {"person_account": account.account_no,
                                              "new_base": str(account.base + 100)})
    for actor, data in ((employer, {"remark": "规模测试"}), (staff, None),
                        (staff, {"decision": "approve", "opinion": "同意"})):
        task_id = db.session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance.id, HumanTask.state == "ready")).scalar_one()
        if data is None:
            runner.claim(task_id, actor)
        else:
            runner.complete(task_id, actor, data)
    db.session.commit()
    status = db.session.get(ProcessInstance, instance.id).status
    if status != "completed":
        raise RuntimeError(f"the model application ended {status}")
    return instance.id


def _minutes_before(column: str) -> str:
    """`column` moved back 5 minutes per copy (100,000 copies span about a year)."""
    if db.engine.dialect.name == "postgresql":
        return f"{column} - s.n * interval '5 minutes'"
    return f"datetime({column}, '-' || (s.n * 5) || ' minutes')"


def _uuid() -> str:
    if db.engine.dialect.name == "postgresql":
        return "gen_random_uuid()::text"
    return ("lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "
            "substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || "
            "hex(randomblob(6)))")


def _analyze() -> None:
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def _base31(value: int, width: int) -> str:
    digits = []
    for _ in range(width):
        value, rest = divmod(value, 31)
        digits.append(USCC_ALPHABET[rest])
    return "".join(reversed(digits))
