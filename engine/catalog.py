"""What a diagram may name, as the code registered it: forms, service-task handlers with
their parameters, lanes (roles) and message names. The studio offers these as choices and
validation accepts nothing else."""

from __future__ import annotations

import inspect

from forms import FORMS
from processes import HANDLERS
from processes.events import MESSAGES

from .actors import ROLES


def handler_parameters(name: str) -> list[dict] | None:
    """The parameters a handler takes from the diagram (after its context and task data);
    None when it accepts any (**kwargs) or is unknown."""
    handler = HANDLERS.get(name)
    if handler is None:
        return None
    parameters = list(inspect.signature(handler).parameters.values())[2:]
    if any(p.kind == p.VAR_KEYWORD for p in parameters):
        return None
    return [{"name": p.name, "required": p.default is p.empty} for p in parameters
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _summary(func) -> str:
    doc = inspect.getdoc(func) or ""
    return doc.split("\n\n")[0].replace("\n", " ")


def catalog() -> dict:
    return {
        "forms": [{"key": f.key, "title": f.title, "is_review": f.is_review}
                  for f in sorted(FORMS.values(), key=lambda f: f.key)],
        "handlers": [{"name": name, "summary": _summary(func),
                      "parameters": handler_parameters(name) or []}
                     for name, func in sorted(HANDLERS.items())],
        "lanes": [{"key": key, "name": name} for key, name in ROLES.items()],
        "messages": [{"name": name, "label": label} for name, label in MESSAGES.items()],
    }
