"""Change records (变更记录): every changed field of a unit or a person, with who and why.

Values are stored as plain text in a canonical form (amounts as 1234.50, rates as
fractions such as 0.12) and shown as people read them (1,234.50, 12%) by `display_value`,
which knows each field's kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import insert

from .db import utcnow, write
from .models import ChangeRecord
from .money import fmt, percent

#: How a field's values read: money (1,234.50), rate (12%); others as stored.
FIELD_KINDS = {"base": "money", "unit_amount": "money", "person_amount": "money",
               "family_income": "money", "person_rate": "rate", "unit_rate": "rate"}


@dataclass(frozen=True)
class Who:
    """Who a change is recorded against: the operator who applied for it (经办人), the
    business and the application it came from."""

    actor: str
    actor_name: str
    business: str = ""
    instance_id: int | None = None


def change_rows(*, unit_id: int, subject: str, changes: list[tuple[str, str, object, object]],
                who: Who, person_account_id: int | None = None,
                at: datetime | None = None) -> list[dict]:
    """Rows for `record`: `changes` holds (field, label, old, new); unchanged fields are
    skipped."""
    at = at or utcnow()
    return [{"unit_id": unit_id, "person_account_id": person_account_id, "subject": subject,
             "field": field, "field_label": label, "old_value": _text(old),
             "new_value": _text(new), "changed_at": at, "actor": who.actor,
             "actor_name": who.actor_name, "business": who.business,
             "instance_id": who.instance_id}
            for field, label, old, new in changes if _text(old) != _text(new)]


def record(rows: list[dict]) -> None:
    """Insert change records in one statement."""
    if rows:
        write(insert(ChangeRecord.__table__), rows)


def record_changes(*, unit_id: int, subject: str, changes: list[tuple[str, str, object, object]],
                   who: Who, person_account_id: int | None = None) -> None:
    record(change_rows(unit_id=unit_id, subject=subject, changes=changes, who=who,
                       person_account_id=person_account_id))


def display_value(field: str, value: str) -> str:
    """A stored value as the change queries show it: 12% rather than 0.12, 8,000.00."""
    kind = FIELD_KINDS.get(field)
    if not value or kind is None:
        return value
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    return percent(number) if kind == "rate" else fmt(number)


def _text(value: object) -> str:
    return "" if value is None else str(value)
