"""The script engine every workflow runs with: sandboxed Python for scripts and conditions,
and service tasks dispatched to the registered handlers in `processes`.

The sandbox bounds each snippet (`sandbox.MAX_SECONDS`); an action also bounds how many
snippets it runs and their total time, since a diagram that loops through scripts and
gateways without waiting for anyone would otherwise hold its thread and transaction
forever, one quick snippet at a time.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.exceptions import WorkflowException

from processes import HANDLERS
from processes.context import HandlerContext

from . import sandbox

#: The application being advanced, set by the runner around engine steps.
current_context: ContextVar[HandlerContext | None] = ContextVar("current_context", default=None)
#: Snippets one action (one `current_context`) may run, and their total wall-clock seconds
#: (the last snippet may still run its own `sandbox.MAX_SECONDS`). The hall's actions run a
#: handful; a loop of ~500 passes would anyway end silently in a stuck instance, as
#: SpiffWorkflow stops looking for tasks 1,000 levels down its task tree.
MAX_SNIPPETS_PER_ACTION = 200
MAX_SECONDS_PER_ACTION = 5.0
#: [the action's context, snippets run, seconds spent] for the action in progress.
_spent: ContextVar[list | None] = ContextVar("snippets_spent", default=None)


def _json_default(value):
    if isinstance(value, (Decimal, date)):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class HallScriptEngine(PythonScriptEngine):
    def __init__(self):
        super().__init__(environment=sandbox.SandboxEnvironment())

    def validate(self, expression):
        sandbox.check(expression)

    def evaluate(self, task, expression, external_context=None):
        """SpiffWorkflow's, with the reason an expression failed added to its report (it
        says only which expression failed: "Error evaluating expression …")."""
        with _budget(task):
            try:
                return super().evaluate(task, expression, external_context)
            except WorkflowTaskException as exc:
                cause = exc.__context__
                if cause is not None and not isinstance(cause, WorkflowException):
                    exc.add_note(str(cause) if isinstance(cause, sandbox.ScriptRefused)
                                 else f"{type(cause).__name__}: {cause}")
                raise

    def execute(self, task, script, external_context=None):
        with _budget(task):
            return super().execute(task, script, external_context)

    def create_task_exec_exception(self, task, script, err):
        """SpiffWorkflow's, but an error whose first argument is not text (KeyError(1),
        decimal's signals) is reported instead of failing to be reported."""
        if err.args and not isinstance(err.args[0], str):
            try:
                err.args = (str(err.args[0]), *err.args[1:])
            except (AttributeError, TypeError):
                pass
        return super().create_task_exec_exception(task, script, err)

    def call_service(self, task, operation_name=None, operation_params=None):
        handler = HANDLERS.get(operation_name)
        context = current_context.get()
        if handler is None or context is None:
            raise WorkflowTaskException(f"服务 {operation_name} 不可用", task=task)
        params = {name: param["value"] for name, param in (operation_params or {}).items()}
        result = handler(context, task.data, **params)
        return json.dumps(result or {}, default=_json_default, ensure_ascii=False)


@contextmanager
def _budget(task):
    """Count one snippet against the action in progress (none outside an action)."""
    action = current_context.get()
    if action is None:
        yield
        return
    spent = _spent.get()
    if spent is None or spent[0] is not action:
        spent = [action, 0, 0.0]
        _spent.set(spent)
    reason = None
    if spent[1] >= MAX_SNIPPETS_PER_ACTION:
        reason = f"本次操作运行的脚本超过 {MAX_SNIPPETS_PER_ACTION} 段，流程可能陷入了循环"
    elif spent[2] > MAX_SECONDS_PER_ACTION:
        reason = f"本次操作中脚本累计运行超过 {MAX_SECONDS_PER_ACTION:g} 秒"
    if reason:
        raise WorkflowTaskException(reason, task=task, exception=sandbox.ScriptRefused(reason))
    spent[1] += 1
    started = time.monotonic()
    try:
        yield
    finally:
        spent[2] += time.monotonic() - started


SCRIPT_ENGINE = HallScriptEngine()
