"""缴存人登记 handlers (manual ch.9): on 【完成办理】 check the 开户清册 again and open the
accounts. The diagram has no review (the manual has none); an analyst who adds one puts
it between `registration.validate_manifest` and `registration.open_accounts`."""

from __future__ import annotations

from forms.registration import new_account
from services import clock, manifest_rows, registration, remittance
from services.changes import Who
from services.db import defer
from services.errors import BusinessRuleViolation
from services.units import get_unit

from . import Business, handler, register_business
from .context import HandlerContext

KEY = "registration"


def initial_data(ctx: HandlerContext) -> dict:
    unit = get_unit(ctx.unit_id)
    return {"unit_account": unit.account.account_no, "unit_name": unit.name,
            "due_month": str(remittance.next_month(ctx.unit_id))}


def summary(totals: manifest_rows.Totals) -> dict:
    return {"rows": totals.count, "monthly_total": str(totals.amount)}


BUSINESS = register_business(Business(key=KEY, name="缴存人登记", initial_data=initial_data,
                                      summary=summary))



@handler("registration.validate_manifest")
def validate_manifest(ctx: HandlerContext, data: dict) -> dict:
    """【完成办理】: the 清册 holds rows, and nobody in it has been given an account since
    the row was entered (by another unit, or another registration)."""
    errors = []
    for batch in manifest_rows.batches(ctx.instance_id):
        found = registration.holders([r.values["id_number"] for r in batch])
        for row in batch:
            values = row.values
            holder = next((h for h in found.get(values["id_number"], ())
                           if h.id_type == values["id_type"]), None)
            if problem := registration.holder_problem(holder, ctx.unit_id):
                errors.append({"row": row.position, "column": "证件号码",
                               "message": f"{values['name']}：{problem}"})
    totals = manifest_rows.aggregate(ctx.instance_id)
    if not totals.count:
        raise BusinessRuleViolation("开户清册为空，请先录入需要开户的职工再完成办理")
    if errors:
        raise BusinessRuleViolation(f"清册中有 {len(errors)} 行已不能开户，请删除后再完成办理",
                                    errors)
    return summary(totals)


@handler("registration.open_accounts")
def open_accounts(ctx: HandlerContext, data: dict) -> dict:
    """开户: each row's account in 正常 from the first month 汇缴核定 has not fixed yet (the
    unit's 应汇缴年月, or the month after one verified and unpaid, which lists only the
    persons it had), with its 个人账号."""
    unit = get_unit(ctx.unit_id)
    month = remittance.next_month(ctx.unit_id)
    who = Who(ctx.initiator, ctx.initiator_name, "缴存人登记", ctx.instance_id)
    rows = [new_account(row.values, unit.account.unit_rate, unit.policy)
            for row in manifest_rows.stream(ctx.instance_id)]
    defer(registration.open_accounts, ctx.unit_id, unit.account.unit_rate, rows,
          month, who, clock.today())
    return {"rows": len(rows), "first_month": str(month)}
