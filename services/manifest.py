"""The 清册 (manifest) of an application: its rows live here, never in the workflow state.

One table serves every business: the common columns (person, amount) are typed and
indexed, the business-specific fields sit in `data` (JSON text).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, delete, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, Money, db, utcnow
from .errors import NotFound
from .money import ZERO


class ManifestRow(Base):
    __tablename__ = "manifest_row"
    __table_args__ = (Index("ix_manifest_row_owner", "instance_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The application (process instance) the row belongs to.
    instance_id: Mapped[int]
    business: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int]
    person_account_id: Mapped[int | None] = mapped_column(ForeignKey("person_account.id"))
    data: Mapped[str] = mapped_column(Text)
    #: The row's amount for totals (e.g. the new 月缴存额 of a base adjustment).
    amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def values(self) -> dict:
        return json.loads(self.data)


def add_rows(instance_id: int, business: str, rows: list[tuple[int | None, dict, Decimal]]
             ) -> int:
    """Append rows in one bulk INSERT; returns how many."""
    if not rows:
        return 0
    start = (db.session.execute(select(func.max(ManifestRow.seq))
                                .where(ManifestRow.instance_id == instance_id)).scalar() or 0)
    now = utcnow()
    db.session.execute(insert(ManifestRow), [
        {"instance_id": instance_id, "business": business, "seq": start + index,
         "person_account_id": person_id, "data": json.dumps(values, ensure_ascii=False),
         "amount": amount, "created_at": now}
        for index, (person_id, values, amount) in enumerate(rows, start=1)])
    return len(rows)


def list_rows(instance_id: int, page: int = 1, per_page: int = 50) -> list[ManifestRow]:
    query = (select(ManifestRow).where(ManifestRow.instance_id == instance_id)
             .order_by(ManifestRow.seq))
    if per_page:
        query = query.limit(per_page).offset((page - 1) * per_page)
    return list(db.session.execute(query).scalars())


def totals(instance_id: int) -> tuple[int, Decimal]:
    count, amount = db.session.execute(
        select(func.count(), func.sum(ManifestRow.amount))
        .where(ManifestRow.instance_id == instance_id)).one()
    return count, amount if amount is not None else ZERO


def person_ids(instance_id: int) -> set[int]:
    return set(db.session.execute(select(ManifestRow.person_account_id)
                                  .where(ManifestRow.instance_id == instance_id)).scalars())


def delete_row(instance_id: int, row_id: int) -> None:
    result = db.session.execute(delete(ManifestRow).where(ManifestRow.id == row_id,
                                                          ManifestRow.instance_id == instance_id))
    if result.rowcount == 0:
        raise NotFound("清册中没有这一行，可能已被删除")
