"""信息变更: the registered information a unit may change about itself (单位信息变更, manual
ch.3) and about its depositors (缴存人信息变更, ch.10): which fields, how each is checked,
which are greyed (置灰), and applying a change so that a concurrent one is never lost.

A change is (field, 原值, 新值). Applying it is a conditional UPDATE ... WHERE field = 原值:
when someone changed the field since the 原值 was read, nothing is written and the whole
action is refused with a message naming the field, rather than silently overwriting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import Table, select, update
from sqlalchemy.exc import IntegrityError

from . import changes
from .db import db, defer
from .errors import Conflict
from .identifiers import is_valid_mobile, is_valid_uscc
from .models import Person, Unit, UnitAccount
from .policy import Policy
from .text import half_width

GREYED = "置灰项不允许修改"
NOTHING_CHANGED = "没有需要变更的项目：所填信息与当前登记信息相同"

Codes = Callable[[Policy], tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class InfoField:
    """One changeable field: `kind` says how a value is checked (text, uscc, mobile,
    postcode, phone, day, money, code)."""

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    max_length: int = 40
    codes: Codes | None = None

    def options(self, policy: Policy) -> list[tuple[str, str]]:
        return list(self.codes(policy)) if self.codes else []

    def check(self, text: str, policy: Policy) -> str:
        """The value in its stored form, or ValueError with a message naming the field."""
        text = half_width(text or "").strip()
        if not text:
            if self.required:
                raise ValueError(f"{self.label}为必填项")
            return ""
        if len(text) > self.max_length:
            raise ValueError(f"{self.label}不能超过 {self.max_length} 个字")
        check = _CHECKS.get(self.kind)
        if check is not None:
            return check(self, text, policy)
        return text

    def shown(self, value: str, policy: Policy) -> str:
        """A stored value as people read it: a code's label (20 → 大学本科)."""
        return dict(self.options(policy)).get(value, value) if self.codes else value


def _uscc(field: InfoField, text: str, policy: Policy) -> str:
    if not is_valid_uscc(text.upper()):
        raise ValueError(f"{field.label}有误（应为 18 位数字或大写字母，且校验位正确），请核对")
    return text.upper()


def _mobile(field: InfoField, text: str, policy: Policy) -> str:
    if not is_valid_mobile(text):
        raise ValueError(f"{field.label}有误（应为 11 位手机号码，如 13800138000）")
    return text


def _postcode(field: InfoField, text: str, policy: Policy) -> str:
    if not re.fullmatch(r"\d{6}", text, re.ASCII):
        raise ValueError(f"{field.label}应为 6 位数字")
    return text


def _phone(field: InfoField, text: str, policy: Policy) -> str:
    if not re.fullmatch(r"[0-9][0-9-]{5,18}[0-9]", text, re.ASCII):
        raise ValueError(f"{field.label}应为 7-20 位数字，区号与号码间可用“-”")
    return text


def _day(field: InfoField, text: str, policy: Policy) -> str:
    if not text.isdigit() or not 1 <= int(text) <= 31:
        raise ValueError(f"{field.label}应为 1-31 之间的整数")
    return str(int(text))


def _money(field: InfoField, text: str, policy: Policy) -> str:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or value >= Decimal("1E10") \
            or value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{field.label}应为不小于 0 的金额，最多两位小数")
    return str(value.quantize(Decimal("0.01")))


def _code(field: InfoField, text: str, policy: Policy) -> str:
    for value, label in field.options(policy):
        if text in (value, label, f"{value} {label}"):
            return value
    raise ValueError(f"{field.label}须为：" + "、".join(
        f"{value} {label}" for value, label in field.options(policy)))


_CHECKS = {"uscc": _uscc, "mobile": _mobile, "postcode": _postcode, "phone": _phone,
           "day": _day, "money": _money, "code": _code}


def _fixed(*pairs: tuple[str, str]) -> Codes:
    return lambda policy: pairs


#: The unit's registered information (单位基本信息), in the page's order. The first four
#: belong to the account and never change here; the policy may grey more.
UNIT_ACCOUNT_FIELDS = (InfoField("account_no", "单位账号"), InfoField("opened_on", "开户日期"),
                       InfoField("status", "单位账户状态"), InfoField("paid_through", "缴至年月"))
UNIT_FIELDS = (
    InfoField("name", "单位名称", required=True, max_length=100),
    InfoField("uscc", "统一社会信用代码", "uscc", required=True, max_length=18),
    InfoField("address", "单位地址", required=True, max_length=200),
    InfoField("postcode", "邮政编码", "postcode"),
    InfoField("legal_rep", "法定代表人", required=True),
    InfoField("contact_name", "联系人", required=True),
    InfoField("contact_phone", "联系人手机", "mobile", required=True, max_length=11),
    InfoField("unit_type", "单位性质", max_length=20),
    InfoField("affiliation", "隶属关系"),
    InfoField("economic_type", "经济类型"),
    InfoField("industry", "行业", max_length=60),
    InfoField("pay_day", "发薪日", "day", max_length=2),
)
#: Identity fields of a depositor: shown, never changed here (置灰).
PERSON_IDENTITY = (InfoField("name", "姓名"), InfoField("id_type", "证件类型"),
                   InfoField("id_number", "证件号码"), InfoField("birth_date", "出生日期"))
PERSON_FIELDS = (
    InfoField("education", "学历", "code", codes=_fixed(
        ("10", "研究生"), ("20", "大学本科"), ("30", "大学专科"), ("40", "中等专科"),
        ("50", "技工学校"), ("60", "高中"), ("70", "初中"), ("80", "小学"), ("90", "其他"))),
    InfoField("phone", "固定电话", "phone", max_length=20),
    InfoField("postcode", "邮政编码", "postcode"),
    InfoField("position", "职务", "code", codes=lambda policy: policy.position_codes),
    InfoField("occupation", "职业", "code", codes=_fixed(
        ("1", "国家机关、党群组织、企业、事业单位负责人"), ("2", "专业技术人员"),
        ("3", "办事人员和有关人员"), ("4", "社会生产服务和生活服务人员"),
        ("5", "农林牧渔业生产及辅助人员"), ("6", "生产制造及有关人员"), ("7", "军人"),
        ("8", "不便分类的其他从业人员"))),
    InfoField("title", "职称", "code", codes=lambda policy: policy.title_codes),
    InfoField("marital_status", "婚姻状况", "code", codes=_fixed(
        ("10", "未婚"), ("20", "已婚"), ("30", "丧偶"), ("40", "离婚"), ("90", "未说明的婚姻状况"))),
    InfoField("address", "家庭住址", max_length=200),
    InfoField("family_income", "家庭收入", "money", max_length=20),
)
UNIT_BY_NAME = {f.name: f for f in UNIT_ACCOUNT_FIELDS + UNIT_FIELDS}
PERSON_BY_NAME = {f.name: f for f in PERSON_FIELDS}


@dataclass(frozen=True)
class Change:
    field: InfoField
    old: str
    new: str


def unit_locked(policy: Policy) -> set[str]:
    """置灰 fields of 单位信息变更: the account's own, and those the policy lists."""
    return {f.name for f in UNIT_ACCOUNT_FIELDS} | set(policy.unit_info_locked)


def unit_values(unit_id: int) -> dict[str, str]:
    """The unit's registered information as stored text, by field name."""
    unit, account = db.session.execute(
        db.select(Unit, UnitAccount).join(UnitAccount, UnitAccount.unit_id == Unit.id)
        .where(Unit.id == unit_id)).one()
    values = {f.name: _text(getattr(unit, f.name)) for f in UNIT_FIELDS}
    values.update(account_no=account.account_no, opened_on=account.opened_on.isoformat(),
                  status=account.status_name,
                  paid_through=str(account.paid_through) if account.paid_through else "")
    return values


def person_values(person: Person) -> dict[str, str]:
    values = {f.name: _text(getattr(person, f.name)) for f in PERSON_FIELDS}
    values.update(name=person.name, id_type=person.id_type, id_number=person.id_number,
                  birth_date=person.birth_date.isoformat() if person.birth_date else "")
    return values


def diff(fields: dict[str, InfoField], current: dict[str, str], values: dict, locked: set[str],
         policy: Policy) -> tuple[list[Change], dict[str, str]]:
    """The changes `values` ask for, and problems by field name. A value sent for a
    field means "make it this"; a field not sent stays. `{"field", "new_value"}` names
    one field (the API's row). A blank optional field stays as it is (a file's empty cell).
    A greyed field sent with another value is refused."""
    values = dict(values)
    problems: dict[str, str] = {}
    if "field" in values:
        name = str(values.pop("field") or "")
        new = values.pop("new_value", "")
        if name in locked:
            problems[name] = GREYED
        elif name not in fields:
            problems["field"] = "变更项目无效，可变更的项目为：" + "、".join(
                f"{f.name}（{f.label}）" for f in fields.values() if f.name not in locked)
        else:
            values[name] = new
    found: list[Change] = []
    for name, text in values.items():
        if name in locked and _text(text).strip() and _text(text).strip() != current.get(name, ""):
            problems[name] = GREYED
    for name, field in fields.items():  # in the page's order, however the values came
        if name in locked or name not in values:
            continue
        text = values[name]
        if not _text(text).strip() and not field.required:
            continue  # a blank optional field (an empty cell of a file) stays as it is
        try:
            new = field.check(_text(text), policy)
        except ValueError as exc:
            problems[name] = str(exc)
            continue
        if new != current.get(name, ""):
            found.append(Change(field, current.get(name, ""), new))
    return found, problems


def row_values(change: Change, policy: Policy) -> dict:
    """A 待变更清册 row's stored values: 项目, 原值, 新值 (and their readable forms)."""
    return {"field": change.field.name, "field_label": change.field.label,
            "old_value": change.old, "new_value": change.new,
            "old_text": change.field.shown(change.old, policy),
            "new_text": change.field.shown(change.new, policy)}


def apply(table: Table, row_id: int, rows: list[dict], fields: dict[str, InfoField],
          policy: Policy, who: changes.Who, *, unit_id: int, subject: str,
          person_account_id: int | None = None, whose: str = "") -> None:
    """Write each row's 新值 where the field still holds its 原值, and a change record per
    field; a field changed meanwhile refuses the whole action (Conflict)."""
    records = []
    for row in rows:
        field = fields[row["field"]]
        defer(_update_one, table, row_id, field, row["old_value"], row["new_value"], whose)
        records.append((field.name, field.label, field.shown(row["old_value"], policy),
                        field.shown(row["new_value"], policy)))
    changes.record_changes(unit_id=unit_id, subject=subject, changes=records, who=who,
                           person_account_id=person_account_id)


#: A 统一社会信用代码 is one unit's.
USCC_TAKEN = "该统一社会信用代码已登记为其他单位，请核对"


def uscc_taken(uscc: str, unit_id: int) -> bool:
    """Whether another unit is registered under `uscc`."""
    return db.session.execute(select(Unit.id).where(Unit.uscc == uscc, Unit.id != unit_id)
                              ).first() is not None


def _update_one(table: Table, row_id: int, field: InfoField, old: str, new: str,
                whose: str) -> None:
    column = table.c[field.name]
    typed_old, typed_new = _typed(field, old), _typed(field, new)
    unchanged = column.is_(None) if typed_old is None else column == typed_old
    try:
        with db.session.begin_nested():  # a unique value another took since the checks
            done = db.session.execute(update(table).where(table.c.id == row_id, unchanged)
                                      .values({field.name: typed_new}))
    except IntegrityError:
        raise Conflict(f"{whose}{field.label}“{new}”刚刚已被其他{whose or '记录'}使用，"
                       "本次变更未生效") from None
    if done.rowcount != 1:
        raise Conflict(f"{whose}{field.label}已被他人修改（申请时为“{old}”），本次变更未生效，"
                       "请删除该行后按当前信息重新录入")


def _typed(field: InfoField, text: str):
    if field.kind == "money":
        return Decimal(text) if text else None
    return text


def _text(value: object) -> str:
    return "" if value is None else str(value)
