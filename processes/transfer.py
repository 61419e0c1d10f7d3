"""缴存人单位调整 handlers: 【提交审批】 checks every 清册 row again (the rules of the row
check, services.transfer); on approval the accounts and their balances move."""

from __future__ import annotations

from forms.manifest_spec import build_context
from forms.transfer import MANIFEST
from services import manifest_rows, persons, transfer
from services.changes import Who
from services.errors import BusinessRuleViolation, InvalidInput
from services.units import get_unit

from . import Business, handler, register_business
from .context import HandlerContext

KEY = "transfer"


def initial_data(ctx: HandlerContext) -> dict:
    unit = get_unit(ctx.unit_id)
    return {"unit_account": unit.account.account_no, "unit_name": unit.name}


def summary(totals: manifest_rows.Totals) -> dict:
    return {"rows": totals.count}


def start_data(ctx: HandlerContext, data: dict) -> dict:
    """INTERFACES: a start may name the transferring-out unit, `{"from_unit_account"}`;
    rows added without their own 转出单位账号 are then about that unit."""
    unknown = set(data) - {"from_unit_account"}
    if unknown:
        raise InvalidInput("发起时只能指定转出单位账号",
                           {k: ["不允许的字段"] for k in sorted(unknown)})
    number = str(data.get("from_unit_account") or "").strip()
    if not number:
        return {}
    unit = transfer.find_unit(number)
    if problem := transfer.unit_problem(unit, ctx.unit_id):
        raise InvalidInput(problem, {"from_unit_account": [problem]})
    return {"from_unit_account": unit.account_no, "from_unit_name": unit.name}


BUSINESS = register_business(Business(key=KEY, name="缴存人单位调整", initial_data=initial_data,
                                      summary=summary, start_data=start_data))


def _checked_rows(ctx: HandlerContext, approving: bool = False) -> list[manifest_rows.Row]:
    """Every row, each still allowed; any that is not refuses the whole 清册, told as the
    one acting can act on it (the unit deletes the row; the reviewer returns it)."""
    rows = list(manifest_rows.stream(ctx.instance_id))
    if not rows:
        raise BusinessRuleViolation("清册为空，请先录入需要调入本单位的职工")
    check = build_context(MANIFEST, ctx.unit_id, ctx.instance_id)
    accounts = persons.refs_by_ids([r.person_account_id for r in rows])
    active = transfer.active_elsewhere([a.person_id for a in accounts.values()])
    owed = transfer.owed_in_unit(list(accounts))
    units: dict = {}
    errors = []
    for row in rows:
        number = row.values["from_unit_account"]
        if number not in units:
            units[number] = transfer.find_unit(number)
        problem = transfer.unit_problem(units[number], check.unit_id) or transfer.person_problem(
            accounts.get(row.person_account_id), units[number], active, owed)
        if problem:
            errors.append({"row": row.position, "column": "个人账号",
                           "message": f"{row.values['name']}：{problem}"})
    if errors:
        then = "不能审批通过，请退回单位修改" if approving else "请删除后再提交"
        raise BusinessRuleViolation(f"清册中有 {len(errors)} 行已不能调整单位，{then}", errors)
    return rows


@handler("transfer.validate_manifest")
def validate_manifest(ctx: HandlerContext, data: dict) -> dict:
    return {"rows": len(_checked_rows(ctx))}


@handler("transfer.approve")
def approve(ctx: HandlerContext, data: dict) -> dict:
    """审批通过: the checks again, then every account moves with its balance."""
    rows = _checked_rows(ctx, approving=True)
    units = {r.values["from_unit_account"]: None for r in rows}
    ids = {number: transfer.find_unit(number).id for number in units}
    who = Who(ctx.initiator, ctx.initiator_name, "缴存人单位调整", ctx.instance_id)
    return transfer.approve(ctx.unit_id, [
        transfer.Move(r.person_account_id, ids[r.values["from_unit_account"]]) for r in rows], who)
