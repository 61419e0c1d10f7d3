"""缴存人单位调整 forms (manual ch.12): the receiving unit's 清册 of sealed persons picked
from the transferring-out unit (found by its 单位账号), and its 【提交审批】 task. The rules
are services.transfer's, checked again on submission and on approval."""

from __future__ import annotations

from marshmallow import validate

from services import transfer
from services.identifiers import is_valid_person_account, mask_id_number
from services.manifest_rows import NewRow
from services.persons import refs_by_account

from . import FieldSpec, TaskForm, register, register_manifest
from .fields import HallSchema, Str
from .manifest_spec import ChangeType, Column, Context, ManifestSpec, Picker, RowError


class EditSchema(HallSchema):
    remark = Str(load_default="", validate=validate.Length(max=200, error="经办说明不能超过 200 字"))


EDIT = register(TaskForm(
    key="transfer.edit",
    title="提交审批",
    schema=EditSchema,
    layout=(
        FieldSpec("unit_account", "转入单位账号", readonly=True),
        FieldSpec("unit_name", "转入单位名称", readonly=True),
        FieldSpec("remark", "经办说明", widget="textarea", max_length=200,
                  help="选填，供中心审核时参考"),
    ),
    panel="manifest",
    submit_label="提交审批",
    confirm="确定提交中心审批吗？审批期间清册不能修改。",
))


class TransferManifest(ManifestSpec):
    business = "transfer"
    title = "缴存人单位调整清册"
    columns = (
        # Not a required column: a file may leave it out when the application was started
        # with the 转出单位 (INTERFACES.md: rows need only 个人账号); a row then left
        # without one is refused by `check_row`, by its row.
        Column("from_unit_account", "转出单位账号", kind="code", width=14,
               note="转出单位的单位账号（发起时已填写转出单位的可不填）；也可输入单位名称"
                    "（至少 2 个字）查找",
               suggest=("api_transfer.find_units", "unit_account", "name")),
        Column("person_account", "个人账号", kind="code", required=True, width=18,
               note="转出单位中状态为封存的职工"),
        Column("name", "姓名", kind="text", width=12, note="选填；填写时须与个人账号一致",
               cross_check=True),
    )
    change_types = (ChangeType("transfer", "单位调整",
                               ("from_unit_account", "person_account", "name")),)
    display = (
        ("from_unit_account", "转出单位账号", "text"), ("from_unit_name", "转出单位名称", "text"),
        ("person_account", "个人账号", "text"), ("name", "姓名", "text"),
        ("id_number", "证件号码", "text"),
    )
    picker = Picker(params=(), source="api_transfer.sealed_persons",
                    with_fields=("from_unit_account",),
                    showback=(("name", "姓名", "text"), ("id_number", "证件号码", "text")),
                    empty="转出单位没有符合条件的封存职工（请先填写转出单位账号）")
    added_text = "录入清册成功：{name}（转出单位 {from_unit_name}）"
    in_this_manifest = "该职工已在清册中，如需修改请先删除原记录"
    in_other_application = "该职工已在另一笔未办结的单位调整中"
    empty_text = "清册为空：请填写转出单位账号，选择其封存职工录入清册，或批量导入"

    def lookup(self, ctx: Context, keys: list[str]) -> dict:
        found = refs_by_account(None, keys)
        ctx.extra["active"] = transfer.active_elsewhere([r.person_id for r in found.values()])
        ctx.extra["owed"] = transfer.owed_in_unit([r.id for r in found.values()])
        ctx.extra.setdefault("units", {})
        return found

    def start_unit(self, ctx: Context) -> str:
        """The 转出单位账号 the application was started with (its start data), for rows that
        do not name one; read from the application only when such a row comes."""
        if "start_unit" not in ctx.extra:
            from engine.queries import employer_task_data  # engine imports forms: not at load
            data = employer_task_data(ctx.instance_id) if ctx.instance_id else {}
            ctx.extra["start_unit"] = data.get("from_unit_account") or ""
        return ctx.extra["start_unit"]

    def check_row(self, ctx: Context, values: dict, change_type: ChangeType) -> NewRow:
        problems: dict[str, str] = {}
        from_unit = None
        unit_no = values.get("from_unit_account") or self.start_unit(ctx)
        if not unit_no:
            problems["from_unit_account"] = "转出单位账号为必填项"
        else:
            units = ctx.extra["units"]
            if unit_no not in units:
                units[unit_no] = transfer.find_unit(unit_no)
            from_unit = units[unit_no]
            if found := transfer.unit_problem(from_unit, ctx.unit_id):
                problems["from_unit_account"] = found
                from_unit = None
        number = values.get("person_account") or ""
        account = ctx.subjects.get(number)
        if not number:
            problems["person_account"] = "个人账号为必填项"
        elif not is_valid_person_account(number):
            problems["person_account"] = "个人账号有误（应为 12 位数字且校验位正确），请核对"
        elif from_unit is not None:
            if found := transfer.person_problem(account, from_unit, ctx.extra["active"],
                                                ctx.extra["owed"]):
                problems["person_account"] = found
            elif (name := values.get("name") or "") and name != account.name:
                problems["name"] = "姓名与个人账号不符"
        if problems:
            raise RowError(problems)
        return NewRow(account.account_no, account.id, {
            "from_unit_account": from_unit.account_no, "from_unit_name": from_unit.name,
            "person_account": account.account_no, "name": account.name,
            "id_number": mask_id_number(account.id_number)})


MANIFEST = register_manifest(TransferManifest())
