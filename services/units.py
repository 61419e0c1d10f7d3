"""A unit's basic and account information (单位基本信息, 账户信息)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, func, select, true

from . import remittance
from .db import db
from .errors import NotFound
from .models import City, PersonAccount, Unit, UnitAccount, UnitBalance
from .models.person import ACTIVE
from .money import ZERO
from .months import YearMonth
from .policy import Policy


@dataclass(frozen=True)
class UnitFacts:
    """What a 清册's row checks read of their unit (forms.manifest_spec.build_context)."""

    name: str
    account_no: str
    unit_rate: Decimal
    person_rate: Decimal
    status: str
    paid_through: YearMonth | None
    due_month: YearMonth
    #: The latest month verified (汇缴核定), paid or not.
    latest_verified: YearMonth | None
    policy: Policy


#: One small row, asked by every 清册 action: no ORM objects for the unit, its account
#: and its city (loading them cost more than the statement).
_FACTS = (select(Unit.name, UnitAccount.account_no, UnitAccount.unit_rate,
                 UnitAccount.person_rate, UnitAccount.status,
                 UnitAccount.paid_through, UnitAccount.first_month,
                 remittance.latest_verified_month(), City.policy_json)
          .join(Unit, Unit.id == UnitAccount.unit_id).join(City, City.id == Unit.city_id)
          .where(UnitAccount.unit_id == bindparam("unit_id")))


def unit_facts(unit_id: int) -> UnitFacts:
    found = db.session.execute(_FACTS, {"unit_id": unit_id}).first()
    if found is None:
        raise NotFound("单位不存在")
    name, account_no, rate, person_rate, status, paid_through, first_month, latest, \
        policy_json = found
    return UnitFacts(name, account_no, rate, person_rate, status, paid_through,
                     UnitAccount.due_of(paid_through, first_month), latest,
                     Policy.from_json(policy_json))


_BALANCES = UnitBalance.__table__
_PERSONS = (select(func.count().label("n"), func.sum(PersonAccount.unit_amount).label("u"),
                   func.sum(PersonAccount.person_amount).label("p"))
            .where(PersonAccount.unit_id == bindparam("unit_id"), PersonAccount.status == ACTIVE)
            .subquery())
#: The unit with its account, its kept balances and its active persons' count and monthly
#: amounts: one statement, as the home page asks on every request.
_SUMMARY = (select(Unit, _PERSONS.c.n, _PERSONS.c.u, _PERSONS.c.p, _BALANCES.c.balance,
                   _BALANCES.c.unallocated)
            .select_from(Unit)  # its account and city come joined (the model's)
            .join(_PERSONS, true())
            .outerjoin(_BALANCES, _BALANCES.c.unit_id == Unit.id)
            .where(Unit.id == bindparam("unit_id")))


@dataclass
class AccountSummary:
    """What the home page shows above the module tiles (manual 1.2)."""

    unit: Unit
    balance: Decimal
    unallocated: Decimal
    paid_through: YearMonth | None
    due_month: YearMonth
    active_persons: int
    monthly_total: Decimal

    def to_dict(self) -> dict:
        unit, account = self.unit, self.unit.account
        return {
            "unit_account": account.account_no,
            "name": unit.name,
            "uscc": unit.uscc,
            "unit_type": unit.unit_type,
            "address": unit.address,
            "legal_rep": unit.legal_rep,
            "contact_name": unit.contact_name,
            "contact_phone": unit.contact_phone,
            "bank_name": unit.bank_name,
            "status": account.status,
            "status_name": account.status_name,
            "unit_rate": str(account.unit_rate),
            "person_rate": str(account.person_rate),
            "opened_on": account.opened_on.isoformat(),
            "balance": str(self.balance),
            "unallocated": str(self.unallocated),
            "paid_through": str(self.paid_through) if self.paid_through else None,
            "due_month": str(self.due_month),
            "active_persons": self.active_persons,
            "monthly_total": str(self.monthly_total),
        }


def get_unit(unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在")
    return unit


def account_summary(unit_id: int) -> AccountSummary:
    """What the home page shows, in one prepared statement (`_SUMMARY`)."""
    found = db.session.execute(_SUMMARY, {"unit_id": unit_id}).one_or_none()
    if found is None:
        raise NotFound("单位不存在")
    unit, count, unit_total, person_total, balance, unallocated = found
    return AccountSummary(
        unit=unit,
        balance=ZERO if balance is None else balance,
        unallocated=ZERO if unallocated is None else unallocated,
        paid_through=unit.account.paid_through,
        due_month=unit.account.due_month,
        active_persons=count,
        monthly_total=(unit_total or ZERO) + (person_total or ZERO),
    )
