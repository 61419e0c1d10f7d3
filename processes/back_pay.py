"""补缴 handlers: check the 清册 on 【完成办理】, make the approved back pay an 应缴, and
allocate it when its payment arrives (ledger type 补缴)."""

from __future__ import annotations

from decimal import Decimal

from forms.back_pay import MANIFEST
from forms.manifest_spec import build_context
from services import back_pay, clock, manifest_rows, persons
from services.db import defer
from services.errors import BusinessRuleViolation
from services.months import YearMonth
from services.units import get_unit

from . import Business, handler, register_business
from .context import HandlerContext
from .remittance import allocate_waiting

KEY = "back_pay"


def initial_data(ctx: HandlerContext) -> dict:
    unit = get_unit(ctx.unit_id)
    window = back_pay.window(unit.account.paid_through, unit.policy)
    return {"unit_account": unit.account.account_no, "unit_name": unit.name,
            "window": window.text() if window else "本单位尚未汇缴，暂不能补缴"}


def summary(totals: manifest_rows.Totals) -> dict:
    return {"rows": totals.count, "amount": str(totals.amount)}


def refuse_end(instance_id: int) -> str | None:
    """Once approved, a 补缴 is an 应缴 the unit owes: the application stays until paid."""
    if back_pay.payable_of(instance_id) is not None:
        return "该补缴已审核通过，应缴金额已生成，不能结束流程：请打印补缴书并按其金额缴款"
    return None


BUSINESS = register_business(Business(key=KEY, name="补缴", single_open=True,
                                      initial_data=initial_data, summary=summary,
                                      refuse_end=refuse_end))



def _row_problems(ctx: HandlerContext, check, batch: list[manifest_rows.Row]) -> list[dict]:
    """The rows of `batch` no longer payable back today, as (row, column, message): the
    rules single entry applied (in this unit, within the window, a month the person was
    正常 in), asked again since the world may have moved (a month paid, a transfer)."""
    accounts = persons.refs_by_ids([r.person_account_id for r in batch])
    history = back_pay.histories(list(accounts))
    window = check.extra["window"]
    covered = back_pay.covered_months(list(accounts), window, ctx.instance_id)
    errors = []
    for row in batch:
        month = YearMonth.parse(row.values["month"])
        account = accounts.get(row.person_account_id)
        if account is None or account.unit_id != ctx.unit_id:
            problem, column = "已不在本单位，请删除该行", "个人账号"
        else:
            problem = back_pay.month_problem(month, window) or \
                back_pay.status_problem(history.get(account.id), month)
            column = "补缴年月"
            if problem is None and row.values["reason"] == back_pay.MISSED:
                problem, column = back_pay.missed_problem(covered, account.id, month), "补缴原因"
        if problem:
            errors.append({"row": row.position, "column": column,
                           "message": f"{row.values['name']}：{problem}"})
    return errors


@handler("back_pay.validate_manifest")
def validate_manifest(ctx: HandlerContext, data: dict) -> dict:
    """【完成办理】: the 清册 holds rows, each still within the window and for a month the
    person was 正常 in (the same rules as when it was entered)."""
    check = build_context(MANIFEST, ctx.unit_id, ctx.instance_id, today=clock.today())
    errors = []
    for batch in manifest_rows.batches(ctx.instance_id):
        errors += _row_problems(ctx, check, batch)
    totals = manifest_rows.aggregate(ctx.instance_id)
    if not totals.count:
        raise BusinessRuleViolation("补缴清册为空，请先录入需要补缴的职工再完成办理")
    if errors:
        raise BusinessRuleViolation(f"清册中有 {len(errors)} 行已不能补缴，请修改后再提交", errors)
    return summary(totals)


@handler("back_pay.approve")
def approve(ctx: HandlerContext, data: dict) -> dict:
    """审批通过: the back pay becomes an 应缴, owed until paid. Every row is checked again
    first: a month that left the window (a later month was paid meanwhile) or a person
    moved to another unit refuses the approval (the reviewer returns it to the unit)."""
    unit = get_unit(ctx.unit_id)
    check = build_context(MANIFEST, ctx.unit_id, ctx.instance_id, today=clock.today())
    lines, errors = [], []
    for batch in manifest_rows.batches(ctx.instance_id):
        errors += _row_problems(ctx, check, batch)
        lines += [back_pay.Line(row.person_account_id, YearMonth.parse(row.values["month"]),
                                row.values["reason"], Decimal(row.values["amount"]))
                  for row in batch]
    if errors:
        raise BusinessRuleViolation(
            f"提交后情况已有变化，清册中有 {len(errors)} 行已不能补缴，不能审批通过，"
            "请退回单位修改", errors)
    defer(back_pay.create_payable, ctx.unit_id, ctx.instance_id, lines, unit.policy,
          ctx.initiator, ctx.initiator_name, clock.today())
    amount = sum((line.amount for line in lines), Decimal("0.00"))
    return {"rows": len(lines), "persons": len({li.person_account_id for li in lines}),
            "amount": f"{amount:,.2f}"}


@handler("back_pay.allocate")
def allocate(ctx: HandlerContext, data: dict) -> dict:
    return allocate_waiting(ctx, data, "补缴")
