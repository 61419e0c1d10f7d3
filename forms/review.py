"""The centre reviewer's decision (审批): approve, or reject with a required opinion."""

from __future__ import annotations

from marshmallow import ValidationError, validate, validates_schema

from . import FieldSpec, TaskForm, register
from .fields import HallSchema, Str

APPROVE, REJECT = "approve", "reject"
DECISIONS = ((APPROVE, "审核通过"), (REJECT, "退回修改"))
OPINION_ON_REJECT = "退回时须填写审批意见，告诉单位需要修改什么"


class ReviewSchema(HallSchema):
    decision = Str(required=True, validate=validate.OneOf(
        [APPROVE, REJECT], error="审批结果须为 approve（审核通过）或 reject（退回修改）"))
    opinion = Str(load_default="", validate=validate.Length(
        max=500, error="审批意见不能超过 500 字"))

    @validates_schema
    def opinion_required_on_reject(self, data, **kwargs):
        if data.get("decision") == REJECT and not data.get("opinion"):
            raise ValidationError(OPINION_ON_REJECT, "opinion")


REVIEW = register(TaskForm(
    key="review",
    title="中心审批",
    schema=ReviewSchema,
    layout=(
        FieldSpec("decision", "审批结果", widget="radio", required=True, options=DECISIONS),
        FieldSpec("opinion", "审批意见", widget="textarea", max_length=500,
                  help="退回时必填；审核通过时可填写备注",
                  required_when=("decision", REJECT, OPINION_ON_REJECT)),
    ),
    submit_label="提交审批结果",
    confirm="确定提交审批结果吗？",
    is_review=True,
))
