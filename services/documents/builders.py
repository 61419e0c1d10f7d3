"""Data builders: one function per print point whose business exists, filling a
`Document` with the keys its layout names, from the stored data and for one unit only.

A business that adds a print point writes its builder like these (or beside its own
code) and registers the print point in web/printing.py; the layout is in layouts.py.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import ledger, manifest_rows, person_query, status_query
from ..db import db
from ..errors import NotFound
from ..models import BIZ_TYPES, PersonAccount, UnitAccount
from ..models.account_event import CHANGES
from ..models.person import PERSON_STATUSES
from ..money import ZERO
from ..units import get_unit
from .model import Document, beijing


def _document(kind: str, unit_id: int, day: date, **values) -> Document:
    unit = get_unit(unit_id)
    account = db.session.execute(select(UnitAccount.account_no).where(
        UnitAccount.unit_id == unit_id)).scalar() or ""
    return Document(kind=kind, unit_id=unit_id, unit_name=unit.name, unit_account=account,
                    date=day, **values)


def filters_text(filters: person_query.Filters, date_label: str) -> str:
    """The query's filters as the paper states them, so a filtered list says so."""
    parts = []
    if filters.status:
        parts.append(f"账户状态：{PERSON_STATUSES.get(filters.status, filters.status)}")
    return _with_range_and_search(parts, filters, date_label)


def _with_range_and_search(parts: list[str], filters, date_label: str) -> str:
    """The filters every person query has (a date range, a search text) after its own."""
    if filters.since or filters.until:
        parts.append(f"{date_label}：{filters.since or '不限'} 至 {filters.until or '不限'}")
    if filters.q.strip():
        parts.append(f"个人账号、姓名或证件号码含“{filters.q.strip()}”")
    return "；".join(parts) or "全部"


def person_accounts(unit_id: int, filters: person_query.Filters, day: date) -> Document:
    """7.1 缴存人账户信息: every account the query page's filters match."""
    rows, _ = person_query.accounts(unit_id, filters, per_page=0)
    return _document(
        "person_accounts", unit_id, day, fields={"filters": filters_text(filters, "开户日期")},
        rows=rows, totals={
            "count": len(rows),
            "monthly_total": sum((r["monthly_amount"] for r in rows), ZERO),
            "balance_total": sum((r["balance"] for r in rows), ZERO)})


def person_statement(unit_id: int, person_account: str, day: date) -> Document:
    """7.1 one depositor's account and its ledger rows in this unit with the running
    balance (a person transferred in starts with the 转移 row in: the rows booked in the
    unit they left are that unit's)."""
    account = db.session.execute(
        select(PersonAccount).options(joinedload(PersonAccount.person))
        .where(PersonAccount.unit_id == unit_id, PersonAccount.account_no == person_account)
    ).scalar_one_or_none()
    if account is None:
        raise NotFound("本单位没有该个人账号")
    booked = ledger.PERSON_ROWS
    entries = db.session.execute(
        select(booked).where(booked.c.person_account_id == account.id,
                             booked.c.unit_id == unit_id)
        .order_by(booked.c.booked_on, booked.c.created_at, booked.c.serial_no, booked.c.month))
    rows, balance = [], ZERO
    for entry in entries:
        balance += entry.amount + entry.interest
        rows.append({"booked_on": entry.booked_on, "serial_no": entry.serial_no,
                     "biz_type": BIZ_TYPES.get(entry.biz_type, entry.biz_type),
                     "summary": entry.summary, "amount": entry.amount,
                     "interest": entry.interest, "balance": balance})
    person = account.person
    fields = {"person_account": account.account_no, "name": person.name,
              "id_number": person.id_number, "status_name": account.status_name,
              "opened_on": account.opened_on, "paid_through": account.paid_through,
              "base": account.base, "monthly_amount": account.monthly_amount,
              "unit_rate": get_unit(unit_id).account.unit_rate, "person_rate": account.person_rate}
    return _document("person_statement", unit_id, day, fields=fields, rows=rows, totals={
        "count": len(rows), "amount_total": sum((r["amount"] for r in rows), ZERO),
        "interest_total": sum((r["interest"] for r in rows), ZERO), "balance": balance})


def person_changes(unit_id: int, filters: person_query.Filters, day: date) -> Document:
    """7.2 客户信息变更 records matching the query page's filters, newest first."""
    rows, _ = person_query.changes(unit_id, filters, per_page=0)
    return _document(
        "person_changes", unit_id, day, fields={"filters": filters_text(filters, "变更日期")},
        rows=rows, totals={"count": len(rows),
                           "persons": len({r["person_account"] for r in rows})})


def status_filters_text(filters: status_query.Filters) -> str:
    """The 7.3 query's filters as the paper states them."""
    parts = []
    if filters.change:
        parts.append(f"变更类型：{CHANGES[filters.change]}")
    return _with_range_and_search(parts, filters, "变更日期")


def person_status_changes(unit_id: int, filters: status_query.Filters, day: date) -> Document:
    """7.3 账户状态变更 records matching the query page's filters, newest first."""
    rows, _ = status_query.events(unit_id, filters, per_page=0)
    return _document(
        "person_status_changes", unit_id, day, fields={"filters": status_filters_text(filters)},
        rows=rows, totals={
            "count": len(rows),
            "sealed": len({r["person_account"] for r in rows if r["change"] == "seal"}),
            "unsealed": len({r["person_account"] for r in rows if r["change"] == "unseal"})})


def base_adjustment_notice(unit_id: int, instance_id: int, *, initiator: str,
                           submitted_at: datetime | None, reviewer: str, reviewed_at: datetime,
                           decision: str, opinion: str) -> Document:
    """The approval notice of a finished 基数调整: the decision and the approved 清册.
    Its date is the day of the decision, so it prints the same whenever it is printed."""
    rows = [row.values for row in manifest_rows.stream(instance_id)]
    totals = manifest_rows.aggregate(instance_id)
    old_total, new_total = totals.amount_before, totals.amount
    fields = {"instance": f"#{instance_id}", "initiator": initiator,
              "submitted_at": submitted_at, "decision": decision, "reviewer": reviewer,
              "reviewed_at": reviewed_at, "opinion": opinion or "无"}
    return _document("base_adjustment_notice", unit_id, beijing(reviewed_at).date(),
                     fields=fields, rows=rows, instance_id=instance_id, totals={
                         "count": len(rows), "old_total": old_total, "new_total": new_total,
                         "difference": new_total - old_total})


def unit_changes(unit_id: int, day: date, since: date | None = None, until: date | None = None,
                 instance_id: int | None = None) -> Document:
    """8.1 单位信息变更 records as queried, or those one application made (ch.3 “完成办理，
    是否打印？”)."""
    from ..change_query import unit_changes as query

    rows, _ = query(unit_id, since, until, per_page=0, instance_id=instance_id)
    if instance_id is not None:
        condition = f"申请号 {instance_id}" + ("" if rows else "（变更尚未生效）")
    elif since or until:
        condition = f"变更日期：{since or '不限'} 至 {until or '不限'}"
    else:
        condition = "全部"
    return _document("unit_changes", unit_id, day, fields={"filters": condition}, rows=rows,
                     totals={"count": len(rows)}, instance_id=instance_id)
