"""8.1 客户信息变更查询 of the unit itself: its changed fields, newest first, by 变更日期.
(7.2, the depositors' changes, is `person_query.changes`.)"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from .changes import display_value
from .clock import display, on_days
from .db import count_capped, db
from .models import ChangeRecord


def unit_changes(unit_id: int, since: date | None = None, until: date | None = None,
                 page: int = 1, per_page: int = 20, instance_id: int | None = None
                 ) -> tuple[list[dict], int]:
    """per_page 0 gives every matching row (export, print); `instance_id` those of one
    application (its printed record)."""
    query = select(ChangeRecord).where(ChangeRecord.unit_id == unit_id,
                                       ChangeRecord.subject == "unit",
                                       *on_days(ChangeRecord.changed_at, since, until))
    if instance_id is not None:
        query = query.where(ChangeRecord.instance_id == instance_id)
    total = count_capped(query)
    query = query.order_by(ChangeRecord.changed_at.desc(), ChangeRecord.id.desc())
    if per_page:
        query = query.limit(per_page).offset((page - 1) * per_page)
    return [{"field": r.field_label, "old_value": display_value(r.field, r.old_value),
             "new_value": display_value(r.field, r.new_value), "business": r.business,
             "actor": r.actor_name, "changed_at": display(r.changed_at),
             "instance_id": r.instance_id}
            for r in db.session.execute(query).scalars()], total
