"""账户状态变更记录: every change of a person account's status (开户, 封存, 启封, 转入,
转出), the month it takes effect and why. Manual 7.3 queries it; a month's 汇缴核定
explains who joined or left since the month before by it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, YearMonthType, utcnow
from ..months import YearMonth

#: Kinds of change, and how the queries name them.
TRANSFER_IN, TRANSFER_OUT = "transfer_in", "transfer_out"
CHANGES = {"open": "开户", "seal": "封存", "unseal": "启封", TRANSFER_IN: "转入",
           TRANSFER_OUT: "转出"}


class AccountEvent(Base):
    __tablename__ = "account_event"
    __table_args__ = (
        Index("ix_account_event_unit_at", "unit_id", "at"),
        Index("ix_account_event_person", "person_account_id", "month"),
        # At most one 封存 or 启封 per person per month (DOMAIN.md), enforced here.
        Index("ux_account_event_seal_month", "person_account_id", "month", unique=True,
              sqlite_where=text("change IN ('seal', 'unseal')"),
              postgresql_where=text("change IN ('seal', 'unseal')")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    person_account_id: Mapped[int] = mapped_column(ForeignKey("person_account.id"))
    change: Mapped[str] = mapped_column(String(12))
    #: 变更原因 code (封存原因 / 启封原因 code lists), where the change has one.
    reason: Mapped[str | None] = mapped_column(String(4))
    from_status: Mapped[str | None] = mapped_column(String(2))
    to_status: Mapped[str] = mapped_column(String(2))
    #: The month the change takes effect for remittance (the unit's 应汇缴年月 then).
    month: Mapped[YearMonth] = mapped_column(YearMonthType)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(40))
    actor_name: Mapped[str] = mapped_column(String(40), default="")
    instance_id: Mapped[int | None]
