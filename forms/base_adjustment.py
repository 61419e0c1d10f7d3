"""基数调整 forms: the employer's 清册 task and the manifest's columns and row rules
(manual chapter 4). Only persons in 正常 may be adjusted; limits come from the policy."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import validate

from services.contribution import check_base, check_rate, split_amounts
from services.eligibility import effective_month_problem, first_effective_month, status_problem
from services.manifest_rows import NewRow
from services.models.person import ACTIVE
from services.money import parse_decimal
from services.months import YearMonth
from services.persons import PersonRef
from services.remittance import standing_month

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
)


class EditSchema(HallSchema):
    remark = Str(load_default="", validate=validate.Length(max=200, error="经办说明不能超过 200 字"))


EDIT = register(TaskForm(
    key="base_adjustment.edit",
    title="提交审批",
    schema=EditSchema,
    layout=(
        FieldSpec("unit_account", "单位账号", readonly=True),
        FieldSpec("unit_name", "单位名称", readonly=True),
        FieldSpec("due_month", "应汇缴年月", readonly=True),
        FieldSpec("remark", "经办说明", widget="textarea", max_length=200,
                  help="选填，供中心审核时参考"),
    ),
    panel="manifest",
    submit_label="提交审批",
    confirm="确定提交审批吗？提交后在中心审核期间不能再修改清册。",
))


def _months(ctx: Context) -> list[tuple[str, str]]:
    return [(str(m), str(m)) for m in _first(ctx).until(ctx.current_month)]


def _first(ctx: Context) -> YearMonth:
    return first_effective_month(ctx.due_month, ctx.extra.get("verified"))


def _rates(ctx: Context) -> list[tuple[str, str]]:
    low, high = int(ctx.policy.rate_min * 100), int(ctx.policy.rate_max * 100)
    return [(f"{p}%", f"{p}%") for p in range(low, high + 1)]


def parse_rate(text: str) -> Decimal:
    """12%, 0.12 and 12 all mean twelve per cent."""
    raw = text.strip()
    percent = raw.endswith("%")
    value = parse_decimal(raw.rstrip("%").strip(), "个人缴存比例")
    return value / 100 if percent or value > 1 else value


class BaseAdjustmentManifest(ManifestSpec):
    business = "base_adjustment"
    title = "基数调整清册"
    columns = (
        Column("person_account", "个人账号", kind="code", required=True, width=18,
               note="12 位数字，末位为校验位"),
        Column("name", "姓名", kind="text", width=12, note="选填；填写时须与个人账号一致",
               cross_check=True),
        Column("current_base", "当前缴存基数", kind="info", width=16),
        Column("new_base", "调整后缴存基数", kind="money", required=True, width=18),
        Column("new_person_rate", "调整后个人缴存比例", kind="rate", required=True,
               codes=_rates, width=20),
        Column("effective_month", "生效年月", kind="month", codes=_months, width=14,
               note="选填，默认为应汇缴年月；须不早于应汇缴年月、不晚于当前月份"),
    )
    change_types = (
        ChangeType("base", "调整缴存基数",
                   ("person_account", "name", "current_base", "new_base", "effective_month")),
        ChangeType("base_rate", "调整缴存基数及个人缴存比例",
                   ("person_account", "name", "current_base", "new_base", "new_person_rate",
                    "effective_month")),
    )
    display = (
        ("person_account", "个人账号", "text"), ("name", "姓名", "text"),
        ("id_number", "证件号码", "text"), ("old_base", "调整前基数", "money"),
        ("new_base", "调整后基数", "money"), ("old_person_rate", "调整前个人比例", "rate"),
        ("new_person_rate", "调整后个人比例", "rate"),
        ("effective_month", "生效年月", "text"), ("old_monthly", "调整前月缴存额", "money"),
        ("new_monthly", "调整后月缴存额", "money"),
    )
    picker = Picker(params=(("status", ACTIVE),), showback=(
        ("name", "姓名", "text"), ("id_number", "证件号码", "text"),
        ("base", "当前缴存基数", "money"), ("monthly_amount", "当前月缴存额", "money"),
        ("person_rate", "个人缴存比例", "rate")),
        empty="没有找到状态正常的职工（封存等状态的职工不能调整基数）")
    prefillable = True

    def prepare(self, ctx: Context, start_data: dict) -> None:
        ctx.extra["verified"] = standing_month(ctx.due_month, ctx.latest_verified)

    def prefill(self, ctx: Context) -> list[dict]:
        from services.persons import refs_of_unit

        return [{"person_account": p.account_no, "name": p.name, "current_base": p.base}
                for p in refs_of_unit(ctx.unit_id, ACTIVE)]

    def check_row(self, ctx: Context, values: dict, change_type: ChangeType) -> NewRow:
        problems: dict[str, str] = {}
        account = self._account(ctx, values, problems)
        new_base = checked(problems, "new_base", "调整后缴存基数", values,
                           lambda v: check_base(v, ctx.policy))
        month = self._month(ctx, values, problems)
        new_rate = account.person_rate if account else None
        if "new_person_rate" in change_type.columns:
            new_rate = checked(problems, "new_person_rate", "调整后个人缴存比例", values,
                               lambda v: check_rate(parse_rate(v), "个人缴存比例", ctx.policy))
        if problems:
            raise RowError(problems)
        if new_base == account.base and new_rate == account.person_rate:
            raise RowError({"new_base": "调整后缴存基数与当前缴存基数相同，无需调整"})
        try:
            unit_amount, person_amount, total = split_amounts(new_base, ctx.unit_rate, new_rate,
                                                              ctx.policy)
        except ValueError as exc:
            raise RowError({"new_person_rate": str(exc)}) from None
        return NewRow(account.account_no, account.id, {
            "person_account": account.account_no, "name": account.name,
            "id_number": account.id_number,
            "old_base": str(account.base), "old_person_rate": str(account.person_rate),
            "old_monthly": str(account.monthly_amount),
            "new_base": str(new_base), "new_person_rate": str(new_rate),
            "new_unit_amount": str(unit_amount), "new_person_amount": str(person_amount),
            "new_monthly": str(total), "effective_month": str(month),
        }, total, account.monthly_amount)

    def _account(self, ctx: Context, values: dict, problems: dict) -> PersonRef | None:
        account = self.own_account(ctx, values, problems)
        if account is not None and (problem := status_problem(account.status, ACTIVE, "基数调整")):
            problems["person_account"] = problem
            return None
        return account

    @staticmethod
    def _month(ctx: Context, values: dict, problems: dict) -> YearMonth | None:
        text = values.get("effective_month") or ""
        try:
            month = YearMonth.parse(text, "生效年月") if text else _first(ctx)
        except ValueError as exc:
            problems["effective_month"] = str(exc)
            return None
        if problem := effective_month_problem(month, ctx.due_month, ctx.current_month,
                                              ctx.extra.get("verified")):
            problems["effective_month"] = problem
        return month


MANIFEST = register_manifest(BaseAdjustmentManifest())
