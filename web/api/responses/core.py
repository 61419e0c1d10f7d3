"""What the JSON API answers, for the OpenAPI document only (handlers build their own
dicts; nothing is dumped through these). Each schema names the fields a client relies on
with their JSON types; answers may carry more (a business's 清册 columns, its summary),
so extra properties are allowed. tests/web/test_openapi.py checks every answer the
suite's API calls receive against this document, and schemathesis fuzzes it."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields

Text = fields.String
#: Amounts travel as text with two decimals (1234.50), never as floats.
Money = fields.String


def maybe(field: fields.Field) -> fields.Field:
    field.allow_none = True
    return field


class Doc(Schema):
    class Meta:
        unknown = INCLUDE
        ordered = True


class Error(Doc):
    """Every refusal: a code in words, a message users read, problems by field path."""

    code = Text(required=True, metadata={"description": "错误代码（英文单词，如 conflict）"})
    message = Text(required=True, metadata={"description": "中文说明"})
    errors = fields.Raw(required=True, metadata={
        "description": "字段路径 → 问题列表（如 {\"data.remark\": [\"…\"]}）；"
                       "文件导入时为逐行的问题列表",
        "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]})
    instance_id = fields.Integer(metadata={
        "description": "冲突所涉的业务（如再次发起时那笔未办结的申请）"})


class Ok(Doc):
    ok = fields.Boolean(required=True)


class Csrf(Doc):
    csrf_token = Text(required=True)


class Challenge(Doc):
    challenge_id = Text(required=True)
    nonce = Text(required=True)
    expires_in = fields.Integer(required=True)


class User(Doc):
    kind = Text(required=True, metadata={"description": "operator 或 staff"})
    id = fields.Integer(required=True)
    name = Text(required=True)
    unit_id = maybe(fields.Integer(required=True))
    groups = fields.List(Text())
    role = Text()


class LoggedIn(Csrf):
    user = fields.Nested(User, required=True)


class PasswordChanged(Csrf):
    ok = fields.Boolean(required=True)


class Task(Doc):
    task_id = maybe(Text(required=True))
    title = Text(required=True)
    state = Text(required=True, metadata={"description": "ready / completed / cancelled"})
    lane = maybe(Text())
    process_key = Text(required=True)
    business = Text()
    instance_id = fields.Integer(required=True)
    assignee = maybe(Text())
    created_at = maybe(Text())
    completed_at = maybe(Text())
    completed_by = maybe(Text())
    decision = maybe(Text())
    opinion = maybe(Text())
    unit_account = maybe(Text())
    unit_name = maybe(Text())


class Paged(Doc):
    total = fields.Integer(required=True, metadata={"description": "匹配总数（上限 10000）"})
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class TaskPage(Paged):
    total = fields.Integer(required=True, metadata={"description": "匹配总数（上限 1000）"})
    items = fields.List(fields.Nested(Task), required=True)


class Instance(Doc):
    instance_id = fields.Integer(required=True)
    process_key = Text(required=True)
    business = Text(required=True)
    version = fields.Integer(required=True)
    status = Text(required=True, metadata={"description": "running / completed / terminated"})
    status_name = Text(required=True)
    created_at = maybe(Text())
    ended_at = maybe(Text())
    initiator = maybe(Text())
    unit_id = maybe(fields.Integer())
    unit_account = maybe(Text())
    unit_name = maybe(Text())
    summary = maybe(fields.Dict(metadata={"description": "业务摘要（人数、合计）"}))
    tasks = fields.List(fields.Nested(Task), required=True)
    waiting = fields.List(Text(), metadata={
        "description": "办理中且不在任何人手中时所等待的环节（如 缴款到账），按流程图的名称"})


class TaskDetail(Task):
    form = maybe(fields.Dict(metadata={"description": "表单：字段、确认语、提交按钮"}))
    instance = fields.Nested(Instance, required=True)
    values = maybe(fields.Dict(metadata={"description": "本轮已填写（或已提交）的数据"}))


class Started(Doc):
    instance_id = fields.Integer(required=True)
    tasks = fields.List(fields.Nested(Task), required=True)


class HistoryEvent(Doc):
    type = Text(required=True)
    type_name = Text()
    element_id = maybe(Text())
    element_name = maybe(Text())
    actor = maybe(Text())
    actor_key = maybe(Text())
    at = Text(required=True)
    lane = maybe(Text())
    decision = maybe(Text())
    opinion = maybe(Text())


class History(Doc):
    items = fields.List(fields.Nested(HistoryEvent), required=True)


class Trail(Doc):
    items = fields.List(fields.Nested(Task), required=True)


class Flowchart(Doc):
    bpmn_xml = Text(required=True)
    version = fields.Integer(required=True)
    completed = fields.List(Text(), required=True)
    active = fields.List(Text(), required=True)
    cancelled = fields.List(Text(), required=True)
    flows = fields.List(Text())
    details = fields.Dict(keys=Text(), values=fields.List(fields.Dict()))


class ManifestRow(Doc):
    """A 清册 row: its id and 序号, its amount, and the business's own columns."""

    row_id = fields.Integer(required=True)
    seq = fields.Integer(required=True)
    amount = Money(required=True)


class ManifestPage(Doc):
    items = fields.List(fields.Nested(ManifestRow), required=True)
    count = fields.Integer(required=True)
    total_amount = Money(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class Imported(Doc):
    imported = fields.Integer(required=True)
    skipped = fields.Integer()


class Queued(Doc):
    job_id = Text(required=True)
    state = Text(required=True)
    status_url = Text(required=True)
    page_url = Text()


class Job(Doc):
    job_id = Text(required=True)
    kind = Text(required=True)
    title = Text()
    state = Text(required=True)
    state_name = Text()
    done = fields.Integer()
    total = fields.Integer()
    percent = fields.Integer()
    result = maybe(fields.Dict())
    error = maybe(Text())
    errors = maybe(fields.Raw())
    download = maybe(Text())
    attempts = fields.Integer()
    created_at = maybe(Text())
    finished_at = maybe(Text())


class Person(Doc):
    person_account = Text(required=True)
    name = Text(required=True)
    id_type = maybe(Text())
    id_type_name = maybe(Text(metadata={"description": "证件类型名称（如 身份证）"}))
    id_number = Text()
    id_number_masked = Text()
    status = Text(required=True)
    status_name = Text()
    base = Money()
    person_rate = Text()
    unit_amount = Money()
    person_amount = Money()
    monthly_amount = Money()
    paid_through = maybe(Text())


class PersonPage(Paged):
    items = fields.List(fields.Nested(Person), required=True)


class Message(Doc):
    id = fields.Integer(required=True)
    business = maybe(Text())
    content = Text(required=True)
    at = Text()
    channel = Text()
    instance_id = maybe(fields.Integer())
    read = fields.Boolean(required=True)


class MessagePage(Doc):
    items = fields.List(fields.Nested(Message), required=True)
    total = fields.Integer(required=True, metadata={"description": "匹配总数（上限 1000）"})
    unread = fields.Integer()


class Counters(Doc):
    unread_messages = fields.Integer(required=True)
    todo = fields.Integer(required=True)
    group = fields.Integer()


class Unit(Doc):
    unit_account = Text(required=True)
    name = Text(required=True)
    uscc = maybe(Text())
    status = Text(required=True)
    status_name = Text()
    unit_rate = Text()
    person_rate = Text()
    due_month = maybe(Text())
    paid_through = maybe(Text())
    active_persons = fields.Integer()
    monthly_total = Money()
    balance = Money()
    unallocated = Money()


class Process(Doc):
    key = Text(required=True)
    name = Text(required=True)
    version = fields.Integer(required=True)
    deployed_at = maybe(Text())


class Processes(Doc):
    items = fields.List(fields.Nested(Process), required=True)


class Version(Process):
    sha256 = Text()
    deployed_by = maybe(Text())
    running = fields.Integer(metadata={"description": "该版本上办理中的申请数"})
    bpmn_xml = Text()


class Versions(Doc):
    items = fields.List(fields.Nested(Version), required=True)


class Deployed(Doc):
    key = Text(required=True)
    version = fields.Integer(required=True)
    changed = fields.Boolean(required=True)


class Verified(Doc):
    genuine = fields.Boolean(required=True)
    code = Text()
    kind = Text()
    title = Text()


class Items(Doc):
    """A list answer whose rows are described in the operation's text."""

    items = fields.List(fields.Dict(), required=True)


#: Files (templates, exports, printed documents): (content type, description).
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def file_response(kind: str) -> dict:
    """alt_response arguments of a file answer."""
    content_type = {"PDF": PDF, "XLSX": XLSX}.get(kind, "application/octet-stream")
    return {"content_type": content_type, "description": "文件（附件下载）",
            "schema": {"type": "string", "format": "binary"}}


def _multipart(**properties) -> dict:
    return {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": properties}}}}


#: Request bodies handlers read themselves (not through a marshmallow schema).
BODIES = {
    "ROW": {"required": True, "description": "一行清册数据：业务清册的列（见 INTERFACES.md 与模板），"
            "可带 change_type（同一业务有几种变更时）",
            "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": True,
                "properties": {"change_type": {"type": "string"}}}}}},
    "BPMN": _multipart(file={"type": "string", "format": "binary", "description": ".bpmn 文件"}),
    "PAYMENT": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": False,
        "required": ["unit_account", "amount", "method", "reference", "idempotency_key"],
        "properties": {"unit_account": {"type": "string"},
                       "amount": {"type": "string", "description": "元，两位小数"},
                       "method": {"type": "string", "enum": ["transfer", "collection"]},
                       "reference": {"type": "string"},
                       "idempotency_key": {"type": "string",
                                           "description": "8-80 个可见 ASCII 字符"}}}}}},
}

