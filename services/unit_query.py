"""单位信息查询 (manual 8.2, 8.3): the unit's account over a date range and its 业务流水
with each row's per-person 明细. Always one unit's own data; nothing here writes.

The 账户信息 figures start from the kept balances (one row) and subtract what was booked
after the range, so a query costs the rows since its start date, not the whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Integer, case, func, literal, select, type_coerce

from . import ledger
from .db import db
from .errors import NotFound
from .models import BIZ_TYPES, LedgerEntry, Payable, PayableLine, Person, PersonAccount
from .models.ledger import MEMO, UNALLOCATED
from .money import ZERO

#: Allocations book a negative 未分配 row; the 流水 shows what reached the persons.
_ALLOCATIONS = ("remit", "back_pay")
#: The 业务类型 whose 发生额 moves the persons' balances (the 账户余额): not 汇缴核定 (a
#: memo of what is owed) nor 缴款 (money into 未分配, counted again when allocated).
BALANCE_MOVES = ("remit", "back_pay", "transfer", "interest")


def parse_type(text: str | None) -> str | None:
    """A 业务类型 by code (remit) or by name (汇缴); None for all or unknown."""
    text = (text or "").strip()
    if text in BIZ_TYPES:
        return text
    return next((code for code, name in BIZ_TYPES.items() if name == text), None)


@dataclass(frozen=True)
class AccountInfo:
    since: date
    until: date
    opening: Decimal
    increase: Decimal
    decrease: Decimal
    closing: Decimal
    unallocated: Decimal

    def to_dict(self) -> dict:
        return {"from": self.since.isoformat(), "to": self.until.isoformat(),
                "opening_balance": str(self.opening), "increase": str(self.increase),
                "decrease": str(self.decrease), "closing_balance": str(self.closing),
                "unallocated": str(self.unallocated)}


def account_period(since: date | None, until: date | None, today: date
                   ) -> tuple[date, date, str | None]:
    """账户信息's dates: this year so far by default; a start after the end becomes the
    end's 1 January, with what the page says about it."""
    until = until or today
    if since is not None and since > until:
        return date(until.year, 1, 1), until, "开始日期不能晚于结束日期，已改为结束日期所在年的 1 月 1 日"
    return since or date(until.year, 1, 1), until, None


def account_info(unit_id: int, since: date, until: date) -> AccountInfo:
    """期初余额 (at the start of `since`), 本期增加 / 本期减少 (rows booked from `since`
    to `until`), 期末余额 and 单位未分配金额 (at the end of `until`)."""
    rows = ledger.PERSON_ROWS
    value = type_coerce(rows.c.amount + rows.c.interest, BigInteger)
    in_range = rows.c.booked_on.between(since, until)
    sums = db.session.execute(select(
        ledger.cents_sum(value),
        ledger.cents_sum(case((in_range & (value > 0), value), else_=0)),
        ledger.cents_sum(case((in_range & (value < 0), -value), else_=0)))
        .where(rows.c.unit_id == unit_id, rows.c.booked_on >= min(since, until))).one()
    since_start, increase, decrease = (ledger.yuan(v) for v in sums)
    entries = LedgerEntry.__table__
    unallocated_after = ledger.yuan(db.session.execute(select(ledger.cents_sum(entries.c.amount))
        .where(entries.c.unit_id == unit_id, entries.c.account_kind == UNALLOCATED,
               entries.c.booked_on > until)).scalar())
    kept = ledger.totals(unit_id)
    opening = kept.balance - since_start
    return AccountInfo(since, until, opening, increase, decrease, opening + increase - decrease,
                       kept.unallocated - unallocated_after)


def shown_amount(kind: str, biz_type: str, amount: Decimal) -> Decimal:
    """发生额 as the 流水 shows it: an allocation's amount is what the persons received."""
    return -amount if kind == UNALLOCATED and biz_type in _ALLOCATIONS else amount


def ledger_rows(unit_id: int, biz_type: str | None, since: date | None, until: date | None,
                page: int = 1, per_page: int = 20) -> tuple[list[dict], int]:
    """业务流水: the unit's business rows (one per 业务流水号), newest first; per_page 0
    gives all (export, print)."""
    query = select(LedgerEntry).where(LedgerEntry.unit_id == unit_id,
                                      LedgerEntry.account_kind.in_([MEMO, UNALLOCATED]))
    if biz_type:
        query = query.where(LedgerEntry.biz_type == biz_type)
    if since:
        query = query.where(LedgerEntry.booked_on >= since)
    if until:
        query = query.where(LedgerEntry.booked_on <= until)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    query = query.order_by(LedgerEntry.booked_on.desc(), LedgerEntry.id.desc())
    if per_page:
        query = query.limit(per_page).offset((page - 1) * per_page)
    return [row_dict(e) for e in db.session.execute(query).scalars()], total


def row_dict(entry: LedgerEntry) -> dict:
    return {"serial_no": entry.serial_no, "booked_on": entry.booked_on,
            "biz_type": entry.biz_type, "biz_type_name": BIZ_TYPES.get(entry.biz_type,
                                                                       entry.biz_type),
            "summary": entry.summary,
            "amount": shown_amount(entry.account_kind, entry.biz_type, entry.amount),
            "interest": entry.interest, "head_count": entry.head_count,
            "month": str(entry.month) if entry.month else "",
            "has_details": entry.biz_type in ("verify", "remit", "back_pay", "interest",
                                              "transfer") and entry.head_count > 0,
            "is_payment": entry.biz_type == "payment"}


def business_row(unit_id: int, serial_no: str) -> LedgerEntry:
    """The 业务流水 row of a serial number, of this unit only."""
    entry = db.session.execute(select(LedgerEntry).where(
        LedgerEntry.unit_id == unit_id, LedgerEntry.serial_no == serial_no[:20],
        LedgerEntry.person_account_id.is_(None)).order_by(LedgerEntry.id).limit(1)
    ).scalar_one_or_none()
    if entry is None:
        raise NotFound("本单位没有该业务流水号")
    return entry


def details(unit_id: int, serial_no: str, page: int = 1, per_page: int = 50
            ) -> tuple[LedgerEntry, list[dict], int]:
    """明细 of one 业务流水: its persons' rows (个人账号, 姓名, 记账日期, 发生额, 发生利息额,
    业务明细类型); for a 汇缴核定, the persons it fixed."""
    entry = business_row(unit_id, serial_no)
    name = BIZ_TYPES.get(entry.biz_type, entry.biz_type)
    if entry.biz_type == "verify":
        return entry, *_verified_lines(unit_id, entry, name, page, per_page)
    rows = ledger.PERSON_ROWS
    query = (select(PersonAccount.account_no, Person.name, rows.c.booked_on,
                    rows.c.amount, rows.c.interest, rows.c.summary)
             .join(PersonAccount, PersonAccount.id == rows.c.person_account_id)
             .join(Person, Person.id == PersonAccount.person_id)
             .where(rows.c.serial_no == entry.serial_no, rows.c.unit_id == unit_id))
    return entry, *_page(query, name, page, per_page)


def _verified_lines(unit_id: int, entry: LedgerEntry, name: str, page: int, per_page: int):
    query = (select(PersonAccount.account_no, Person.name, Payable.created_on,
                    PayableLine.amount, literal(None, Integer), Payable.month)
             .join(Payable, Payable.id == PayableLine.payable_id)
             .join(PersonAccount, PersonAccount.id == PayableLine.person_account_id)
             .join(Person, Person.id == PersonAccount.person_id)
             .where(Payable.unit_id == unit_id, Payable.verify_serial == entry.serial_no))
    return _page(query, name, page, per_page)


def _page(query, name: str, page: int, per_page: int) -> tuple[list[dict], int]:
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    query = query.order_by(PersonAccount.account_no)
    if per_page:
        query = query.limit(per_page).offset((page - 1) * per_page)
    return [{"person_account": r[0], "name": r[1], "booked_on": r[2], "amount": r[3],
             "interest": r[4] or ZERO, "detail_type": name,
             "summary": r[5] if isinstance(r[5], str) else name}
            for r in db.session.execute(query).all()], total
