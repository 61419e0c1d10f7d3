"""The money a unit owes and pays: 应缴 (a verified remittance month or an approved back
pay) with its per-person lines, payments received (缴款), the unit's running balances,
and the yearly interest settlements (结息)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, Money, YearMonthType, utcnow
from ..months import YearMonth

#: Kinds of 应缴 and what the ledger calls their allocation.
REMIT, BACK_PAY = "remit", "back_pay"
#: States of an 应缴: owed, allocated to the persons, or (a verification) deleted unpaid.
UNPAID, ALLOCATED, DELETED = "unpaid", "allocated", "deleted"


class Payable(Base):
    """应缴: a month fixed by 汇缴核定, or a back pay the centre approved; owed until a
    payment covers it and 分配 credits its lines to the persons.

    `active` is true until a verification is deleted (then NULL): the unique index on
    (unit, month) over active remittances lets exactly one verification of a month stand,
    however many requests race, and lets a deleted month be verified again."""

    __tablename__ = "payable"
    __table_args__ = (
        Index("ux_payable_unit_month", "unit_id", "month", unique=True,
              sqlite_where=text("active AND kind = 'remit'"),
              postgresql_where=text("active AND kind = 'remit'")),
        Index("ix_payable_unit_status", "unit_id", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    kind: Mapped[str] = mapped_column(String(10))
    #: The month remitted; for a back pay, the latest month it makes up.
    month: Mapped[YearMonth] = mapped_column(YearMonthType)
    #: The application (remittance or back pay) that waits for this to be paid.
    instance_id: Mapped[int | None]
    head_count: Mapped[int] = mapped_column(default=0)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    unit_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    person_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    #: The reconciliation 上月 + 增加 − 减少 = 本月 as verified (remittances): totals here,
    #: the breakdown by cause in `reconciliation_json`.
    prev_count: Mapped[int] = mapped_column(default=0)
    prev_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    added_count: Mapped[int] = mapped_column(default=0)
    added_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    removed_count: Mapped[int] = mapped_column(default=0)
    removed_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    reconciliation_json: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(10), default=UNPAID)
    active: Mapped[bool | None] = mapped_column(default=True)
    #: 业务流水号 of the verification (汇缴核定) and of the allocation (汇缴 / 补缴).
    verify_serial: Mapped[str | None] = mapped_column(String(20))
    allocate_serial: Mapped[str | None] = mapped_column(String(20))
    created_on: Mapped[date]
    allocated_on: Mapped[date | None]
    allocated_at: Mapped[datetime | None]
    #: The 摘要 the lines are booked under, set by 分配: from then on the lines are the
    #: persons' ledger rows (`services.ledger.PERSON_ROWS`), so a month's allocation
    #: writes no row per person. NULL before, and on 应缴 allocated before lines served so
    #: (their persons' rows are in ledger_entry).
    ledger_summary: Mapped[str | None] = mapped_column(String(100))
    actor: Mapped[str] = mapped_column(String(40), default="")
    actor_name: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PayableLine(Base):
    """One person's amount in an 应缴 (a verified month's 汇缴明细, or a back-pay row),
    and once the 应缴 is allocated that person's ledger row (see Payable.ledger_summary).
    Written set-wise from existing accounts, tens of thousands at a time, so without
    foreign keys (a check per row cost more than the row, see bench/month_end.py)."""

    __tablename__ = "payable_line"
    __table_args__ = (Index("ix_payable_line_payable", "payable_id", "person_account_id"),
                      Index("ix_payable_line_person", "person_account_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    payable_id: Mapped[int]
    person_account_id: Mapped[int]
    month: Mapped[YearMonth] = mapped_column(YearMonthType)
    base: Mapped[Decimal | None] = mapped_column(Money)
    unit_amount: Mapped[Decimal | None] = mapped_column(Money)
    person_amount: Mapped[Decimal | None] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    #: 补缴原因 code, and the ledger 摘要 a back-pay line is booked with.
    reason: Mapped[str | None] = mapped_column(String(4))
    summary: Mapped[str | None] = mapped_column(String(100))


class Payment(Base):
    """缴款: money received for a unit (转账, 托收), as centre finance or a bank
    integration delivered it. The unique idempotency key makes a notice delivered twice,
    or twenty times at once, take effect once; `result_json` is the answer every
    delivery of it gets."""

    __tablename__ = "payment"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[str] = mapped_column(String(12))
    reference: Mapped[str] = mapped_column(String(60), default="")
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    serial_no: Mapped[str] = mapped_column(String(20))
    received_on: Mapped[date]
    recorded_by: Mapped[str] = mapped_column(String(40))
    recorded_by_name: Mapped[str] = mapped_column(String(40), default="")
    result_json: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnitBalance(Base):
    """The unit's balances as of its last posting, moved in the same transaction as every
    ledger row: 单位账户余额 (the persons' accounts, interest included) and 未分配. The
    home page reads one row however long the history; the money tests check after every
    step that it equals the sums of the rows (tests/money_helpers.py)."""

    __tablename__ = "unit_balance"
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    unallocated: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InterestSettlement(Base):
    """结息: one row per unit and year, written first, so a second run of the year's
    settlement is refused by the database and changes nothing."""

    __tablename__ = "interest_settlement"
    __table_args__ = (UniqueConstraint("unit_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    year: Mapped[int]
    settled_on: Mapped[date]
    serial_no: Mapped[str] = mapped_column(String(20))
    head_count: Mapped[int] = mapped_column(default=0)
    interest: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
