"""Request and response schemas of the JSON API (Chinese validation messages)."""

from __future__ import annotations

from marshmallow import EXCLUDE, fields, validate

from forms.fields import Bool, HallSchema, Int, Mapping, Str

from ..query_args import MAX_PAGE


class Page(HallSchema):
    page = Int(load_default=1, validate=validate.Range(
        min=1, max=MAX_PAGE, error=f"页码须在 1-{MAX_PAGE} 之间"))
    per_page = Int(load_default=20, validate=validate.Range(
        min=1, max=200, error="每页条数须在 1-200 之间"))


class LoginSchema(HallSchema):
    unit_account = Str(load_default=None, metadata={"description": "单位账号（经办人登录时必填）"})
    login_name = Str(required=True, validate=validate.Length(min=1, error="请输入登录名称"))
    password = Str(required=True, validate=validate.Length(min=1, error="请输入登录密码"))
    ukey = Mapping(load_default=None, metadata={
        "description": "UKey 签名：certificate, challenge_id, signature"})


class PasswordSchema(HallSchema):
    old = Str(required=True)
    new = Str(required=True)


class DataSchema(HallSchema):
    data = Mapping(load_default=dict, metadata={"description": "表单数据"})


class TerminateSchema(HallSchema):
    reason = Str(load_default="", validate=validate.Length(max=500, error="原因不能超过 500 字"))


class TaskListArgs(Page):
    list = Str(load_default="todo", validate=validate.OneOf(
        ["todo", "done", "initiated", "group"], error="须为 todo、done、initiated 或 group"))
    process_key = Str(load_default=None)
    since = fields.Date(load_default=None, error_messages={"invalid": "日期格式应为 YYYY-MM-DD"})
    until = fields.Date(load_default=None, error_messages={"invalid": "日期格式应为 YYYY-MM-DD"})


class PersonArgs(Page):
    status = Str(load_default=None)
    q = Str(load_default="")


class MessageArgs(Page):
    unread = Bool(load_default=False)


class TemplateArgs(HallSchema):
    change_type = Str(load_default=None)
    prefill = Bool(load_default=False)


class ManifestArgs(Page):
    per_page = Int(load_default=50, validate=validate.Range(
        min=1, max=500, error="每页条数须在 1-500 之间"))


class ImportForm(HallSchema):
    """multipart/form-data: the file and, where a business has several, the change type."""

    change_type = Str(load_default=None)
    #: Read from request.files by the view; here so the document shows it.
    file = fields.Raw(load_default=None, metadata={
        "type": "string", "format": "binary", "description": "从模板填写的 .xlsx（也读 .xls、.ods）"})

    class Meta:
        unknown = EXCLUDE  # a browser form may also carry csrf_token
