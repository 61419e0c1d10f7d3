"""The script engine every workflow runs with: sandboxed Python for scripts and conditions,
and service tasks dispatched to the registered handlers in `processes`."""

from __future__ import annotations

import json
from contextvars import ContextVar
from datetime import date
from decimal import Decimal

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from processes import HANDLERS
from processes.context import HandlerContext

from . import sandbox

#: The application being advanced, set by the runner around engine steps.
current_context: ContextVar[HandlerContext | None] = ContextVar("current_context", default=None)


def _json_default(value):
    if isinstance(value, (Decimal, date)):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class HallScriptEngine(PythonScriptEngine):
    def __init__(self):
        super().__init__(environment=sandbox.SandboxEnvironment())

    def validate(self, expression):
        sandbox.check(expression)

    def call_service(self, task, operation_name=None, operation_params=None):
        handler = HANDLERS.get(operation_name)
        context = current_context.get()
        if handler is None or context is None:
            raise WorkflowTaskException(f"服务 {operation_name} 不可用", task=task)
        params = {name: param["value"] for name, param in (operation_params or {}).items()}
        result = handler(context, task.data, **params)
        return json.dumps(result or {}, default=_json_default, ensure_ascii=False)


SCRIPT_ENGINE = HallScriptEngine()
