"""A restricted environment for the Python in analysts' diagrams (scripts, conditions,
timer expressions, service-task parameters), bounded in time and memory.

What a snippet may contain and do is `sandbox_rules` (also what deploy checks). Where it
runs is decided here: an expression whose work is provably small runs in this process
(`sandbox_fast`: gateway conditions and notification texts, in microseconds); anything
else runs in a worker process that is killed at `MAX_SECONDS` (`sandbox_pool`), so no
snippet holds a server thread, the GIL or the action's transaction for longer, whatever it
does in C code. A refusal is a `ScriptRefused` with the reason in Chinese; a script's
changes reach the task data only once it has finished, all together.
"""

from __future__ import annotations

import decimal

from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from . import sandbox_fast
from .sandbox_pool import POOL
from .sandbox_rules import MAX_SCRIPT_LENGTH, ScriptRefused, apply, check

__all__ = ["MAX_SCRIPT_LENGTH", "MAX_SECONDS", "SandboxEnvironment", "ScriptRefused", "check"]

#: Wall-clock seconds a snippet may run (in a worker; the fast path stays far below).
MAX_SECONDS = 2.0


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates conditions and runs scripts against task data, sandboxed."""

    def evaluate(self, expression, context, external_context=None):
        source = expression.strip()
        value = sandbox_fast.evaluate(source, context, external_context)
        if value is sandbox_fast.NOT_FAST:
            value = _in_worker("eval", source, context, external_context)
        return value

    def execute(self, script, context, external_context=None):
        check(script, "exec")  # a refusal needs no worker
        apply(context, _in_worker("exec", script, context, external_context))
        return True

    def call_service(self, context, **kwargs):
        raise NotImplementedError("service tasks are dispatched by the script engine")


def _in_worker(mode: str, source: str, context: dict, external_context: dict | None):
    seconds = MAX_SECONDS
    return POOL.run((mode, source, context, external_context or {}, decimal.getcontext(),
                     seconds), seconds)
