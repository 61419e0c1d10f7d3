"""A unit's depositors (缴存人) as the hall lists and picks them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from .db import count_capped, db, one_of
from .identifiers import id_type_name, mask_id_number
from .models import Person, PersonAccount
from .models.person import PERSON_STATUSES
from .months import YearMonth


class PersonRef(NamedTuple):
    """A person's account as row checks read it: plain values, no ORM object, so a
    10,000-row import looks its people up in a few queries and little memory."""

    id: int
    account_no: str
    unit_id: int
    status: str
    base: Decimal
    person_rate: Decimal
    unit_amount: Decimal
    person_amount: Decimal
    paid_through: YearMonth | None
    person_id: int
    name: str
    id_type: str
    id_number: str

    @property
    def monthly_amount(self) -> Decimal:
        return self.unit_amount + self.person_amount

    @property
    def status_name(self) -> str:
        return PERSON_STATUSES.get(self.status, self.status)


_REF_COLUMNS = (PersonAccount.id, PersonAccount.account_no, PersonAccount.unit_id,
                PersonAccount.status, PersonAccount.base, PersonAccount.person_rate,
                PersonAccount.unit_amount, PersonAccount.person_amount,
                PersonAccount.paid_through, Person.id, Person.name, Person.id_type,
                Person.id_number)


def refs_by_account(unit_id: int | None, numbers: list[str]) -> dict[str, PersonRef]:
    """Accounts among `numbers`, of one unit (or any unit when `unit_id` is None)."""
    query = (select(*_REF_COLUMNS).join(Person, Person.id == PersonAccount.person_id)
             .where(one_of(PersonAccount.account_no, set(numbers))))
    if unit_id is not None:
        query = query.where(PersonAccount.unit_id == unit_id)
    return {row[1]: PersonRef(*row) for row in _rows(query)}


def _rows(query):
    """Plain rows on the session's connection, fetched at once: no ORM processing."""
    return db.session.connection().execute(query).all()


def refs_by_ids(account_ids: list[int]) -> dict[int, PersonRef]:
    query = (select(*_REF_COLUMNS).join(Person, Person.id == PersonAccount.person_id)
             .where(one_of(PersonAccount.id, set(account_ids))))
    return {row[0]: PersonRef(*row) for row in _rows(query)}


def refs_of_unit(unit_id: int, status: str | None = None) -> list[PersonRef]:
    """Every account of a unit (in a status), by 个人账号: prefilled templates."""
    query = (select(*_REF_COLUMNS).join(Person, Person.id == PersonAccount.person_id)
             .where(PersonAccount.unit_id == unit_id).order_by(PersonAccount.account_no))
    if status:
        query = query.where(PersonAccount.status == status)
    return [PersonRef(*row) for row in _rows(query)]


def person_row(account: PersonAccount) -> dict:
    """The fields the person picker and the lists show back."""
    person = account.person
    return {
        "person_account": account.account_no,
        "name": person.name,
        "id_type": person.id_type,
        "id_type_name": id_type_name(person.id_type),
        "id_number": person.id_number,
        "id_number_masked": mask_id_number(person.id_number),
        "status": account.status,
        "status_name": account.status_name,
        "base": str(account.base),
        "person_rate": str(account.person_rate),
        "unit_amount": str(account.unit_amount),
        "person_amount": str(account.person_amount),
        "monthly_amount": str(account.monthly_amount),
        "paid_through": str(account.paid_through) if account.paid_through else None,
        # 客户信息 shown back and changed by 缴存人信息变更
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
        **{name: "" if getattr(person, name) is None else str(getattr(person, name))
           for name in ("education", "phone", "postcode", "position", "occupation", "title",
                        "marital_status", "address", "family_income")},
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
    total = count_capped(query)
    query = query.options(joinedload(PersonAccount.person)).order_by(PersonAccount.account_no)
    if per_page:  # 0 means all
        query = query.limit(per_page).offset((page - 1) * per_page)
    return list(db.session.execute(query).scalars().all()), total


def text_match(q: str, columns: tuple = ()):
    """个人账号, 姓名 or 证件号码 (or `columns`) containing `q`: % and _ taken literally, and
    the same on every database whatever the case of an ID number's final X. None when `q`
    is blank."""
    q = (q or "").strip()
    if not q:
        return None
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = f"%{escaped.upper()}%"
    return or_(*(func.upper(column).like(like, escape="\\") for column in
                 columns or (PersonAccount.account_no, Person.name, Person.id_number)))
