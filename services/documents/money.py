"""Data builders of the money print points: 汇补缴书 (5.2), 补缴书 and its 凭条 (ch.6),
业务流水 and its 明细 (8.3), 缴费凭条 (8.3.3). Each fills its layout's keys from stored
data, for one unit only; a document's date is the day its content was fixed (verified,
decided, submitted, received) where it has one, so a reprint is the same paper."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import select

from .. import back_pay, manifest_rows, remittance, unit_query
from ..db import db
from ..errors import BusinessRuleViolation, NotFound
from ..models import Payable, Payment, Unit
from ..models.money import BACK_PAY, UNPAID
from ..money import ZERO
from ..months import YearMonth
from ..payments import METHODS
from .builders import _document
from .model import Document, beijing


def _payee(unit_id: int) -> dict:
    unit = db.session.get(Unit, unit_id)
    policy = unit.policy
    return {"payee": f"{unit.city.centre_name}（{policy.collection_bank}）",
            "payee_account": policy.collection_account}


def remittance_notice(unit_id: int, month: YearMonth) -> Document:
    """汇补缴书 of a verified month, with its reconciliation and its persons: a notice to
    pay, so not once the month is paid (its 缴费凭条 is the record then)."""
    payable = remittance.month_payable(unit_id, month)
    if payable is None:
        raise NotFound(f"没有 {month} 的汇缴核定记录")
    if payable.status != UNPAID:
        raise BusinessRuleViolation(f"{month} 的汇缴已于 {payable.allocated_on} 缴款分配，不再打印"
                                    "汇补缴书（请勿重复缴款）；缴款记录请在业务流水中打印缴费凭条")
    rows, _ = remittance.lines(payable.id, per_page=0)
    unit = db.session.get(Unit, unit_id)
    fields = {"month": payable.month, "unit_rate": unit.account.unit_rate, **_payee(unit_id),
              "last_count": payable.prev_count, "last_amount": payable.prev_amount,
              "added_count": payable.added_count, "added_amount": payable.added_amount,
              "removed_count": payable.removed_count, "removed_amount": payable.removed_amount}
    return _document("remittance_notice", unit_id, payable.created_on, fields=fields, rows=rows,
                     instance_id=payable.instance_id, totals={
                         "count": payable.head_count, "unit_total": payable.unit_amount,
                         "person_total": payable.person_amount, "amount": payable.amount,
                         "amount_words": payable.amount})


def _back_pay_rows(instance_id: int, unit: Unit) -> list[dict]:
    rows = []
    for row in manifest_rows.stream(instance_id):
        values = row.values
        rows.append({"person_account": values["person_account"], "name": values["name"],
                     "id_number": values["id_number"], "month": YearMonth.parse(values["month"]),
                     "reason": back_pay.reason_label(values["reason"], unit.policy),
                     "amount": row.amount})
    return rows


def back_pay_notice(unit_id: int, instance_id: int, reviewer: str, reviewed_at: datetime
                    ) -> Document:
    """补缴书 of an approved back pay: what is owed, person by person month."""
    payable = db.session.execute(select(Payable).where(
        Payable.instance_id == instance_id, Payable.kind == BACK_PAY,
        Payable.unit_id == unit_id)).scalar_one_or_none()
    if payable is None:
        raise NotFound("该补缴尚未审核通过，还没有补缴书")
    unit = db.session.get(Unit, unit_id)
    rows = _back_pay_rows(instance_id, unit)
    return _document("back_pay_notice", unit_id, beijing(reviewed_at).date(),
                     instance_id=instance_id, rows=rows,
                     fields={"instance": f"#{instance_id}", "reviewer": reviewer,
                             **_payee(unit_id)},
                     totals={"persons": payable.head_count, "count": len(rows),
                             "amount": payable.amount, "amount_words": payable.amount})


def back_pay_receipt(unit_id: int, instance_id: int, operator: str, submitted_at: datetime
                     ) -> Document:
    """凭条 of a back pay submitted for approval (“提交审批完成，是否打印凭条？”)."""
    unit = db.session.get(Unit, unit_id)
    rows = _back_pay_rows(instance_id, unit)
    amount = sum((r["amount"] for r in rows), ZERO)
    months = "、".join(str(m) for m in sorted({r["month"] for r in rows}))
    return _document("back_pay_receipt", unit_id, beijing(submitted_at).date(),
                     instance_id=instance_id,
                     fields={"instance": f"#{instance_id}", "business": "补缴",
                             "submitted_at": submitted_at, "operator": operator,
                             "months": months},
                     totals={"persons": len({r["person_account"] for r in rows}),
                             "amount": amount, "amount_words": amount})


def _ledger_rows(unit_id: int, biz_type: str | None, since: date | None,
                 until: date | None) -> list[dict]:
    rows, _ = unit_query.ledger_rows(unit_id, biz_type, since, until, per_page=0)
    for row in rows:
        row["biz_type_code"], row["biz_type"] = row["biz_type"], row["biz_type_name"]
    return rows


def unit_account(unit_id: int, since: date, until: date, day: date) -> Document:
    """8.2 打印: 账户信息 for the dates queried and the period's 业务流水."""
    info = unit_query.account_info(unit_id, since, until)
    rows = _ledger_rows(unit_id, None, since, until)
    return _document("unit_account", unit_id, day, rows=rows, totals={"count": len(rows)},
                     fields={"period": f"{since} 至 {until}", "opening": info.opening,
                             "increase": info.increase, "decrease": info.decrease,
                             "closing": info.closing, "unallocated": info.unallocated})


def ledger(unit_id: int, biz_type: str | None, since: date | None, until: date | None,
           day: date) -> Document:
    """业务流水 as the query page lists it."""
    rows = _ledger_rows(unit_id, biz_type, since, until)
    parts = [f"业务类型：{unit_query.BIZ_TYPES[biz_type]}" if biz_type else "业务类型：全部"]
    if since or until:
        parts.append(f"记账日期：{since or '不限'} 至 {until or '不限'}")
    # One 业务类型: its rows add up. All of them: a month's money appears as its 核定, its
    # 缴款 and its 汇缴, so only the rows that move the 账户余额 are added (once each).
    summed = rows if biz_type else [r for r in rows if r["biz_type_code"] in unit_query.BALANCE_MOVES]
    if not biz_type:
        names = "、".join(unit_query.BIZ_TYPES[t] for t in unit_query.BALANCE_MOVES)
        parts.append(f"发生额合计为改变账户余额的业务（{names}）之和")
    return _document("ledger", unit_id, day, fields={"filters": "；".join(parts)}, rows=rows,
                     totals={"count": len(rows),
                             "amount_total": sum((r["amount"] for r in summed), ZERO),
                             "interest_total": sum((r["interest"] for r in summed), ZERO)})


def ledger_details(unit_id: int, serial_no: str, day: date) -> Document:
    """明细 of one 业务流水, person by person."""
    entry, rows, _ = unit_query.details(unit_id, serial_no, per_page=0)
    head = unit_query.row_dict(entry)
    return _document("ledger_details", unit_id, day, rows=rows,
                     fields={"serial_no": entry.serial_no, "booked_on": entry.booked_on,
                             "biz_type": head["biz_type_name"], "summary": entry.summary},
                     totals={"count": len(rows),
                             "amount_total": sum((r["amount"] for r in rows), ZERO),
                             "interest_total": sum((r["interest"] for r in rows), ZERO)})


def payment_receipt(unit_id: int, serial_no: str) -> Document:
    """缴费凭条 of one payment received (its 业务流水号), sealed by the centre."""
    payment = db.session.execute(select(Payment).where(
        Payment.unit_id == unit_id, Payment.serial_no == serial_no[:20])).scalar_one_or_none()
    if payment is None:
        raise NotFound("本单位没有该笔缴款")
    paid = json.loads(payment.result_json or "{}").get("allocated") or []
    months = [YearMonth.parse(p["month"]) for p in paid if p.get("kind") == "remit"]
    summary = "、".join(f"{p['month']} {p['kind_name']}" for p in paid) or "计入单位未分配金额"
    return _document("payment_receipt", unit_id, payment.received_on, fields={
        "serial_no": payment.serial_no, "method": METHODS.get(payment.method, payment.method),
        "month": max(months) if months else None, "reference": payment.reference,
        "payee": _payee(unit_id)["payee"], "summary": summary},
        totals={"amount": payment.amount, "amount_words": payment.amount})

