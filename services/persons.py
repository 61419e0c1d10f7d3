"""A unit's depositors (缴存人) as the hall lists and picks them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from .db import db
from .models import Person, PersonAccount


def person_row(account: PersonAccount) -> dict:
    """The fields the person picker and the lists show back."""
    person = account.person
    return {
        "person_account": account.account_no,
        "name": person.name,
        "id_type": person.id_type,
        "id_number": person.id_number,
        "status": account.status,
        "status_name": account.status_name,
        "base": str(account.base),
        "person_rate": str(account.person_rate),
        "unit_amount": str(account.unit_amount),
        "person_amount": str(account.person_amount),
        "monthly_amount": str(account.monthly_amount),
        "paid_through": str(account.paid_through) if account.paid_through else None,
    }


def search(unit_id: int, q: str = "", status: str | None = None, page: int = 1,
           per_page: int = 50, opened_from: date | None = None, opened_to: date | None = None
           ) -> tuple[list[PersonAccount], int]:
    """Persons of this unit only, by 个人账号, 姓名 or 证件号码 fragment, status and
    opening date."""
    query = (select(PersonAccount).join(Person, PersonAccount.person_id == Person.id)
             .where(PersonAccount.unit_id == unit_id))
    if status:
        query = query.where(PersonAccount.status == status)
    if opened_from:
        query = query.where(PersonAccount.opened_on >= opened_from)
    if opened_to:
        query = query.where(PersonAccount.opened_on <= opened_to)
    condition = text_match(q)
    if condition is not None:
        query = query.where(condition)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    query = query.options(joinedload(PersonAccount.person)).order_by(PersonAccount.account_no)
    if per_page:  # 0 means all
        query = query.limit(per_page).offset((page - 1) * per_page)
    return list(db.session.execute(query).scalars().all()), total


def by_account_numbers(unit_id: int, numbers: list[str]) -> dict[str, PersonAccount]:
    """The unit's accounts among `numbers`; numbers of other units are simply absent."""
    if not numbers:
        return {}
    found: dict[str, PersonAccount] = {}
    unique = sorted(set(numbers))
    for start in range(0, len(unique), 900):  # stay under SQLite's bound-parameter limit
        chunk = unique[start:start + 900]
        rows = db.session.execute(
            select(PersonAccount).options(joinedload(PersonAccount.person))
            .where(PersonAccount.unit_id == unit_id, PersonAccount.account_no.in_(chunk))
        ).scalars().all()
        found.update({row.account_no: row for row in rows})
    return found


def text_match(q: str):
    """个人账号, 姓名 or 证件号码 containing `q`: % and _ taken literally, and the same on
    every database whatever the case of an ID number's final X. None when `q` is blank."""
    q = (q or "").strip()
    if not q:
        return None
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = f"%{escaped.upper()}%"
    return or_(*(func.upper(column).like(like, escape="\\")
                 for column in (PersonAccount.account_no, Person.name, Person.id_number)))
