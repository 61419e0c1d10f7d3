"""单位信息变更 forms (manual ch.3): the unit's registered information, editable where the
policy allows and greyed (置灰) elsewhere; 【确定】 puts each changed field into the
待变更清册 (项目 / 原值 / 新值), 【完成办理】 submits it. Field rules: services.info_changes."""

from __future__ import annotations

from marshmallow import validate

from services import info_changes
from services.info_changes import NOTHING_CHANGED, UNIT_ACCOUNT_FIELDS, UNIT_BY_NAME, UNIT_FIELDS
from services.manifest_rows import NewRow

from . import FieldSpec, TaskForm, register, register_manifest
from .fields import HallSchema, Str
from .manifest_spec import ChangeType, Column, Context, ManifestSpec, RowError

KEY = "unit_info_change"


class EditSchema(HallSchema):
    remark = Str(load_default="", validate=validate.Length(max=200, error="经办说明不能超过 200 字"))


EDIT = register(TaskForm(
    key="unit_info_change.edit",
    title="完成办理",
    schema=EditSchema,
    layout=(
        FieldSpec("unit_account", "单位账号", readonly=True),
        FieldSpec("unit_name", "单位名称", readonly=True),
        FieldSpec("remark", "经办说明", widget="textarea", max_length=200, help="选填"),
    ),
    panel="manifest",
    submit_label="完成办理",
    confirm="确定按待变更清册完成办理吗？单位名称、统一社会信用代码的变更经中心审核后生效。",
    extra={"done_prompt": "完成办理，是否打印？", "done_print": "unit_changes",
           # when every change waits for the centre's review, nothing is recorded yet
           "done_prompt_in_review": "已提交中心审核：审核通过后变更生效，届时可在单位信息查询中"
                                    "打印变更记录。"},
))

_ALL = UNIT_ACCOUNT_FIELDS + UNIT_FIELDS


class UnitInfoChangeManifest(ManifestSpec):
    business = KEY
    title = "待变更清册"
    columns = tuple(Column(f.name, f.label, required=f.required, width=20) for f in _ALL)
    change_types = (ChangeType("info", "单位信息变更", tuple(f.name for f in _ALL)),)
    display = (("field_label", "项目", "text"), ("old_text", "原值", "text"),
               ("new_text", "新值", "text"))
    key_column = "name"
    picker = None
    entry_label = "确定"
    count_unit = "项"
    added_text = "已放入待变更清册：{count} 项"
    empty_text = "待变更清册为空：请修改上方的单位信息后点击【确定】"
    in_this_manifest = "该项目已在待变更清册中，如需修改请先删除原记录"
    in_other_application = "该项目已在本单位另一笔未办结的单位信息变更中"

    def lookup(self, ctx: Context, keys: list[str]) -> dict:
        """Rows are about the unit itself, whatever the key column says."""
        return {"unit": info_changes.unit_values(ctx.unit_id)}

    def locked(self, ctx: Context) -> set[str]:
        return info_changes.unit_locked(ctx.policy)

    def entry_values(self, ctx: Context) -> dict[str, str]:
        return info_changes.unit_values(ctx.unit_id)

    def check_rows(self, ctx: Context, values: dict, change_type: ChangeType) -> list[NewRow]:
        current = ctx.subjects["unit"]
        found, problems = info_changes.diff(UNIT_BY_NAME, current, values,
                                            self.locked(ctx), ctx.policy)
        for change in found:
            if change.field.name == "uscc" and info_changes.uscc_taken(change.new, ctx.unit_id):
                problems["uscc"] = info_changes.USCC_TAKEN
        if problems:
            raise RowError(problems)
        if not found:
            raise RowError({"field": NOTHING_CHANGED})
        return [NewRow(f"{current['account_no']}:{c.field.name}", None,
                       info_changes.row_values(c, ctx.policy)) for c in found]


MANIFEST = register_manifest(UnitInfoChangeManifest())
