"""A unit's basic and account information (单位基本信息, 账户信息)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from .db import db
from .errors import NotFound
from .ledger import totals
from .models import PersonAccount, Unit
from .models.person import ACTIVE
from .money import ZERO
from .months import YearMonth


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
    unit = get_unit(unit_id)
    kept = totals(unit_id)
    count, unit_total, person_total = db.session.execute(
        select(func.count(), func.sum(PersonAccount.unit_amount),
               func.sum(PersonAccount.person_amount))
        .where(PersonAccount.unit_id == unit_id, PersonAccount.status == ACTIVE)).one()
    return AccountSummary(
        unit=unit,
        balance=kept.balance,
        unallocated=kept.unallocated,
        paid_through=unit.account.paid_through,
        due_month=unit.account.due_month,
        active_persons=count,
        monthly_total=(unit_total or ZERO) + (person_total or ZERO),
    )
