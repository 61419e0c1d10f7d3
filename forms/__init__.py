"""The user-task forms, one module per business plus the shared review form.

A form is a marshmallow schema (what the server accepts) and a layout (what one renderer
draws, in the HTML hall and in the API's form description). A diagram's user task names
its form with the property `form`, e.g. `base_adjustment.edit` or `review`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from marshmallow import ValidationError

from services.errors import InvalidInput

from .fields import field_errors

READONLY_CHANGED = "置灰项不允许修改"


@dataclass(frozen=True)
class FieldSpec:
    """One field as drawn: `widget` is text | textarea | number | month | select | radio."""

    name: str
    label: str
    widget: str = "text"
    required: bool = False
    readonly: bool = False
    options: tuple[tuple[str, str], ...] = ()
    help: str = ""
    max_length: int | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "widget": self.widget,
                "required": self.required, "readonly": self.readonly,
                "options": [{"value": v, "label": label} for v, label in self.options],
                "help": self.help, "max_length": self.max_length}


@dataclass(frozen=True)
class TaskForm:
    key: str
    title: str
    schema: type
    layout: tuple[FieldSpec, ...]
    #: The business panel shown above the fields (e.g. the 清册), by business key.
    panel: str | None = None
    #: The label of the submit button.
    submit_label: str = "提交"
    #: A review form: its `decision` and `opinion` go to the approval trail.
    is_review: bool = False
    extra: dict = field(default_factory=dict)

    def describe(self) -> dict:
        return {"key": self.key, "title": self.title, "submit_label": self.submit_label,
                "panel": self.panel, "is_review": self.is_review,
                "fields": [f.to_dict() for f in self.layout]}

    def values(self, task_data: dict) -> dict:
        """Current values for the layout's fields, from the task's data."""
        return {f.name: task_data.get(f.name) for f in self.layout}

    def load(self, submitted: object, task_data: dict) -> dict:
        """Validate a submission. Read-only (置灰) fields may be sent back unchanged and are
        then dropped; a changed one is an error. Raises InvalidInput with field paths."""
        if not isinstance(submitted, dict):
            raise InvalidInput("提交的数据格式无效", {"data": ["数据格式无效，应为对象"]})
        data = dict(submitted)
        errors: dict[str, list[str]] = {}
        for spec in self.layout:
            if spec.readonly and spec.name in data:
                sent = data.pop(spec.name)
                if _text(sent) != _text(task_data.get(spec.name)):
                    errors[spec.name] = [READONLY_CHANGED]
        try:
            loaded = _schema(self.schema).load(data)
        except ValidationError as exc:
            errors.update(field_errors(exc))
            loaded = {}
        if errors:
            raise InvalidInput(describe_errors(errors, self.layout), errors)
        return loaded


@cache
def _schema(schema_class: type):
    """One instance per schema class: marshmallow schemas hold no per-load state."""
    return schema_class()


def describe_errors(errors: dict[str, list[str]], layout: tuple[FieldSpec, ...] = ()) -> str:
    labels = {f.name: f.label for f in layout}
    parts = [f"{labels.get(name, name)}：{'；'.join(messages)}" for name, messages in errors.items()]
    return "提交的数据有误：" + "；".join(parts)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


FORMS: dict[str, TaskForm] = {}
#: The 清册 of each business that has one, by business key (see forms.manifest).
MANIFESTS: dict = {}


def register(form: TaskForm) -> TaskForm:
    if form.key in FORMS:
        raise ValueError(f"duplicate form {form.key}")
    FORMS[form.key] = form
    return form


def _load() -> None:
    from . import base_adjustment, review  # noqa: F401  (modules register on import)


_load()
