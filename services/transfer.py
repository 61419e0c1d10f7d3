"""缴存人单位调整 (manual ch.12): a person's sealed account in one unit moves to the unit
that asks for it, after centre approval, with its balance.

Rules (DOMAIN.md), written once for the 清册's row check, the check on 【提交审批】 and
the approval: the transferring-out unit exists and is not the receiving one; the account
is in that unit and 封存 there; the person holds no active account elsewhere. A person is
in at most one open transfer: the 清册's unique index on open row keys says so.

The receiving unit learns only what it needs of the other unit: its name, and of its
sealed persons the 个人账号, name and masked ID number (`sealed_persons`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import func, or_, select, update

from . import changes, ledger, messages, remittance
from .changes import Who
from .clock import today
from .contribution import split_amounts
from .db import db, one_of
from .errors import BusinessRuleViolation
from .identifiers import mask_id_number
from .models import (
    AccountEvent,
    BasePeriod,
    Payable,
    PayableLine,
    Person,
    PersonAccount,
    Unit,
    UnitAccount,
)
from .models.account_event import TRANSFER_IN, TRANSFER_OUT
from .models.money import REMIT, UNPAID
from .models.person import ACTIVE, SEALED
from .money import ZERO, fmt
from .persons import PersonRef, text_match

BUSINESS_NAME = "缴存人单位调整"


class UnitRef(NamedTuple):
    id: int
    account_no: str
    name: str


def find_unit(account_no: str) -> UnitRef | None:
    row = db.session.execute(select(Unit.id, UnitAccount.account_no, Unit.name)
                             .join(UnitAccount, UnitAccount.unit_id == Unit.id)
                             .where(UnitAccount.account_no == account_no)).first()
    return UnitRef(*row) if row else None


def search_units(q: str, limit: int = 10) -> list[UnitRef]:
    """Units by exact 单位账号 or by a fragment of the name: a few, never the city's list."""
    q = (q or "").strip()
    if len(q) < 2:
        return []
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = db.session.execute(
        select(Unit.id, UnitAccount.account_no, Unit.name)
        .join(UnitAccount, UnitAccount.unit_id == Unit.id)
        .where((UnitAccount.account_no == q) | Unit.name.like(f"%{escaped}%", escape="\\"))
        .order_by(UnitAccount.account_no).limit(limit)).all()
    return [UnitRef(*r) for r in rows]


def sealed_persons(unit_id: int, q: str = "", limit: int = 10) -> list[dict]:
    """The picker's list: the unit's sealed persons, with only account, name, masked ID.
    Another unit's people are found by 个人账号 or 姓名 containing `q`, or by their whole
    证件号码: never by part of it, which would let the masked digits be guessed."""
    query = (select(PersonAccount.account_no, Person.name, Person.id_number)
             .join(Person, Person.id == PersonAccount.person_id)
             .where(PersonAccount.unit_id == unit_id, PersonAccount.status == SEALED))
    q = (q or "").strip()
    if q:
        query = query.where(or_(text_match(q, (PersonAccount.account_no, Person.name)),
                                func.upper(Person.id_number) == q.upper()))
    rows = db.session.execute(query.order_by(PersonAccount.account_no).limit(limit)).all()
    return [{"person_account": number, "name": name, "id_number_masked": mask_id_number(idn),
             "id_number": mask_id_number(idn)} for number, name, idn in rows]


def active_elsewhere(person_ids: list[int]) -> dict[int, str]:
    """Person → the 个人账号 of an active account they hold (one active account each)."""
    if not person_ids:
        return {}
    return dict(db.session.execute(select(PersonAccount.person_id, PersonAccount.account_no)
                                   .where(PersonAccount.person_id.in_(sorted(set(person_ids))),
                                          PersonAccount.status == ACTIVE)).all())


def unit_problem(from_unit: UnitRef | None, to_unit_id: int) -> str | None:
    if from_unit is None:
        return "没有该单位账号，请核对转出单位账号"
    if from_unit.id == to_unit_id:
        return "转出单位与转入单位不能相同"
    return None


def owed_in_unit(account_ids: list[int]) -> dict[int, str]:
    """Account → the unpaid 应缴 of the unit holding it that lists it (a verified month or
    a back pay, named): paid later, its money would be booked to that unit after the
    person had left it, and the month would be owed in both units."""
    if not account_ids:
        return {}
    rows = db.session.execute(
        select(PayableLine.person_account_id, Payable.kind, Payable.month)
        .join(Payable, Payable.id == PayableLine.payable_id)
        .join(PersonAccount, PersonAccount.id == PayableLine.person_account_id)
        .where(one_of(PayableLine.person_account_id, sorted(set(account_ids))),
               Payable.status == UNPAID, Payable.active.is_(True),
               Payable.unit_id == PersonAccount.unit_id)
        .order_by(Payable.month)).all()
    return {account: f"{month} 的{'汇缴核定' if kind == REMIT else '补缴'}"
            for account, kind, month in rows}


def person_problem(account: PersonRef | None, from_unit: UnitRef, active: dict[int, str],
                   owed: dict[int, str]) -> str | None:
    """Why the receiving unit cannot take this account. Another unit's person: whether
    they are there, and sealed, is all it learns (not their status otherwise)."""
    if account is None or account.unit_id != from_unit.id or account.status != SEALED:
        return "转出单位没有该个人账号的封存职工"
    if account.id in owed:
        return (f"转出单位 {owed[account.id]} 尚未缴款分配（含该职工），请待其缴款分配后再办理调整，"
                "以免同一月份在两个单位重复缴存")
    if account.person_id in active:
        return f"该职工已有状态正常的个人账户（{active[account.person_id]}），不能再转入"
    return None


@dataclass(frozen=True)
class Move:
    person_account_id: int
    from_unit_id: int


def approve(to_unit_id: int, moves: list[Move], who: Who) -> dict:
    """审批通过, in one transaction: each account moves to the receiving unit, 正常 there
    at its rates from its next month; its balance in the old unit leaves it as a ledger
    row there and arrives as one here (under one 业务流水号, with a memo row per unit
    that 业务流水 lists); account events 转出 / 转入; each transferring-out unit is told."""
    to_account = db.session.execute(select(UnitAccount).where(
        UnitAccount.unit_id == to_unit_id)).scalar_one()
    policy = db.session.get(Unit, to_unit_id).policy
    in_month = remittance.next_month(to_unit_id)
    day = today()
    serial = ledger.new_serial_no(day)
    rows, records, per_unit = [], [], {}
    for move in moves:
        account = db.session.get(PersonAccount, move.person_account_id)
        person = db.session.get(Person, account.person_id)
        if account.unit_id != move.from_unit_id or account.status != SEALED:
            raise BusinessRuleViolation(
                f"{person.name}（{account.account_no}）已不是转出单位的封存职工，不能调整，请退回修改")
        balance = ledger.balance_in_unit(account.id, move.from_unit_id)
        unit_amount, person_amount, _ = split_amounts(account.base, to_account.unit_rate,
                                                      to_account.person_rate, policy)
        moved = db.session.execute(
            update(PersonAccount).where(PersonAccount.id == account.id,
                                        PersonAccount.unit_id == move.from_unit_id,
                                        PersonAccount.status == SEALED)
            .values(unit_id=to_unit_id, status=ACTIVE, person_rate=to_account.person_rate,
                    unit_amount=unit_amount, person_amount=person_amount)
            .execution_options(synchronize_session=False)).rowcount
        if not moved:
            raise BusinessRuleViolation("刚刚有其他业务改变了该职工的账户，请刷新后重试")
        records += changes.change_rows(
            unit_id=to_unit_id, subject="person", person_account_id=account.id, who=who,
            changes=[("status", "个人账户状态", "封存", "正常"),
                     ("person_rate", "个人缴存比例", account.person_rate, to_account.person_rate),
                     ("unit_amount", "单位月缴存额", account.unit_amount, unit_amount),
                     ("person_amount", "个人月缴存额", account.person_amount, person_amount)])
        db.session.add(BasePeriod(person_account_id=account.id, from_month=in_month,
                                  base=account.base, unit_rate=to_account.unit_rate,
                                  person_rate=to_account.person_rate, unit_amount=unit_amount,
                                  person_amount=person_amount, instance_id=who.instance_id))
        out_month = remittance.next_month(move.from_unit_id)
        for unit_id, change, from_status, to_status, month in (
                (move.from_unit_id, TRANSFER_OUT, SEALED, SEALED, out_month),
                (to_unit_id, TRANSFER_IN, SEALED, ACTIVE, in_month)):
            db.session.add(AccountEvent(
                unit_id=unit_id, person_account_id=account.id, change=change,
                from_status=from_status, to_status=to_status, month=month, actor=who.actor,
                actor_name=who.actor_name, instance_id=who.instance_id))
        for unit_id, sign, text in ((move.from_unit_id, -1, "转出"), (to_unit_id, 1, "转入")):
            rows.append(ledger.entry(
                serial_no=serial, unit_id=unit_id, kind=ledger.PERSON, biz_type="transfer",
                summary=f"单位调整{text}：{person.name}", amount=sign * balance, booked_on=day,
                person_account_id=account.id, instance_id=who.instance_id))
            count, total = per_unit.get(unit_id, (0, ZERO))
            per_unit[unit_id] = (count + 1, total + sign * balance)
        messages.push(move.from_unit_id, BUSINESS_NAME,
                      f"您单位封存职工 {person.name}（个人账号 {account.account_no}）已调整至其他单位，"
                      f"账户余额 {fmt(balance)} 元随之转出。", instance_id=None)
        db.session.expire(account)  # moved by the UPDATE above, not through this object
    for unit_id, (count, total) in per_unit.items():
        rows.append(ledger.entry(
            serial_no=serial, unit_id=unit_id, kind=ledger.MEMO, biz_type="transfer",
            summary=f"缴存人单位调整{'转入' if unit_id == to_unit_id else '转出'} {count} 人",
            amount=total, booked_on=day, head_count=count, instance_id=who.instance_id))
    ledger.post(rows)
    changes.record(records)
    return {"persons": len(moves), "amount": fmt(per_unit.get(to_unit_id, (0, ZERO))[1]),
            "serial_no": serial}
