"""缴存人登记 (manual ch.9): who may be registered, and opening their accounts.

A person (证件类型 + 证件号码) holds at most one account that is not closed (销户) in the
city. The row checks ask `holders` and refuse a person who has one; the database refuses
it too (the partial unique index `ux_person_account_one_open`), so two registrations
racing for one person cannot both open an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import numbers
from .changes import Who
from .db import db, one_of, utcnow
from .direct_sql import insert_rows
from .errors import Conflict
from .identifiers import (
    ID_TYPES,
    is_valid_id_number,
    is_valid_mobile,
    is_valid_resident_id,
    resident_id_birth_date,
)
from .models import AccountEvent, BasePeriod, Person, PersonAccount
from .models.person import ACTIVE, CLOSED_STATUSES, PERSON_STATUSES
from .months import YearMonth

RESIDENT_ID = "01"
GENDERS = {"1": "男", "2": "女"}
NAME_LIMIT = 40
RACE = "刚刚有其他业务为同一缴存人开户，本次未开户任何账户，请刷新后重试"


class Holder(NamedTuple):
    """A person's account that is not closed, as the row checks read it."""

    id_type: str
    id_number: str
    account_no: str
    unit_id: int
    status: str


def holders(id_numbers: list[str]) -> dict[str, list[Holder]]:
    """Accounts not closed of the persons with these 证件号码 (any 证件类型, any unit)."""
    found: dict[str, list[Holder]] = {}
    rows = db.session.connection().execute(
        select(Person.id_type, Person.id_number, PersonAccount.account_no,
               PersonAccount.unit_id, PersonAccount.status)
        .join(PersonAccount, PersonAccount.person_id == Person.id)
        # Both columns of the (证件类型, 证件号码) unique index, so it is searched, not
        # the whole city's persons.
        .where(Person.id_type.in_(list(ID_TYPES)),
               one_of(Person.id_number, {n for n in id_numbers if n}),
               PersonAccount.status.not_in(CLOSED_STATUSES))).all()
    for row in rows:
        found.setdefault(row[1], []).append(Holder(*row))
    return found


def holder_problem(holder: Holder | None, unit_id: int) -> str | None:
    """Why a person with this account cannot be registered by the unit (None: they can)."""
    if holder is None:
        return None
    status = PERSON_STATUSES.get(holder.status, holder.status)
    if holder.unit_id == unit_id:
        return (f"该职工已在本单位开户（个人账号 {holder.account_no}，状态：{status}），"
                "不能重复登记")
    return ("该职工在本市其他单位已有未销户的个人账户，不能重复开户：请原单位先办理封存，"
            "再由本单位办理缴存人单位调整（转入）")


def check_id_number(id_type: str, number: str, today: date | None = None) -> str:
    """A 证件号码 valid for its 证件类型 (the GB 11643 checksum for 身份证; born by `today`)."""
    if id_type == RESIDENT_ID:
        if not is_valid_resident_id(number, today):
            raise ValueError(f"证件号码「{number[:30]}」不是有效的居民身份证号码"
                             "（18 位，出生日期和校验位须正确）")
    elif not is_valid_id_number(id_type, number):
        raise ValueError("证件号码须为 5 至 30 位字母或数字")
    return number


def check_mobile(text: str) -> str:
    if not is_valid_mobile(text):
        raise ValueError(f"手机号码「{text[:20]}」有误（应为 1 开头的 11 位数字）")
    return text


def check_name(text: str) -> str:
    if len(text) > NAME_LIMIT:
        raise ValueError(f"姓名不能超过 {NAME_LIMIT} 个字")
    return text


def derived(id_type: str, number: str) -> tuple[str, date | None]:
    """性别 and 出生日期 a 居民身份证号码 carries (digit 17 odd: 男); blank otherwise."""
    if id_type != RESIDENT_ID:
        return "", None
    return ("1" if number[16] in "13579" else "2"), resident_id_birth_date(number)


@dataclass(frozen=True)
class NewAccount:
    """A checked 开户清册 row."""

    name: str
    id_type: str
    id_number: str
    mobile: str
    base: Decimal
    person_rate: Decimal
    unit_amount: Decimal
    person_amount: Decimal


class Opened(NamedTuple):
    account_id: int
    account_no: str


def open_accounts(unit_id: int, unit_rate: Decimal, rows: list[NewAccount],
                  month: YearMonth, who: Who, today: date) -> list[Opened]:
    """开户: an account in 正常 per row, from `month` (the unit's 应汇缴年月), with its 个人账号,
    base period and an 开户 account event; a person already known to the city (an earlier,
    closed account) keeps their 客户信息. A person who meanwhile got an account elsewhere
    makes the whole action fail (Conflict), never two open accounts."""
    if not rows:
        return []
    now = utcnow()
    try:
        person_ids = _persons(rows, now)
        numbers_ = numbers.new_person_accounts(len(rows))
        insert_rows(PersonAccount, [
            {"account_no": number, "person_id": person_ids[(r.id_type, r.id_number)],
             "unit_id": unit_id, "status": ACTIVE, "base": r.base, "person_rate": r.person_rate,
             "unit_amount": r.unit_amount, "person_amount": r.person_amount, "opened_on": today,
             "first_month": month, "paid_through": None, "updated_at": now}
            for number, r in zip(numbers_, rows, strict=True)])
    except IntegrityError:
        raise Conflict(RACE) from None
    ids = _account_ids(numbers_)
    opened = [Opened(ids[n], n) for n in numbers_]
    insert_rows(BasePeriod, [
        {"person_account_id": o.account_id, "from_month": month, "base": r.base,
         "unit_rate": unit_rate, "person_rate": r.person_rate, "unit_amount": r.unit_amount,
         "person_amount": r.person_amount, "instance_id": who.instance_id, "created_at": now}
        for o, r in zip(opened, rows, strict=True)])
    insert_rows(AccountEvent, [
        {"unit_id": unit_id, "person_account_id": o.account_id, "change": "open",
         "reason": None, "from_status": None, "to_status": ACTIVE, "month": month, "at": now,
         "actor": who.actor, "actor_name": who.actor_name, "instance_id": who.instance_id}
        for o in opened])
    return opened


def _persons(rows: list[NewAccount], now) -> dict[tuple[str, str], int]:
    """Person ids by (证件类型, 证件号码): the known ones, and new ones inserted."""
    keys = [(r.id_type, r.id_number) for r in rows]
    known = _person_ids(keys)
    new = [r for r in rows if (r.id_type, r.id_number) not in known]
    if new:
        insert_rows(Person, [_person_row(r, now) for r in new])
        known.update(_person_ids([(r.id_type, r.id_number) for r in new]))
    return known


def _person_row(row: NewAccount, now) -> dict:
    gender, birth = derived(row.id_type, row.id_number)
    return {"id_type": row.id_type, "id_number": row.id_number, "name": row.name,
            "gender": gender, "birth_date": birth, "mobile": row.mobile, "phone": "",
            "postcode": "", "education": "", "position": "", "occupation": "", "title": "",
            "marital_status": "", "address": "", "family_income": None, "created_at": now}


def _person_ids(keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    wanted = set(keys)
    found = db.session.connection().execute(
        select(Person.id_type, Person.id_number, Person.id).where(
            Person.id_type.in_({t for t, _ in wanted}),
            one_of(Person.id_number, {n for _, n in wanted}))).all()
    return {(t, n): i for t, n, i in found if (t, n) in wanted}


def _account_ids(numbers_: list[str]) -> dict[str, int]:
    return dict(db.session.connection().execute(
        select(PersonAccount.account_no, PersonAccount.id).where(
            one_of(PersonAccount.account_no, numbers_))).all())
