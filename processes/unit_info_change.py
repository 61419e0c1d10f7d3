"""单位信息变更 handlers: check the 待变更清册 on 【完成办理】 (its fields decide, in the
diagram, whether the centre reviews first) and apply it, a change record per field."""

from __future__ import annotations

from services import info_changes, manifest_rows
from services.changes import Who
from services.errors import BusinessRuleViolation
from services.models import Unit
from services.units import get_unit

from . import Business, handler, register_business
from .context import HandlerContext

KEY = "unit_info_change"
NAME = "单位信息变更"


def initial_data(ctx: HandlerContext) -> dict:
    unit = get_unit(ctx.unit_id)
    return {"unit_account": unit.account.account_no, "unit_name": unit.name}


def summary(totals: manifest_rows.Totals) -> dict:
    return {"rows": totals.count}


BUSINESS = register_business(Business(key=KEY, name=NAME, single_open=True,
                                      initial_data=initial_data, summary=summary))


def stale_rows(rows: list[manifest_rows.Row], current: dict[str, str], whose: str = ""
               ) -> list[dict]:
    """Rows whose 原值 is no longer what is registered: someone changed it meanwhile."""
    return [{"row": row.position, "column": row.values["field_label"],
             "message": f"{whose}{row.values['field_label']}已被他人修改（当前为“"
                        f"{current.get(row.values['field'], '')}”），请删除该行后重新录入"}
            for row in rows if current.get(row.values["field"], "") != row.values["old_value"]]


@handler("unit_info_change.validate_manifest")
def validate_manifest(ctx: HandlerContext, data: dict) -> dict:
    """【完成办理】: the 清册 holds rows and each 原值 is still the registered value. Answers
    the changed fields, which the diagram's gateway reads (e.g. name or USCC: review)."""
    rows = list(manifest_rows.stream(ctx.instance_id))
    if not rows:
        raise BusinessRuleViolation("待变更清册为空，请先修改单位信息并点击【确定】，再完成办理")
    errors = stale_rows(rows, info_changes.unit_values(ctx.unit_id)) + _taken(ctx, rows)
    if errors:
        raise BusinessRuleViolation(f"待变更清册中有 {len(errors)} 项已不能变更，请修改后再提交",
                                    errors)
    return {"rows": len(rows), "fields": [row.values["field"] for row in rows]}


def _taken(ctx: HandlerContext, rows: list[manifest_rows.Row]) -> list[dict]:
    """Rows giving a 统一社会信用代码 another unit has registered since they were entered."""
    return [{"row": row.position, "column": row.values["field_label"],
             "message": info_changes.USCC_TAKEN} for row in rows
            if row.values["field"] == "uscc"
            and info_changes.uscc_taken(row.values["new_value"], ctx.unit_id)]


@handler("unit_info_change.apply")
def apply(ctx: HandlerContext, data: dict) -> dict:
    """All rows in the action's one transaction; a field changed meanwhile refuses all, and
    so does a 统一社会信用代码 another unit took during the review."""
    stored = list(manifest_rows.stream(ctx.instance_id))
    if errors := _taken(ctx, stored):
        raise BusinessRuleViolation("统一社会信用代码已登记为其他单位，本次变更不能生效，"
                                    "请退回单位修改", errors)
    rows = [row.values for row in stored]
    info_changes.apply(Unit.__table__, ctx.unit_id, rows, info_changes.UNIT_BY_NAME,
                       get_unit(ctx.unit_id).policy,
                       Who(ctx.initiator, ctx.initiator_name, NAME, ctx.instance_id),
                       unit_id=ctx.unit_id, subject="unit", whose="单位")
    return {"rows": len(rows), "items": "、".join(r["field_label"] for r in rows)}
