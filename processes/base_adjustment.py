"""基数调整 handlers: check the 清册 on submission, apply it once approved."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from forms.manifest import build_context
from services import manifest
from services.changes import record_changes
from services.db import db
from services.errors import BusinessRuleViolation
from services.models import BasePeriod, PersonAccount
from services.models.person import ACTIVE
from services.money import ZERO
from services.months import YearMonth
from services.units import get_unit

from . import Business, handler, register_business
from .context import HandlerContext

KEY = "base_adjustment"


def initial_data(ctx: HandlerContext) -> dict:
    unit = get_unit(ctx.unit_id)
    return {"unit_account": unit.account.account_no, "unit_name": unit.name,
            "due_month": str(unit.account.due_month)}


def summary(instance_id: int) -> dict:
    count, total = manifest.totals(instance_id)
    old_total = sum((Decimal(r.values["old_monthly"]) for r in manifest.list_rows(
        instance_id, per_page=0)), ZERO) if count else ZERO
    return {"rows": count, "new_monthly_total": str(total), "old_monthly_total": str(old_total),
            "difference": str(total - old_total)}


BUSINESS = register_business(Business(key=KEY, name="基数调整", single_open=True,
                                      initial_data=initial_data, summary=summary))


@handler("base_adjustment.validate_manifest")
def validate_manifest(ctx: HandlerContext, data: dict) -> dict:
    """On 提交审批: the 清册 must hold rows, each still adjustable today."""
    rows = manifest.list_rows(ctx.instance_id, per_page=0)
    if not rows:
        raise BusinessRuleViolation("清册为空，请先录入需要调整基数的职工再提交审批")
    check = build_context(ctx.unit_id, None, ctx.now.date())
    accounts = {a.id: a for a in db.session.execute(select(PersonAccount).where(
        PersonAccount.id.in_([r.person_account_id for r in rows]))).scalars()}
    errors = []
    for row in rows:
        values = row.values
        account = accounts.get(row.person_account_id)
        month = YearMonth.parse(values["effective_month"])
        if account is None or account.unit_id != ctx.unit_id or account.status != ACTIVE:
            errors.append({"row": row.seq, "column": "个人账号",
                           "message": f"{values['name']}当前不是正常状态，请删除该行"})
        elif not check.due_month <= month <= check.current_month:
            errors.append({"row": row.seq, "column": "生效年月",
                           "message": f"生效年月须在 {check.due_month} 至 {check.current_month} 之间"})
    if errors:
        raise BusinessRuleViolation(f"清册中有 {len(errors)} 行已不能调整，请修改后再提交", errors)
    return summary(ctx.instance_id)


@handler("base_adjustment.apply")
def apply(ctx: HandlerContext, data: dict) -> dict:
    """审批通过: new bases and amounts from the 生效年月, with change records."""
    rows = manifest.list_rows(ctx.instance_id, per_page=0)
    accounts = {a.id: a for a in db.session.execute(select(PersonAccount).where(
        PersonAccount.id.in_([r.person_account_id for r in rows]))).scalars()}
    unit_rate = get_unit(ctx.unit_id).account.unit_rate
    periods = []
    for row in rows:
        values = row.values
        account = accounts[row.person_account_id]
        new = {"base": Decimal(values["new_base"]),
               "person_rate": Decimal(values["new_person_rate"]),
               "unit_amount": Decimal(values["new_unit_amount"]),
               "person_amount": Decimal(values["new_person_amount"])}
        record_changes(
            unit_id=ctx.unit_id, subject="person", person_account_id=account.id,
            changes=[("base", "缴存基数", account.base, new["base"]),
                     ("person_rate", "个人缴存比例", account.person_rate, new["person_rate"]),
                     ("unit_amount", "单位月缴存额", account.unit_amount, new["unit_amount"]),
                     ("person_amount", "个人月缴存额", account.person_amount,
                      new["person_amount"])],
            actor=ctx.actor, actor_name=ctx.actor_name, business="基数调整",
            instance_id=ctx.instance_id)
        for name, value in new.items():
            setattr(account, name, value)
        periods.append(BasePeriod(person_account_id=account.id,
                                  from_month=YearMonth.parse(values["effective_month"]),
                                  unit_rate=unit_rate, instance_id=ctx.instance_id, **new))
    db.session.add_all(periods)
    months = sorted({r.values["effective_month"] for r in rows})
    return {"rows": len(rows), "from_month": months[0] if months else ""}
