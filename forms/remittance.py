"""汇缴 forms: the employer's 单位汇缴核定 task (manual 5.1). The month defaults to the one
the unit must verify next; the persons and amounts are fixed by the database, not typed."""

from __future__ import annotations

from marshmallow import validate

from . import FieldSpec, TaskForm, register
from .fields import HallSchema, Str


class VerifySchema(HallSchema):
    #: Sent only to name the month explicitly; absent, the task's month stands.
    month = Str(validate=validate.Length(max=10, error="汇缴年月格式应为 YYYY-MM"))


VERIFY = register(TaskForm(
    key="remittance.verify",
    title="单位汇缴核定",
    schema=VerifySchema,
    layout=(
        FieldSpec("unit_account", "单位账号", readonly=True),
        FieldSpec("unit_name", "单位名称", readonly=True),
        FieldSpec("month", "汇缴年月", widget="month",
                  help="须逐月核定：默认为本单位下一个应核定的年月"),
    ),
    submit_label="汇缴核定",
    confirm="确定办理汇缴核定吗？核定后该月的缴存人数和金额即固定；缴款前可在汇缴核定查询中删除。",
))
