"""The 清册 (manifest) of an application: its rows live here, never in the workflow state.

One table serves every business: the common columns (the row's key, person, amounts) are
typed and indexed, the business's own fields sit in `data` (JSON text).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, Money, utcnow
from ..money import ZERO


class ManifestRow(Base):
    """One row of an application's 清册.

    `row_key` says who the row is about, as the business defines it (a 个人账号, or 证件类型
    and 证件号码 for someone who has no account yet). While the application is open,
    `active` is true and the database refuses a second open row with the same key in the
    same business, in this application or any other: a person is in at most one unfinished
    application of a business that changes them. When the application ends, `active`
    becomes NULL and the row is history."""

    __tablename__ = "manifest_row"
    __table_args__ = (
        Index("ix_manifest_row_owner", "instance_id", "id"),
        Index("ux_manifest_row_open_key", "business", "row_key", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The application (process instance) the row belongs to.
    instance_id: Mapped[int]
    business: Mapped[str] = mapped_column(String(40))
    row_key: Mapped[str] = mapped_column(String(40))
    person_account_id: Mapped[int | None] = mapped_column(ForeignKey("person_account.id"))
    data: Mapped[str] = mapped_column(Text)
    #: The row's amount for totals (e.g. the new 月缴存额 of a base adjustment) and, where
    #: the business has one, the amount it replaces (the old 月缴存额).
    amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    amount_before: Mapped[Decimal | None] = mapped_column(Money)
    active: Mapped[bool | None] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def values(self) -> dict:
        return json.loads(self.data)
