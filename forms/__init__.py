"""The user-task forms, one module per business plus the shared review form.

A form is a marshmallow schema (what the server accepts) and a layout (what one renderer
draws, in the HTML hall and in the API's form description). A diagram's user task names
its form with the property `form`, e.g. `base_adjustment.edit` or `review`.
"""

from __future__ import annotations

import importlib
import pkgutil
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
    #: Required only while another field holds a value: (field, value, the message), so
    #: the page asks for it before its confirmation (the schema checks it as well).
    required_when: tuple[str, str, str] | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "widget": self.widget,
                "required": self.required, "readonly": self.readonly,
                "options": [{"value": v, "label": label} for v, label in self.options],
                "help": self.help, "max_length": self.max_length,
                "required_when": list(self.required_when) if self.required_when else None}


#: `TaskForm.panel` of a task in which the unit edits the 清册.
MANIFEST_PANEL = "manifest"


@dataclass(frozen=True)
class TaskForm:
    key: str
    title: str
    schema: type
    layout: tuple[FieldSpec, ...]
    #: The panel shown above the fields: "manifest" for the application's 清册, editable
    #: while this task waits (录入、导入、删除); "manifest_view" shows it read-only (a task
    #: after the centre approved it, such as 打印补缴书, must not change what was approved).
    panel: str | None = None
    #: The label of the submit button.
    submit_label: str = "提交"
    #: Asked before the form is submitted (确定 / 取消); empty asks nothing.
    confirm: str = ""
    #: A review form: its `decision` and `opinion` go to the approval trail.
    is_review: bool = False
    extra: dict = field(default_factory=dict)

    def describe(self) -> dict:
        return {"key": self.key, "title": self.title, "submit_label": self.submit_label,
                "panel": self.panel, "is_review": self.is_review, "confirm": self.confirm,
                "fields": [f.to_dict() for f in self.layout]}

    def values(self, task_data: dict) -> dict:
        """Current values for the layout's fields, from the task's data."""
        return {f.name: task_data.get(f.name) for f in self.layout}

    @property
    def edits_manifest(self) -> bool:
        return self.panel == MANIFEST_PANEL

    @property
    def answers(self) -> tuple[str, ...]:
        """The fields a person fills in (not the 置灰 ones shown for reference): what this
        round's task starts without, whatever an earlier round of a loop answered."""
        return tuple(f.name for f in self.layout if not f.readonly)

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
#: The 清册 of each business that has one, by business key (see forms.manifest_spec).
MANIFESTS: dict = {}
#: Modules of this package that hold no business's forms.
_SHARED = {"fields", "manifest_spec", "manifest_file"}


def register(form: TaskForm) -> TaskForm:
    if form.key in FORMS:
        raise ValueError(f"duplicate form {form.key}")
    FORMS[form.key] = form
    return form


def register_manifest(spec):
    """A business's 清册 spec, found by its business key."""
    if spec.business in MANIFESTS:
        raise ValueError(f"duplicate manifest {spec.business}")
    MANIFESTS[spec.business] = spec
    return spec


def _load() -> None:
    """Every module of the package registers its forms on import: a new business's form
    module is found by being here, not by a hand-kept list."""
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _SHARED:
            importlib.import_module(f"{__name__}.{module.name}")


_load()
