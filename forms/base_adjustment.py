"""基数调整 forms: the employer's 清册 task and the manifest's columns and row rules
(manual chapter 4). Only persons in 正常 may be adjusted; limits come from the policy."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import validate

from services.contribution import check_base, check_rate, monthly_amounts
from services.identifiers import is_valid_person_account
from services.models import PersonAccount
from services.models.person import ACTIVE
from services.money import parse_decimal
from services.months import YearMonth

from . import MANIFESTS, FieldSpec, TaskForm, register
from .fields import HallSchema, Str
from .manifest import ChangeType, CheckedRow, Column, ManifestContext, ManifestSpec, RowError

REQUIRED = "必填项"


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
    panel="base_adjustment",
    submit_label="提交审批",
))


def _months(ctx: ManifestContext) -> list[tuple[str, str]]:
    return [(str(m), str(m)) for m in ctx.due_month.until(ctx.current_month)]


def _rates(ctx: ManifestContext) -> list[tuple[str, str]]:
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
        Column("person_account", "个人账号", required=True, width=18,
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

    def prefill_value(self, column: Column, account: PersonAccount) -> object:
        return {"person_account": account.account_no, "name": account.person.name,
                "current_base": str(account.base)}.get(column.name)

    def check_row(self, ctx: ManifestContext, values: dict, change_type: ChangeType
                  ) -> CheckedRow:
        problems: dict[str, str] = {}
        account = self._account(ctx, values, problems)
        new_base = _checked(problems, "new_base", values, lambda v: check_base(v, ctx.policy))
        month = self._month(ctx, values, problems)
        new_rate = account.person_rate if account else None
        if "new_person_rate" in change_type.columns:
            new_rate = _checked(problems, "new_person_rate", values, lambda v: check_rate(
                parse_rate(v), "个人缴存比例", ctx.policy))
        if problems:
            raise RowError(problems)
        if new_base == account.base and new_rate == account.person_rate:
            raise RowError({"new_base": "调整后缴存基数与当前缴存基数相同，无需调整"})
        try:
            unit_amount, person_amount, total = monthly_amounts(new_base, ctx.unit_rate, new_rate,
                                                                policy=ctx.policy)
        except ValueError as exc:
            raise RowError({"new_person_rate": str(exc)}) from None
        return CheckedRow(account.id, {
            "person_account": account.account_no, "name": account.person.name,
            "id_number": account.person.id_number,
            "old_base": str(account.base), "old_person_rate": str(account.person_rate),
            "old_monthly": str(account.monthly_amount),
            "new_base": str(new_base), "new_person_rate": str(new_rate),
            "new_unit_amount": str(unit_amount), "new_person_amount": str(person_amount),
            "new_monthly": str(total), "effective_month": str(month),
        }, total)

    @staticmethod
    def _account(ctx: ManifestContext, values: dict, problems: dict) -> PersonAccount | None:
        number = str(values.get("person_account") or "").strip()
        account = ctx.persons.get(number)
        if not number:
            problems["person_account"] = REQUIRED
        elif not is_valid_person_account(number):
            problems["person_account"] = "个人账号有误（应为 12 位数字且校验位正确），请核对"
        elif account is None:
            problems["person_account"] = "本单位没有该个人账号"
        elif account.status != ACTIVE:
            problems["person_account"] = (f"该职工账户状态为「{account.status_name}」，"
                                          "只有状态正常的职工才可基数调整")
        else:
            name = str(values.get("name") or "").strip()
            if name and name != account.person.name:
                problems["name"] = f"姓名与个人账号不符（该账号的职工为 {account.person.name}）"
            return account
        return None

    @staticmethod
    def _month(ctx: ManifestContext, values: dict, problems: dict) -> YearMonth | None:
        text = str(values.get("effective_month") or "").strip()
        try:
            month = YearMonth.parse(text, "生效年月") if text else ctx.due_month
        except ValueError as exc:
            problems["effective_month"] = str(exc)
            return None
        if not ctx.due_month <= month <= ctx.current_month:
            problems["effective_month"] = (f"生效年月须在 {ctx.due_month} 至 {ctx.current_month} "
                                           "之间（不早于应汇缴年月，不晚于当前月份）")
        return month


def _checked(problems: dict, name: str, values: dict, check):
    text = str(values.get(name) or "").strip()
    if not text:
        problems[name] = REQUIRED
        return None
    try:
        return check(text)
    except ValueError as exc:
        problems[name] = str(exc)
        return None


MANIFEST = BaseAdjustmentManifest()
MANIFESTS[MANIFEST.business] = MANIFEST
