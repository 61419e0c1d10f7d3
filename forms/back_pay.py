"""补缴 forms (manual ch.6): the employer's 清册 task (【完成办理】), the 待办 that prints
the approved 补缴书, and the 清册's columns and row rules (services.back_pay)."""

from __future__ import annotations

from marshmallow import validate

from services import back_pay
from services.manifest_rows import NewRow
from services.months import YearMonth
from services.persons import refs_by_account

from . import FieldSpec, TaskForm, register, register_manifest
from .fields import HallSchema, Str
from .manifest_spec import (
    ChangeType,
    Column,
    Context,
    ManifestSpec,
    Picker,
    RowError,
    checked,
    code_of,
    required,
)

RECEIPT_PROMPT = "提交审批完成，是否打印凭条？"


class EditSchema(HallSchema):
    remark = Str(load_default="", validate=validate.Length(max=200, error="经办说明不能超过 200 字"))


EDIT = register(TaskForm(
    key="back_pay.edit",
    title="完成办理",
    schema=EditSchema,
    layout=(
        FieldSpec("unit_account", "单位账号", readonly=True),
        FieldSpec("unit_name", "单位名称", readonly=True),
        FieldSpec("window", "可补缴期间", readonly=True),
        FieldSpec("remark", "经办说明", widget="textarea", max_length=200,
                  help="选填，供中心审核时参考"),
    ),
    panel="manifest",
    submit_label="完成办理",
    confirm="确定完成办理并提交中心审批吗？提交后在中心审核期间不能再修改清册。",
    extra={"done_prompt": RECEIPT_PROMPT, "done_print": "back_pay_receipt"},
))


class PrintSchema(HallSchema):
    pass


PRINT = register(TaskForm(
    key="back_pay.print",
    title="打印补缴书",
    schema=PrintSchema,
    layout=(
        FieldSpec("unit_account", "单位账号", readonly=True),
        FieldSpec("unit_name", "单位名称", readonly=True),
    ),
    panel="manifest_view",  # approved: the 清册 is what the 补缴书 prints, read-only
    submit_label="打印补缴书",
    extra={"done_prompt": "补缴业务已办理完成，请打印补缴书，并按补缴书金额缴款。",
           "done_print": "back_pay_notice"},
))


def _reasons(ctx: Context) -> list[tuple[str, str]]:
    return [tuple(pair) for pair in ctx.policy.back_pay_reasons]


def _months(ctx: Context) -> list[tuple[str, str]]:
    window = ctx.extra.get("window")
    return [(str(m), str(m)) for m in window.months()] if window else []


class BackPayManifest(ManifestSpec):
    business = "back_pay"
    title = "补缴清册"
    count_unit = "笔"  # a row is a person-month: one person may be owed several
    columns = (
        Column("person_account", "个人账号", kind="code", required=True, width=18,
               note="12 位数字，末位为校验位"),
        Column("name", "姓名", kind="text", width=12, note="选填；填写时须与个人账号一致",
               cross_check=True),
        Column("reason", "补缴原因", kind="code", required=True, codes=_reasons, width=16),
        Column("month", "补缴年月", kind="month", required=True, codes=_months, width=14,
               note="不早于最近一次汇缴前 3 个月，不晚于最近一次汇缴的月份"),
        Column("amount", "补缴金额", kind="money", required=True, width=14),
    )
    change_types = (ChangeType("back_pay", "补缴",
                               ("person_account", "name", "reason", "month", "amount")),)
    display = (
        ("person_account", "个人账号", "text"), ("name", "姓名", "text"),
        ("id_number", "证件号码", "text"), ("month", "补缴年月", "text"),
        ("reason_name", "补缴原因", "text"), ("amount", "补缴金额", "money"),
    )
    picker = Picker(params=(), showback=(
        ("name", "姓名", "text"), ("id_number", "证件号码", "text"),
        ("status_name", "账户状态", "text"), ("monthly_amount", "当前月缴存额", "money")),
        empty="本单位没有符合条件的职工")
    added_text = "录入成功：{name} {month} 补缴金额 {amount} 元"
    in_this_manifest = "该职工该月的补缴已在清册中，如需修改请先删除原记录"
    in_other_application = "该职工该月已在另一笔未办结的补缴中"
    empty_text = "清册为空：请单个录入或批量导入需要补缴的职工"

    def prepare(self, ctx: Context, start_data: dict) -> None:
        ctx.extra["window"] = back_pay.window(ctx.paid_through, ctx.policy)

    def lookup(self, ctx: Context, keys: list[str]) -> dict:
        found = refs_by_account(ctx.unit_id, keys)
        ids = [r.id for r in found.values()]
        ctx.extra["histories"] = back_pay.histories(ids)
        ctx.extra["covered"] = back_pay.covered_months(ids, ctx.extra.get("window"),
                                                       ctx.instance_id)
        return found

    def check_row(self, ctx: Context, values: dict, change_type: ChangeType) -> NewRow:
        problems: dict[str, str] = {}
        account = self.own_account(ctx, values, problems)
        reason = None
        if text := required(values, "reason", "补缴原因", problems):
            reason = code_of(_reasons(ctx), text)
            if reason is None:
                problems["reason"] = "补缴原因须为：" + "、".join(
                    f"{code} {label}" for code, label in _reasons(ctx))
        month = checked(problems, "month", "补缴年月", values,
                        lambda v: YearMonth.parse(v, "补缴年月"))
        if month is not None:
            problem = back_pay.month_problem(month, ctx.extra.get("window"))
            if problem is None and account is not None:
                problem = back_pay.status_problem(ctx.extra["histories"].get(account.id), month)
            if problem:
                problems["month"] = problem
            elif reason == back_pay.MISSED and account is not None:
                if problem := back_pay.missed_problem(ctx.extra["covered"], account.id, month):
                    problems["reason"] = problem
        amount = checked(problems, "amount", "补缴金额", values,
                         lambda v: back_pay.check_amount(v, ctx.policy))
        if problems:
            raise RowError(problems)
        return NewRow(f"{account.account_no}:{month}", account.id, {
            "person_account": account.account_no, "name": account.name,
            "id_number": account.id_number, "month": str(month), "reason": reason,
            "reason_name": back_pay.reason_label(reason, ctx.policy), "amount": str(amount),
        }, amount)


MANIFEST = register_manifest(BackPayManifest())
