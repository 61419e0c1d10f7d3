"""缴存人信息变更 forms (manual ch.10): pick a depositor (the person picker), see their
information back with the identity fields greyed, change 学历, 固定电话 … 家庭收入 (code
lists where the field has one); each changed field is a 待变更清册 row, several persons
may be in one application; 【保存】 submits it to the centre."""

from __future__ import annotations

from marshmallow import validate
from sqlalchemy import select

from services import info_changes
from services.db import db
from services.identifiers import is_valid_person_account
from services.info_changes import NOTHING_CHANGED, PERSON_BY_NAME, PERSON_FIELDS, PERSON_IDENTITY
from services.manifest_rows import NewRow
from services.models import Person, PersonAccount

from . import FieldSpec, TaskForm, register, register_manifest
from .fields import HallSchema, Str
from .manifest_spec import ChangeType, Column, Context, ManifestSpec, Picker, RowError, required

KEY = "person_info_change"
CHUNK = 900


class EditSchema(HallSchema):
    remark = Str(load_default="", validate=validate.Length(max=200, error="经办说明不能超过 200 字"))


EDIT = register(TaskForm(
    key="person_info_change.edit",
    title="保存",
    schema=EditSchema,
    layout=(
        FieldSpec("unit_account", "单位账号", readonly=True),
        FieldSpec("unit_name", "单位名称", readonly=True),
        FieldSpec("remark", "经办说明", widget="textarea", max_length=200,
                  help="选填，供中心审核时参考"),
    ),
    panel="manifest",
    submit_label="保存",
    confirm="确定保存并提交中心审核吗？审核期间待变更清册不能修改。",
))


def _codes(field: info_changes.InfoField):
    return (lambda ctx: field.options(ctx.policy)) if field.codes else None


class PersonInfoChangeManifest(ManifestSpec):
    business = KEY
    title = "待变更清册"
    columns = (Column("person_account", "个人账号", kind="code", required=True, width=18,
                      note="12 位数字，末位为校验位"),
               *(Column(f.name, f.label, codes=_codes(f), blank="（不变更）", width=16)
                 for f in PERSON_FIELDS))
    change_types = (ChangeType("info", "缴存人信息变更", tuple(c.name for c in columns)),)
    display = (("person_account", "个人账号", "text"), ("name", "姓名", "text"),
               ("field_label", "项目", "text"), ("old_text", "原值", "text"),
               ("new_text", "新值", "text"))
    picker = Picker(params=(), showback=(
        ("name", "姓名", "text"), ("id_type_name", "证件类型", "text"),
        ("id_number", "证件号码", "text"), ("birth_date", "出生日期", "text"),
        ("status_name", "账户状态", "text")), empty="本单位没有符合条件的职工", fills=True)
    entry_label = "确定"
    count_unit = "项"
    added_text = "已放入待变更清册：{name} {count} 项"
    empty_text = "待变更清册为空：请选择职工，修改其信息后点击【确定】"
    in_this_manifest = "该职工的该项目已在待变更清册中，如需修改请先删除原记录"
    in_other_application = "该职工的该项目已在另一笔未办结的缴存人信息变更中"

    def lookup(self, ctx: Context, keys: list[str]) -> dict:
        """This unit's accounts among `keys`, with the person's registered information."""
        found = {}
        unique = sorted({k for k in keys if k})
        for start in range(0, len(unique), CHUNK):
            found.update((number, (account_id, person)) for number, account_id, person in
                         db.session.execute(
                             select(PersonAccount.account_no, PersonAccount.id, Person)
                             .join(Person, Person.id == PersonAccount.person_id)
                             .where(PersonAccount.unit_id == ctx.unit_id,
                                    PersonAccount.account_no.in_(unique[start:start + CHUNK])))
                         .all())
        return found

    def check_rows(self, ctx: Context, values: dict, change_type: ChangeType) -> list[NewRow]:
        problems: dict[str, str] = {}
        number = required(values, "person_account", "个人账号", problems)
        if number and not is_valid_person_account(number):
            problems["person_account"] = "个人账号有误（应为 12 位数字且校验位正确），请核对"
        elif number and number not in ctx.subjects:
            problems["person_account"] = "本单位没有该个人账号"
        if problems:
            raise RowError(problems)
        account_id, person = ctx.subjects[number]
        changes = {k: v for k, v in values.items() if k != "person_account"}
        found, problems = info_changes.diff(
            PERSON_BY_NAME, info_changes.person_values(person), changes,
            {f.name for f in PERSON_IDENTITY}, ctx.policy)
        if problems:
            raise RowError(problems)
        if not found:
            raise RowError({"person_account": NOTHING_CHANGED})
        return [NewRow(f"{number}:{c.field.name}", account_id,
                       {"person_account": number, "name": person.name,
                        **info_changes.row_values(c, ctx.policy)}) for c in found]


MANIFEST = register_manifest(PersonInfoChangeManifest())
