"""补缴 (manual ch.6) rules, written once for the row check and the submission check, and
the 应缴 an approved back pay becomes.

- 补缴年月: not earlier than `policy.back_pay_months` months before the latest remitted
  month (缴至年月), not later than it.
- The person must have been 正常 in that month: their status then is the one the latest
  account event on or before the month left them in (or, before any event, the status the
  first later event started from; with no event at all, today's status), from their first
  month on.
- 漏缴 (missed) only for a month the person was left out of: not one on that month's
  standing 汇缴核定 (they are paid, or due, with it: an underpayment is 少缴), nor one an
  approved 漏缴 already made up (it would be paid twice).
- 补缴金额 above zero and at most one person-month's most (the policy's base ceiling at
  its top rates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, or_, select

from .db import db, one_of, utcnow
from .direct_sql import insert_rows
from .models import AccountEvent, Payable, PayableLine, PersonAccount
from .models.money import BACK_PAY, REMIT, UNPAID
from .models.person import ACTIVE, PERSON_STATUSES
from .money import ZERO, fmt, parse_money
from .months import YearMonth
from .policy import Policy


@dataclass(frozen=True)
class Window:
    first: YearMonth
    last: YearMonth

    def months(self) -> list[YearMonth]:
        return self.first.until(self.last)

    def text(self) -> str:
        return f"{self.first} 至 {self.last}"


def window(paid_through: YearMonth | None, policy: Policy) -> Window | None:
    """The months a back pay may make up now, or None for a unit that never remitted."""
    if paid_through is None:
        return None
    return Window(paid_through - policy.back_pay_months, paid_through)


def month_problem(month: YearMonth, allowed: Window | None) -> str | None:
    if allowed is None:
        return "本单位尚未汇缴过，不能办理补缴"
    if allowed.first <= month <= allowed.last:
        return None
    return (f"补缴年月须在 {allowed.text()} 之间"
            "（不早于最近一次汇缴前 3 个月，不晚于最近一次汇缴的月份）")


@dataclass(frozen=True)
class History:
    """What deciding a person's status in a past month needs."""

    status: str
    first_month: YearMonth
    #: (month, from_status, to_status) in order.
    events: tuple[tuple[YearMonth, str | None, str], ...]

    def status_in(self, month: YearMonth) -> str | None:
        """The account's status in `month` (None before it was opened)."""
        if month < self.first_month:
            return None
        before = [e for e in self.events if e[0] <= month]
        if before:
            return before[-1][2]
        after = [e for e in self.events if e[0] > month and e[1]]
        return after[0][1] if after else self.status


def histories(account_ids: list[int]) -> dict[int, History]:
    """Status histories of accounts, in a few queries."""
    ids = set(account_ids)
    accounts = db.session.execute(select(PersonAccount.id, PersonAccount.status,
                                         PersonAccount.first_month)
                                  .where(one_of(PersonAccount.id, ids))).all()
    events: dict[int, list] = {}
    for account_id, month, old, new in db.session.execute(
            select(AccountEvent.person_account_id, AccountEvent.month,
                   AccountEvent.from_status, AccountEvent.to_status)
            .where(one_of(AccountEvent.person_account_id, ids))
            .order_by(AccountEvent.month, AccountEvent.id)).all():
        events.setdefault(account_id, []).append((month, old, new))
    return {account_id: History(status, first_month, tuple(events.get(account_id, ())))
            for account_id, status, first_month in accounts}


def status_problem(history: History | None, month: YearMonth) -> str | None:
    status = history.status_in(month) if history else None
    if status == ACTIVE:
        return None
    if status is None:
        return f"该职工 {month} 尚未开户，不能补缴该月"
    return (f"该职工 {month} 的账户状态为「{PERSON_STATUSES.get(status, status)}」，"
            "只能补缴其状态正常的月份")


#: 补缴原因 01 漏缴 (DOMAIN.md's code list).
MISSED = "01"


def covered_months(account_ids: list[int], allowed: Window | None, instance_id: int | None
                   ) -> dict[tuple[int, YearMonth], str]:
    """(account, month) within the window that a 漏缴 may not make up, with what covers it:
    REMIT (on the month's standing 汇缴核定) or BACK_PAY (an approved 漏缴 of another
    application than `instance_id`: a dry run replays an approved one against its own)."""
    if not account_ids or allowed is None:
        return {}
    rows = db.session.execute(
        select(PayableLine.person_account_id, PayableLine.month, Payable.kind)
        .join(Payable, Payable.id == PayableLine.payable_id)
        .where(one_of(PayableLine.person_account_id, set(account_ids)),
               PayableLine.month >= allowed.first, Payable.active.is_(True),
               or_(Payable.kind == REMIT, and_(PayableLine.reason == MISSED,
                                               Payable.instance_id != (instance_id or 0))))
    ).all()
    return {(account_id, month): kind for account_id, month, kind in rows}


def missed_problem(covered: dict[tuple[int, YearMonth], str], account_id: int,
                   month: YearMonth) -> str | None:
    kind = covered.get((account_id, month))
    if kind == REMIT:
        return (f"该职工 {month} 已在当月汇缴中缴存，不属于漏缴；"
                "缴存额不足请选择补缴原因「02 少缴」")
    if kind == BACK_PAY:
        return f"该职工 {month} 的漏缴已补缴过，不能重复补缴"
    return None


def check_amount(text: object, policy: Policy) -> Decimal:
    amount = parse_money(text, "补缴金额")
    if amount <= 0:
        raise ValueError("补缴金额须大于 0")
    most = policy.max_monthly_amount
    if amount > most:
        raise ValueError(f"补缴金额 {fmt(amount)} 超过一个月可缴存的上限 {fmt(most)} 元"
                         "（缴存基数上限 × 单位和个人缴存比例上限）")
    return amount


def reason_label(code: str, policy: Policy) -> str:
    return dict(policy.back_pay_reasons).get(code, code)


@dataclass(frozen=True)
class Line:
    person_account_id: int
    month: YearMonth
    reason: str
    amount: Decimal


def create_payable(unit_id: int, instance_id: int, lines: list[Line], policy: Policy,
                   actor: str, actor_name: str, day: date) -> Payable:
    """审批通过: the back pay becomes an 应缴 with a line per person-month; paid and
    allocated like a remittance (ledger type 补缴)."""
    amount = sum((line.amount for line in lines), ZERO)
    payable = Payable(unit_id=unit_id, kind=BACK_PAY, month=max(line.month for line in lines),
                      instance_id=instance_id, head_count=len({li.person_account_id
                                                              for li in lines}),
                      amount=amount, unit_amount=ZERO, person_amount=ZERO, status=UNPAID,
                      active=True, created_on=day, actor=actor, actor_name=actor_name,
                      reconciliation_json="{}", created_at=utcnow())
    db.session.add(payable)
    db.session.flush()
    insert_rows(PayableLine, [
        {"payable_id": payable.id, "person_account_id": line.person_account_id,
         "month": line.month, "base": None, "unit_amount": None, "person_amount": None,
         "amount": line.amount, "reason": line.reason,
         "summary": f"{line.month} 补缴（{reason_label(line.reason, policy)}）"}
        for line in lines])
    return payable


def payable_of(instance_id: int) -> Payable | None:
    return db.session.execute(select(Payable).where(
        Payable.instance_id == instance_id, Payable.kind == BACK_PAY)).scalar_one_or_none()
