"""缴存人状态变更 handlers: 【确定封存/启封】 checks every 清册 row again (the rules of the
row check, services.status_change) and applies them all in the same transaction."""

from __future__ import annotations

from forms.manifest_spec import build_context, chosen_rows
from forms.status_change import MANIFEST
from services import clock, manifest_rows, persons, status_change
from services.changes import Who
from services.errors import BusinessRuleViolation
from services.units import get_unit

from . import Business, handler, register_business
from .context import HandlerContext

KEY = "status_change"


def initial_data(ctx: HandlerContext) -> dict:
    unit = get_unit(ctx.unit_id)
    return {"unit_account": unit.account.account_no, "unit_name": unit.name,
            "month": str(status_change.effective_month(ctx.unit_id))}


def summary(totals: manifest_rows.Totals) -> dict:
    return {"rows": totals.count}


BUSINESS = register_business(Business(key=KEY, name="缴存人状态变更", single_open=True,
                                      initial_data=initial_data, summary=summary))


@handler("status_change.apply")
def apply(ctx: HandlerContext, data: dict) -> dict:
    """确定封存 / 确定启封: the ticked rows (all, unless the unit unticked some), each
    still allowed, then every change at once."""
    check = build_context(MANIFEST, ctx.unit_id, ctx.instance_id, today=clock.today())
    month = check.extra["month"]
    rows = list(manifest_rows.stream(ctx.instance_id))
    if not rows:
        raise BusinessRuleViolation("清册为空，请先录入需要封存或启封的职工")
    rows = chosen_rows(rows, data)
    if not rows:
        raise BusinessRuleViolation("请在清册中勾选需要办理封存或启封的职工")
    accounts = persons.refs_by_ids([r.person_account_id for r in rows])
    changed = status_change.changed_in(list(accounts), month)
    errors = []
    for row in rows:
        account = accounts.get(row.person_account_id)
        if account is None or account.unit_id != ctx.unit_id:
            problem = "已不在本单位，请删除该行"
        else:
            problem = status_change.problem(row.values["change"], account.status,
                                            check.unit_status, month, changed.get(account.id))
        if problem:
            errors.append({"row": row.position, "column": "个人账号",
                           "message": f"{row.values['name']}：{problem}"})
    if errors:
        raise BusinessRuleViolation(f"清册中有 {len(errors)} 行已不能办理，请删除后再确定", errors)
    who = Who(ctx.initiator, ctx.initiator_name, "缴存人状态变更", ctx.instance_id)
    counts = status_change.apply(ctx.unit_id, [
        status_change.Change(r.person_account_id, r.values["change"], r.values["reason"])
        for r in rows], month, who)
    return {"sealed": counts[status_change.SEAL], "unsealed": counts[status_change.UNSEAL],
            "month": str(month)}
