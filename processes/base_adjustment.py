"""基数调整 handlers: check the 清册 on submission, apply it once approved."""

from __future__ import annotations

from decimal import Decimal

from forms.base_adjustment import MANIFEST
from forms.manifest_spec import build_context
from services import manifest_rows, persons, remittance
from services.base_changes import NewBase, apply_new_bases
from services.changes import Who
from services.eligibility import effective_month_problem, no_effective_month, status_problem
from services.errors import BusinessRuleViolation
from services.models.person import ACTIVE
from services.months import YearMonth
from services.units import unit_facts

from . import Business, handler, register_business
from .context import HandlerContext

KEY = "base_adjustment"
#: Rows read at a time while checking or applying a 清册 (memory stays flat).


def initial_data(ctx: HandlerContext) -> dict:
    unit = unit_facts(ctx.unit_id)
    if problem := no_effective_month(unit.due_month, YearMonth.of(ctx.now.date()),
                                     remittance.standing_month(unit.due_month,
                                                               unit.latest_verified)):
        raise BusinessRuleViolation(problem)  # an application no row could be entered into
    return {"unit_account": unit.account_no, "unit_name": unit.name,
            "due_month": str(unit.due_month)}


def summary(totals: manifest_rows.Totals) -> dict:
    return {"rows": totals.count, "new_monthly_total": str(totals.amount),
            "old_monthly_total": str(totals.amount_before),
            "difference": str(totals.amount - totals.amount_before)}


BUSINESS = register_business(Business(key=KEY, name="基数调整", single_open=True,
                                      initial_data=initial_data, summary=summary))



def _row_problems(ctx: HandlerContext, check, batch: list[manifest_rows.Row],
                  accounts: dict) -> list[dict]:
    """The rows of `batch` no longer adjustable today, as (row, column, message): the rules
    single entry applied (in this unit, only 正常, 生效年月 within the window), asked again
    since the world may have moved (a seal, a transfer, a month paid). `accounts`: the
    rows' accounts as they are now (`persons.refs_by_ids`)."""
    errors = []
    for row in batch:
        account = accounts.get(row.person_account_id)
        month = YearMonth.parse(row.values["effective_month"])
        if account is None or account.unit_id != ctx.unit_id:
            problem, column = "已不在本单位，请删除该行", "个人账号"
        else:
            problem, column = status_problem(account.status, ACTIVE, "基数调整"), "个人账号"
        if problem is None:
            problem = effective_month_problem(month, check.due_month, check.current_month,
                                              check.extra.get("verified"))
            column = "生效年月"
        if problem:
            errors.append({"row": row.position, "column": column,
                           "message": f"{row.values['name']}：{problem}"})
    return errors


@handler("base_adjustment.validate_manifest")
def validate_manifest(ctx: HandlerContext, data: dict) -> dict:
    """On 提交审批: the 清册 must hold rows, each still adjustable today (the same rules as
    when it was entered: only 正常, 生效年月 within the window)."""
    check = build_context(MANIFEST, ctx.unit_id, ctx.instance_id, today=ctx.now.date())
    errors = []
    for batch in manifest_rows.batches(ctx.instance_id):
        errors += _row_problems(ctx, check, batch, persons.refs_by_ids(
            [r.person_account_id for r in batch]))
    totals = manifest_rows.aggregate(ctx.instance_id)
    if not totals.count:
        raise BusinessRuleViolation("清册为空，请先录入需要调整基数的职工再提交审批")
    if errors:
        raise BusinessRuleViolation(f"清册中有 {len(errors)} 行已不能调整，请修改后再提交", errors)
    return summary(totals)


@handler("base_adjustment.apply")
def apply(ctx: HandlerContext, data: dict) -> dict:
    """审批通过: new bases and amounts from the 生效年月, with change records naming the
    operator who applied. Every row is checked again first: a person sealed or moved to
    another unit, or a 生效年月 already paid, since the submission refuses the approval
    (the reviewer returns the application to the unit) and nothing is applied."""
    check = build_context(MANIFEST, ctx.unit_id, ctx.instance_id, today=ctx.now.date())
    rate = check.unit_rate
    who = Who(ctx.initiator, ctx.initiator_name, "基数调整", ctx.instance_id)
    count, first_month, errors = 0, None, []
    for batch in manifest_rows.batches(ctx.instance_id):
        accounts = persons.refs_by_ids([r.person_account_id for r in batch])
        errors += _row_problems(ctx, check, batch, accounts)
        if errors:
            continue  # only the rest of the rows' checks: nothing will be applied
        new_bases = []
        for row in batch:
            values = row.values
            month = YearMonth.parse(values["effective_month"])
            first_month = month if first_month is None else min(first_month, month)
            new_bases.append(NewBase(
                account_id=row.person_account_id, base=Decimal(values["new_base"]),
                person_rate=Decimal(values["new_person_rate"]),
                unit_amount=Decimal(values["new_unit_amount"]),
                person_amount=Decimal(values["new_person_amount"]), from_month=month))
        apply_new_bases(ctx.unit_id, rate, new_bases, who, accounts)
        count += len(batch)
    if errors:
        raise BusinessRuleViolation(
            f"提交后情况已有变化，清册中有 {len(errors)} 行已不能调整，不能审批通过，"
            "请退回单位修改", errors)
    return {"rows": count, "from_month": str(first_month) if first_month else ""}
