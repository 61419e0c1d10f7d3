"""Ledger rows (业务流水). Balances are sums of these rows; the unit's two totals are also
kept in `unit_balance`, moved with every posting (services/ledger.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, Money, YearMonthType, utcnow
from ..months import YearMonth

#: 业务类型 codes and their names.
BIZ_TYPES = {"verify": "汇缴核定", "remit": "汇缴", "back_pay": "补缴", "payment": "缴款",
             "transfer": "转移", "interest": "结息"}

#: Which balance a row moves: a person's account (P), the unit's 未分配 (U), or none (M,
#: a memo such as a verification, which fixes an amount owed but moves no money).
PERSON, UNALLOCATED, MEMO = "P", "U", "M"


class LedgerEntry(Base):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        Index("ix_ledger_entry_unit_kind", "unit_id", "account_kind", "booked_on"),
        Index("ix_ledger_entry_person", "person_account_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    #: 业务流水号: shared by a business event's unit row and its person rows (the 明细).
    serial_no: Mapped[str] = mapped_column(String(20), index=True)
    #: No foreign keys: a month's allocation posts a row per person, and a check per row
    #: cost more than the row (bench/month_end.py). Rows are posted only by services from
    #: existing units and accounts, which nothing deletes.
    unit_id: Mapped[int]
    person_account_id: Mapped[int | None]
    account_kind: Mapped[str] = mapped_column(String(1))
    biz_type: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    head_count: Mapped[int] = mapped_column(default=0)
    month: Mapped[YearMonth | None] = mapped_column(YearMonthType)
    booked_on: Mapped[date]
    instance_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
