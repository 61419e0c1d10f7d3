"""缴存人状态变更 forms (manual ch.11): the 清册 of 封存 and 启封 rows (two change types,
the two tabs of the manual) and the employer's task that confirms them. The rules are
services.status_change's, the same ones the confirmation checks again."""

from __future__ import annotations

from marshmallow import validate

from services import remittance, status_change
from services.manifest_rows import NewRow
from services.persons import refs_by_account

from . import FieldSpec, TaskForm, register, register_manifest
from .fields import HallSchema, IdList, Str
from .manifest_spec import ChangeType, Column, Context, ManifestSpec, Picker, RowError, code_of

SEAL, UNSEAL = status_change.SEAL, status_change.UNSEAL


class EditSchema(HallSchema):
    remark = Str(load_default="", validate=validate.Length(max=200, error="经办说明不能超过 200 字"))
    #: The 清册 rows ticked, and those the page listed (ManifestSpec.selectable).
    rows = IdList(load_default=None)
    shown_rows = IdList(load_default=None)


EDIT = register(TaskForm(
    key="status_change.edit",
    title="确定封存/启封",
    schema=EditSchema,
    layout=(
        FieldSpec("unit_account", "单位账号", readonly=True),
        FieldSpec("unit_name", "单位名称", readonly=True),
        FieldSpec("month", "生效年月", readonly=True, help="封存、启封自该月的汇缴核定起生效"),
        FieldSpec("remark", "经办说明", widget="textarea", max_length=200, help="选填"),
    ),
    panel="manifest",
    submit_label="确定封存/启封",
    confirm="确定为清册中勾选的职工办理封存/启封吗？办理后立即生效，未勾选的行不办理。",
))


def _seal_reasons(ctx: Context) -> list[tuple[str, str]]:
    return status_change.reasons(SEAL, ctx.policy)


def _unseal_reasons(ctx: Context) -> list[tuple[str, str]]:
    return status_change.reasons(UNSEAL, ctx.policy)


def _changes(ctx: Context) -> list[tuple[str, str]]:
    return [(SEAL, "封存"), (UNSEAL, "启封")]


#: A file of both kinds, each row naming its own (INTERFACES.md: 个人账号, 变更类型, 变更原因).
MIXED = "mixed"


class StatusChangeManifest(ManifestSpec):
    business = "status_change"
    title = "缴存人状态变更清册"
    columns = (
        Column("person_account", "个人账号", kind="code", required=True, width=18,
               note="12 位数字，末位为校验位"),
        Column("name", "姓名", kind="text", width=12, note="选填；填写时须与个人账号一致",
               cross_check=True),
        Column("seal_reason", "封存原因", kind="code", required=True, codes=_seal_reasons,
               width=20),
        Column("unseal_reason", "启封原因", kind="code", required=True, codes=_unseal_reasons,
               width=20),
        # A mixed file's: each row names its change and gives that change's reason code.
        Column("change", "变更类型", kind="code", required=True, codes=_changes, width=12),
        Column("reason", "变更原因", kind="code", required=True, width=20,
               note="填写该行变更类型的原因代码（封存、启封的代码表不同，见封存、启封模板）"),
    )
    change_types = (
        ChangeType(SEAL, "封存", ("person_account", "name", "seal_reason"),
                   picker_params=(("status", "01"),)),
        ChangeType(UNSEAL, "启封", ("person_account", "name", "unseal_reason"),
                   picker_params=(("status", "02"),)),
        ChangeType(MIXED, "封存与启封混合",
                   ("person_account", "name", "change", "reason"), entry=False),
    )
    change_type_field = "change"
    selectable = True
    display = (
        ("person_account", "个人账号", "text"), ("name", "姓名", "text"),
        ("id_number", "证件号码", "text"), ("change_name", "变更类型", "text"),
        ("reason_name", "变更原因", "text"), ("month", "生效年月", "text"),
    )
    picker = Picker(params=(("status", "01"),), showback=(
        ("name", "姓名", "text"), ("id_number", "证件号码", "text"),
        ("status_name", "账户状态", "text")))
    added_text = "缴存人状态变更清册录入成功：{name}（{change_name}）"
    in_this_manifest = "该职工已在清册中，如需修改请先删除原记录"
    in_other_application = "该职工已在另一笔未办结的状态变更中"
    empty_text = "清册为空：请选择封存或启封，单个录入或批量导入职工"

    def prepare(self, ctx: Context, start_data: dict) -> None:
        ctx.extra["month"] = remittance.month_after(ctx.due_month, ctx.latest_verified)

    def lookup(self, ctx: Context, keys: list[str]) -> dict:
        found = refs_by_account(ctx.unit_id, keys)
        ctx.extra["changed"] = status_change.changed_in([r.id for r in found.values()],
                                                        ctx.extra["month"])
        return found

    def check_row(self, ctx: Context, values: dict, change_type: ChangeType) -> NewRow:
        if change_type.key == MIXED:  # the row's own 变更类型 decides
            text = values.get("change") or ""
            found = code_of(_changes(ctx), text)
            if found is None:
                raise RowError({"change": "变更类型须为：封存 或 启封" if text
                                else "变更类型为必填项"})
            change_type = self.change_type(found)
        change = change_type.key
        problems: dict[str, str] = {}
        column = f"{change}_reason"
        header = self.column(column).header
        # The file's column, or `reason` as single entry and the API send it: a problem is
        # named by the field that was sent.
        sent = column if column in values or "reason" not in values else "reason"
        text = values.get(column) or values.get("reason") or ""
        reason = None
        if not text:
            problems[sent] = f"{header}为必填项"
        else:
            options = status_change.reasons(change, ctx.policy)
            reason = code_of(options, text)
            if reason is None:
                problems[sent] = f"{header}须为：" + "、".join(
                    f"{code} {label}" for code, label in options)
        account = self.own_account(ctx, values, problems)
        if account is not None:
            found = status_change.problem(change, account.status, ctx.unit_status,
                                          ctx.extra["month"], ctx.extra["changed"].get(account.id))
            if found:
                problems["person_account"] = found
        if problems:
            raise RowError(problems)
        return NewRow(account.account_no, account.id, {
            "person_account": account.account_no, "name": account.name,
            "id_number": account.id_number, "change": change, "change_name": change_type.label,
            "reason": reason, "reason_name": status_change.reason_label(change, reason, ctx.policy),
            "month": str(ctx.extra["month"]),
        })


MANIFEST = register_manifest(StatusChangeManifest())
