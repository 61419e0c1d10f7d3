"""缴存人状态变更 (manual ch.11): 封存 `seal` and 启封 `unseal` of person accounts.

The rules (DOMAIN.md), written once for the 清册's row check and for the check when the
unit confirms (确定封存 / 确定启封):

- 封存 needs 正常; 启封 needs 封存 and a unit that is not itself sealed;
- a reason from the policy's code list (封存原因 / 启封原因);
- at most one 封存 or 启封 per person per month. The month is the one the change takes
  effect in for remittance: the next month 汇缴核定 opens on. The database enforces it
  (a unique index on account_event), so a race ends in a message, not a second change.

A change moves the account's status with a guarded UPDATE (only from the status it was
checked in), writes its account event and a change record, in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from . import changes, remittance
from .changes import Who
from .db import db, one_of
from .eligibility import status_problem
from .errors import BusinessRuleViolation
from .models import AccountEvent, PersonAccount
from .models.person import ACTIVE, PERSON_STATUSES, SEALED
from .months import YearMonth
from .policy import Policy
from .units import get_unit

SEAL, UNSEAL = "seal", "unseal"
#: change → (status it needs, status it leaves, what it is called)
RULES = {SEAL: (ACTIVE, SEALED, "封存"), UNSEAL: (SEALED, ACTIVE, "启封")}
UNIT_SEALED = "05"
ONCE_A_MONTH = "该职工 {month} 已办理过封存或启封，每人每月只能办理一次"


def effective_month(unit_id: int) -> YearMonth:
    """The month a change made now takes effect in: the next one 汇缴核定 opens on."""
    return remittance.next_month(unit_id)


def reasons(change: str, policy: Policy) -> list[tuple[str, str]]:
    codes = policy.seal_reasons if change == SEAL else policy.unseal_reasons
    return [tuple(pair) for pair in codes]


def reason_label(change: str, code: str, policy: Policy) -> str:
    return dict(reasons(change, policy)).get(code, code)


def changed_in(account_ids: list[int], month: YearMonth) -> dict[int, YearMonth]:
    """Of `account_ids`, those already sealed or unsealed in `month` or a later one, with
    that month (the latest). A later one counts too: deleting an unpaid 汇缴核定 moves the
    effective month back, and a second change then would date before the first, running
    the person's history backwards."""
    return dict(db.session.execute(
        select(AccountEvent.person_account_id, func.max(AccountEvent.month)).where(
            one_of(AccountEvent.person_account_id, set(account_ids)),
            AccountEvent.month >= month, AccountEvent.change.in_([SEAL, UNSEAL]))
        .group_by(AccountEvent.person_account_id)).all())


def problem(change: str, status: str, unit_status: str, month: YearMonth,
            changed: YearMonth | None) -> str | None:
    """Why this person cannot have `change` now, in the unit's words; None if they can.
    `changed`: the month of a change already made in `month` or later (`changed_in`)."""
    required, _, action = RULES[change]
    if change == UNSEAL and unit_status == UNIT_SEALED:
        return "本单位账户已封存，不能为职工启封"
    found = status_problem(status, required, action)
    if found:
        return found
    if changed is not None:
        return ONCE_A_MONTH.format(month=changed)
    return None


@dataclass(frozen=True)
class Change:
    person_account_id: int
    change: str
    reason: str


def apply(unit_id: int, items: list[Change], month: YearMonth, who: Who) -> dict:
    """确定封存 / 确定启封: every change, or none. Returns counts per change."""
    counts = {SEAL: 0, UNSEAL: 0}
    events, records = [], []
    for item in items:
        required, result, _ = RULES[item.change]
        moved = db.session.execute(
            update(PersonAccount).where(PersonAccount.id == item.person_account_id,
                                        PersonAccount.unit_id == unit_id,
                                        PersonAccount.status == required)
            .values(status=result).execution_options(synchronize_session=False)).rowcount
        if not moved:
            number = db.session.execute(select(PersonAccount.account_no).where(
                PersonAccount.id == item.person_account_id)).scalar()
            raise BusinessRuleViolation(
                f"个人账号 {number} 的状态已不是{PERSON_STATUSES[required]}，"
                f"不能{RULES[item.change][2]}，请删除该行后再办理")
        events.append(AccountEvent(
            unit_id=unit_id, person_account_id=item.person_account_id, change=item.change,
            reason=item.reason, from_status=required, to_status=result, month=month,
            actor=who.actor, actor_name=who.actor_name, instance_id=who.instance_id))
        records += changes.change_rows(
            unit_id=unit_id, subject="person", person_account_id=item.person_account_id,
            changes=[("status", "个人账户状态", PERSON_STATUSES[required],
                      PERSON_STATUSES[result])], who=who)
        counts[item.change] += 1
    try:
        with db.session.begin_nested():
            db.session.add_all(events)
            db.session.flush()
    except IntegrityError:
        raise BusinessRuleViolation(
            "清册中有职工本月已办理过封存或启封（每人每月只能办理一次），未做任何更改") from None
    changes.record(records)
    return counts


def change_one(account_id: int, change: str, month: YearMonth, reason: str, who: Who) -> None:
    """One person's 封存 or 启封 from `month`, with its checks (a script or a test)."""
    account = db.session.get(PersonAccount, account_id)
    found = problem(change, account.status, get_unit(account.unit_id).account.status, month,
                    changed_in([account_id], month).get(account_id))
    if found:
        raise BusinessRuleViolation(found)
    apply(account.unit_id, [Change(account_id, change, reason)], month, who)
    db.session.expire(account)
