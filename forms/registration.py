"""缴存人登记 forms (manual ch.9): the employer's 开户清册 task (【完成办理】) and the 清册's
columns and row rules (services.registration). Rows are new people, keyed by 证件号码:
there is no account to pick, so single entry types every field."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import lru_cache, partial

from marshmallow import validate

from services import registration
from services.contribution import check_base, check_rate, split_amounts
from services.identifiers import (
    ID_TYPES,
    all_valid_mobiles,
    all_valid_resident_ids,
    id_type_name,
)
from services.manifest_rows import NewRow
from services.money import percent
from services.policy import Policy

from . import FieldSpec, TaskForm, register, register_manifest
from .base_adjustment import parse_rate
from .fields import HallSchema, Str
from .manifest_file import FileRows
from .manifest_spec import (
    PROGRESS_ROWS,
    ChangeType,
    Column,
    Context,
    ManifestSpec,
    RowError,
    checked,
    code_of,
)


class EditSchema(HallSchema):
    remark = Str(load_default="", validate=validate.Length(max=200, error="经办说明不能超过 200 字"))


EDIT = register(TaskForm(
    key="registration.edit",
    title="完成办理",
    schema=EditSchema,
    layout=(
        FieldSpec("unit_account", "单位账号", readonly=True),
        FieldSpec("unit_name", "单位名称", readonly=True),
        FieldSpec("due_month", "首次汇缴年月", readonly=True,
                  help="新开户职工自本单位应汇缴年月起缴存"),
        FieldSpec("remark", "经办说明", widget="textarea", max_length=200, help="选填"),
    ),
    panel="manifest",
    submit_label="完成办理",
    confirm="确定完成办理吗？完成后将为清册中的职工开立个人账户。",
))


def _id_types(ctx: Context) -> list[tuple[str, str]]:
    return list(ID_TYPES.items())


def _rates(ctx: Context) -> list[tuple[str, str]]:
    low, high = int(ctx.policy.rate_min * 100), int(ctx.policy.rate_max * 100)
    return [(f"{p}%", f"{p}%") for p in range(low, high + 1)]


def _unit_rate(ctx: Context) -> str:
    return f"本单位 {percent(ctx.unit_person_rate)}"


COLUMNS = ("name", "id_type", "id_number", "mobile", "base", "person_rate")


class RegistrationManifest(ManifestSpec):
    business = "registration"
    title = "开户清册"
    columns = (
        Column("name", "姓名", kind="text", required=True, width=12),
        Column("id_type", "证件类型", kind="code", codes=_id_types, width=14,
               note="默认 01 身份证"),
        Column("id_number", "证件号码", kind="id_number", required=True, width=22,
               note="身份证号码 18 位，末位可为 X；请保持文本格式"),
        Column("mobile", "手机号码", kind="mobile", required=True, width=14),
        Column("base", "缴存基数", kind="money", required=True, width=14),
        Column("person_rate", "个人缴存比例", kind="rate", codes=_rates, width=14,
               note="选填，默认为本单位的个人缴存比例", default=_unit_rate),
    )
    change_types = (ChangeType("open", "开户", COLUMNS),)
    display = (
        ("name", "姓名", "text"), ("id_type_name", "证件类型", "text"),
        ("id_number", "证件号码", "text"), ("gender_name", "性别", "text"),
        ("birth_date", "出生日期", "text"), ("mobile", "手机号码", "text"),
        ("base", "缴存基数", "money"), ("person_rate", "个人比例", "rate"),
        ("monthly_amount", "月缴存额", "money"),
    )
    key_column = "id_number"
    picker = None
    added_text = "录入清册成功：{name}（{gender_name} {birth_date}），月缴存额 {monthly_amount} 元"
    in_this_manifest = "该证件号码的职工已在开户清册中，如需修改请先删除原记录"
    in_other_application = "该证件号码的职工已在另一笔未办结的缴存人登记中，请先办结或结束该业务"
    empty_text = "开户清册为空：请单个录入或批量导入新职工"
    notes = ("同一证件号码在一个文件中只能出现一次；已在本市开户（未销户）的职工不能登记，"
             "须由原单位封存后办理缴存人单位调整。",)

    def lookup(self, ctx: Context, keys: list[str]) -> dict:
        return registration.holders(keys)

    def check_row(self, ctx: Context, values: dict, change_type: ChangeType) -> NewRow:
        problems: dict[str, str] = {}
        name = checked(problems, "name", "姓名", values, registration.check_name)
        id_type = registration.RESIDENT_ID
        if text := values.get("id_type"):
            id_type = _id_type(ctx, text)
            if id_type is None:
                problems["id_type"] = "证件类型须为：" + "、".join(
                    f"{code} {label}" for code, label in ID_TYPES.items())
        number = checked(problems, "id_number", "证件号码", values, _id_check(ctx, id_type or ""))
        if number and id_type and (held := ctx.subjects.get(number)):
            holder = next((h for h in held if h.id_type == id_type), None)
            if problem := registration.holder_problem(holder, ctx.unit_id):
                problems["id_number"] = problem
        mobile = checked(problems, "mobile", "手机号码", values, registration.check_mobile)
        amounts = _amounts(ctx, values.get("base") or "", values.get("person_rate") or "")
        if amounts[0]:
            problems.update(amounts[0])
        if problems:
            raise RowError(problems)
        return _new_row(id_type, name, number, mobile, amounts)

    def check_columns(self, ctx: Context, rows: FileRows, change_type: ChangeType,
                      progress: Callable[[int], None] | None = None) -> list[NewRow] | None:
        """The usual file, all 身份证 and nobody already registered, a column at a time:
        each rule `check_row` applies, asked of the whole column (every name given and
        short enough, every ID and mobile valid, no ID twice) or of each distinct value (证件
        类型, each 缴存基数 and 个人缴存比例 pair)."""
        names, numbers, mobiles = (rows.column(n) for n in ("name", "id_number", "mobile"))
        bases, rates = rows.column("base"), rows.column("person_rate")
        if ctx.subjects or not all(names) or max(map(len, names)) > registration.NAME_LIMIT:
            return None
        if any(text and _id_type(ctx, text) != registration.RESIDENT_ID
               for text in set(rows.column("id_type"))):
            return None
        if (len(set(numbers)) < len(numbers) or not all_valid_mobiles(mobiles)
                or not all_valid_resident_ids(numbers, ctx.today)):
            return None
        amounts = {pair: _amounts(ctx, *pair) for pair in set(zip(bases, rates, strict=True))}
        if any(found[0] for found in amounts.values()):
            return None
        made = []
        for row_no, name, number, mobile, base, rate in zip(
                rows.numbers, names, numbers, mobiles, bases, rates, strict=True):
            row = _new_row(registration.RESIDENT_ID, name, number, mobile, amounts[base, rate])
            row.source_row = row_no
            made.append(row)
            if progress and not len(made) % PROGRESS_ROWS:
                progress(len(made))
        return made


def _id_type(ctx: Context, text: str) -> str | None:
    """The 证件类型 code a typed value means (None: none); `code_of` reads a code a
    spreadsheet cell turned into a number (01 → 1) too."""
    return code_of(_id_types(ctx), text)


def _new_row(id_type: str, name: str, number: str, mobile: str, amounts: tuple) -> NewRow:
    """A checked row as stored, with 性别 and 出生日期 read from a resident ID. Ten values: a
    dict of at most ten keys is half the size of one with more (a 100,000-row import holds
    them all); the amounts are worked out again on opening."""
    _, base, rate, total, total_text = amounts
    gender, birth = registration.derived(id_type, number)
    return NewRow(f"{id_type}:{number}", None, {
        "name": name, "id_type": id_type, "id_type_name": id_type_name(id_type),
        "id_number": number, "gender_name": registration.GENDERS.get(gender, ""),
        "birth_date": _day_text(birth) if birth else "", "mobile": mobile,
        "base": base, "person_rate": rate, "monthly_amount": total_text,
    }, total)


def _id_check(ctx: Context, id_type: str):
    """The 证件号码 check of a 证件类型, made once per batch of rows."""
    checks = ctx.extra.setdefault("id_checks", {})
    if id_type not in checks:
        checks[id_type] = partial(registration.check_id_number, id_type, today=ctx.today)
    return checks[id_type]


@lru_cache(maxsize=1 << 16)
def _day_text(day: date) -> str:
    """A birth date as stored (a unit's staff share birth dates: each is written once)."""
    return day.isoformat()


#: An amount as most cells hold it, read without the general parser's checks.
_PLAIN_MONEY = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,2})?")
CENT = Decimal("0.01")


def _amounts(ctx: Context, base_text: str, rate_text: str) -> tuple:
    """(problems, base and rate as text, 月缴存额) of a row's 缴存基数 and 个人缴存比例
    (blank: the unit's), and 月缴存额 as text. A file's rates are few, and its bases
    repeat: each rate is read once, each (base, rate) worked out once."""
    known = ctx.extra.get("amounts")
    if known is None:
        known = ctx.extra["amounts"] = {}
    found = known.get((base_text, rate_text))
    if found is not None:
        return found
    problems: dict[str, str] = {}
    base = _base(ctx, base_text, problems)
    rates = ctx.extra.setdefault("rates", {})
    if rate_text not in rates:
        rates[rate_text] = _rate(ctx, rate_text)
    problem, rate = rates[rate_text]
    if problem:
        problems["person_rate"] = problem
    if problems:
        return problems, None, None, None, None
    try:
        total = split_amounts(base, ctx.unit_rate, rate, ctx.policy)[2]
    except ValueError as exc:
        return {"person_rate": str(exc)}, None, None, None, None
    found = known[(base_text, rate_text)] = ({}, str(base), str(rate), total, str(total))
    return found


def _base(ctx: Context, text: str, problems: dict) -> Decimal | None:
    if _PLAIN_MONEY.fullmatch(text):
        value = Decimal(text)
        if ctx.policy.base_floor <= value <= ctx.policy.base_ceiling:
            return value.quantize(CENT)
    return checked(problems, "base", "缴存基数", {"base": text},
                   lambda v: check_base(v, ctx.policy))


def _rate(ctx: Context, text: str) -> tuple[str | None, Decimal | None]:
    if not text:
        return None, ctx.unit_person_rate
    try:
        return None, check_rate(parse_rate(text), "个人缴存比例", ctx.policy)
    except ValueError as exc:
        return str(exc), None


def new_account(values: dict, unit_rate: Decimal, policy: Policy) -> registration.NewAccount:
    """A stored 清册 row as the account it opens, with the amounts of the unit's rate now."""
    base, rate = Decimal(values["base"]), Decimal(values["person_rate"])
    unit_amount, person_amount, _ = split_amounts(base, unit_rate, rate, policy)
    return registration.NewAccount(
        name=values["name"], id_type=values["id_type"], id_number=values["id_number"],
        mobile=values["mobile"], base=base, person_rate=rate, unit_amount=unit_amount,
        person_amount=person_amount)


MANIFEST = register_manifest(RegistrationManifest())
