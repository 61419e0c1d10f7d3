"""marshmallow fields and schema base with the Chinese messages users read."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields

from services.months import YearMonth

_COMMON = {"required": "必填项", "null": "不能为空", "validator_failed": "值无效"}


class HallSchema(Schema):
    """Unknown fields are refused, with a Chinese message."""

    error_messages = {"unknown": "不允许的字段", "type": "数据格式无效，应为对象"}

    class Meta:
        unknown = RAISE


class Str(fields.String):
    default_error_messages = {**_COMMON, "invalid": "须为文本", "invalid_utf8": "须为有效的文本"}

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class Dec(fields.Decimal):
    default_error_messages = {**_COMMON, "invalid": "须为数字", "special": "须为有效的数字"}

    def __init__(self, **kwargs):
        super().__init__(as_string=True, **kwargs)


class Int(fields.Integer):
    default_error_messages = {**_COMMON, "invalid": "须为整数", "too_large": "数值过大"}


class Bool(fields.Boolean):
    default_error_messages = {**_COMMON, "invalid": "须为 true 或 false"}


class Mapping(fields.Dict):
    default_error_messages = {**_COMMON, "invalid": "数据格式无效，应为对象"}


class Month(fields.Field):
    """A year-month (YYYY-MM) as a `YearMonth`."""

    default_error_messages = {**_COMMON, "invalid": "年月格式应为 YYYY-MM"}

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return YearMonth.parse(value)
        except ValueError:
            raise self.make_error("invalid") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class IdList(fields.Field):
    """Row ids chosen on a page: a list, one id, or none (an HTML form sends a checkbox
    ticked once as a single value)."""

    default_error_messages = {**_COMMON, "invalid": "须为行号列表"}

    def _deserialize(self, value, attr, data, **kwargs):
        items = value if isinstance(value, list) else [value]
        try:
            return sorted({int(str(item)) for item in items if str(item).strip()})
        except ValueError:
            raise self.make_error("invalid") from None


def flatten_messages(messages: object, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as {"a.b": [messages]} (list items by index)."""
    flat: dict[str, list[str]] = {}

    def walk(path: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{path}.{key}" if path else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat.setdefault(path or "_schema", []).extend(value)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(f"{path}.{index}", inner)
        else:
            flat.setdefault(path or "_schema", []).append(str(value))

    walk(prefix, messages)
    return flat


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    return flatten_messages(error.messages)
