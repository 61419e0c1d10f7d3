"""Where the engine finds forms, handlers and businesses: by the names in the diagrams."""

from __future__ import annotations

from forms import FORMS, MANIFESTS, TaskForm
from processes import BUSINESSES, HANDLERS, Business
from services.errors import NotFound


def form(key: str) -> TaskForm:
    try:
        return FORMS[key]
    except KeyError:
        raise NotFound(f"表单 {key} 不存在") from None


def business(key: str, name: str = "") -> Business:
    return BUSINESSES.get(key) or Business(key=key, name=name or key)


def is_business(key: str) -> bool:
    return key in BUSINESSES


def manifest(key: str):
    return MANIFESTS.get(key)


def has_handler(name: str) -> bool:
    return name in HANDLERS


def has_form(key: str) -> bool:
    return key in FORMS
