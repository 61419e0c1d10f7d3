"""账户状态变更查询 (manual 7.3): the 开户, 封存, 启封, 转入 and 转出 of a unit's depositors
(`account_event`), by person, kind of change and date. Always one unit's own events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from . import persons
from .clock import dates_from, display, on_days
from .db import count_capped, db
from .models import AccountEvent, Person, PersonAccount
from .models.account_event import CHANGES
from .models.person import PERSON_STATUSES
from .status_change import RULES, reason_label
from .units import get_unit


@dataclass(frozen=True)
class Filters:
    q: str = ""
    change: str | None = None
    since: date | None = None
    until: date | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> tuple[Filters, dict[str, str]]:
        """From a page's URL: a date that does not parse is left out and named in the
        problems; an unknown change type is ignored."""
        dates, problems = dates_from(args, ("since", "开始日期"), ("until", "结束日期"))
        change = args.get("change") or None
        return cls(q=(args.get("q") or "")[:40], change=change if change in CHANGES else None,
                   **dates), problems

    def to_args(self) -> dict[str, str]:
        values = {"q": self.q, "change": self.change, "since": self.since, "until": self.until}
        return {name: str(value) for name, value in values.items() if value}


def events(unit_id: int, filters: Filters, page: int = 1, per_page: int = 20
           ) -> tuple[list[dict], int]:
    """The unit's account events, newest first; per_page 0 gives every match (export)."""
    query = (select(AccountEvent, PersonAccount.account_no, Person.name, Person.id_number)
             .join(PersonAccount, PersonAccount.id == AccountEvent.person_account_id)
             .join(Person, Person.id == PersonAccount.person_id)
             .where(AccountEvent.unit_id == unit_id))
    condition = persons.text_match(filters.q)
    if condition is not None:
        query = query.where(condition)
    if filters.change:
        query = query.where(AccountEvent.change == filters.change)
    query = query.where(*on_days(AccountEvent.at, filters.since, filters.until))
    total = count_capped(query)
    query = query.order_by(AccountEvent.at.desc(), AccountEvent.id.desc())
    if per_page:
        query = query.limit(per_page).offset((page - 1) * per_page)
    policy = get_unit(unit_id).policy
    return [{
        "at": display(event.at), "person_account": account_no, "name": name,
        "id_number": id_number, "change": event.change,
        "change_name": CHANGES.get(event.change, event.change),
        "from_status": PERSON_STATUSES.get(event.from_status, event.from_status or ""),
        "to_status": PERSON_STATUSES.get(event.to_status, event.to_status),
        "month": str(event.month), "reason_code": event.reason or "",
        "reason": _reason(event, policy), "actor": event.actor_name,
        "instance_id": event.instance_id,
    } for event, account_no, name, id_number in db.session.execute(query).all()], total


def _reason(event: AccountEvent, policy) -> str:
    """变更原因 as people read it: 封存 01 is 离职, 启封 01 重新在职, so the code alone
    says nothing; other changes keep what they recorded."""
    if event.reason and event.change in RULES:
        return reason_label(event.change, event.reason, policy)
    return event.reason or ""
