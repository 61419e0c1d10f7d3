"""Change records (变更记录): every changed field of a unit or a person, with who and why."""

from __future__ import annotations

from .db import db, utcnow
from .models import ChangeRecord


def record_changes(*, unit_id: int, subject: str, changes: list[tuple[str, str, object, object]],
                   actor: str, actor_name: str, business: str = "",
                   instance_id: int | None = None, person_account_id: int | None = None) -> None:
    """`changes` holds (field, label, old, new); unchanged fields are skipped."""
    now = utcnow()
    rows = [
        ChangeRecord(unit_id=unit_id, person_account_id=person_account_id, subject=subject,
                     field=field, field_label=label, old_value=_text(old), new_value=_text(new),
                     changed_at=now, actor=actor, actor_name=actor_name, business=business,
                     instance_id=instance_id)
        for field, label, old, new in changes if _text(old) != _text(new)
    ]
    db.session.add_all(rows)


def _text(value: object) -> str:
    return "" if value is None else str(value)
