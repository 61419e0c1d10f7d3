"""缴存人信息查询 (manual chapter 7): the unit's depositors' accounts with their balances,
and the change records of its depositors. Always one unit's own data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from . import persons
from .changes import display_value
from .clock import dates_from, display, on_days
from .db import count_capped, db
from .ledger import person_balances, unit_person_balances
from .models import ChangeRecord, Person, PersonAccount
from .models.person import PERSON_STATUSES
from .money import ZERO


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: str | None = None
    since: date | None = None  # 开户日期 from (accounts) / 变更日期 from (changes)
    until: date | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> tuple[Filters, dict[str, str]]:
        """The filters of a query page's URL (q, status, since, until); a date that does
        not parse is left out and named in the problems, an unknown status ignored."""
        dates, problems = dates_from(args, ("since", "开始日期"), ("until", "结束日期"))
        status = args.get("status") or None
        if status not in PERSON_STATUSES:
            status = None
        return cls(q=(args.get("q") or "")[:40], status=status, **dates), problems

    def to_args(self) -> dict[str, str]:
        """The URL parameters that give these filters again (a print link, say)."""
        values = {"q": self.q, "status": self.status, "since": self.since, "until": self.until}
        return {name: str(value) for name, value in values.items() if value}


def accounts(unit_id: int, filters: Filters, page: int = 1, per_page: int = 20
             ) -> tuple[list[dict], int]:
    """7.1 账户信息: per_page 0 gives every matching row (for the export)."""
    rows, total = persons.search(unit_id, filters.q, filters.status, page, per_page,
                                 opened_from=filters.since, opened_to=filters.until)
    # A page asks for its own accounts; an export sums the whole unit in one grouped query
    # (a list of every id would pass PostgreSQL's 65,535-parameter limit in a large unit).
    balances = person_balances([r.id for r in rows]) if per_page else unit_person_balances(unit_id)
    return [{
        "person_account": r.account_no, "name": r.person.name, "id_number": r.person.id_number,
        "status": r.status, "status_name": r.status_name, "opened_on": r.opened_on.isoformat(),
        "base": r.base, "person_rate": r.person_rate, "monthly_amount": r.monthly_amount,
        "paid_through": str(r.paid_through) if r.paid_through else "",
        "balance": balances.get(r.id, ZERO),
    } for r in rows], total


def changes(unit_id: int, filters: Filters, page: int = 1, per_page: int = 20
            ) -> tuple[list[dict], int]:
    """7.2 客户信息变更查询: changed fields of the unit's depositors, newest first: the
    records the unit made, including of persons it has since transferred out (the account
    then belongs to the other unit, the records stay this unit's)."""
    query = (select(ChangeRecord, PersonAccount.account_no, Person.name)
             .join(PersonAccount, PersonAccount.id == ChangeRecord.person_account_id)
             .join(Person, Person.id == PersonAccount.person_id)
             .where(ChangeRecord.unit_id == unit_id, ChangeRecord.subject == "person"))
    query = _matching(query, filters.q)
    query = query.where(*on_days(ChangeRecord.changed_at, filters.since, filters.until))
    total = count_capped(query)
    query = query.order_by(ChangeRecord.changed_at.desc(), ChangeRecord.id.desc())
    if per_page:
        query = query.limit(per_page).offset((page - 1) * per_page)
    return [{
        "person_account": account_no, "name": name, "field": record.field_label,
        "old_value": display_value(record.field, record.old_value),
        "new_value": display_value(record.field, record.new_value),
        "business": record.business, "actor": record.actor_name,
        "changed_at": display(record.changed_at), "instance_id": record.instance_id,
    } for record, account_no, name in db.session.execute(query).all()], total


def _matching(query, q: str):
    condition = persons.text_match(q)
    return query if condition is None else query.where(condition)
