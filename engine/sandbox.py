"""A restricted environment for the Python in analysts' diagrams (scripts, conditions,
timer expressions, service-task parameters).

SpiffWorkflow's default engine is plain `exec` with full builtins. Here every snippet is
parsed first and refused unless it uses only a whitelist of syntax: no imports, no
function or class definitions, no `while`, no attribute starting with `_`, no `format`
(whose field syntax reaches attributes at run time), no dunder names; it then runs with a
small set of builtins. The same check runs at deploy (refusing the diagram) and before
every evaluation (so nothing unchecked ever runs).
"""

from __future__ import annotations

import ast
import sys
from datetime import date
from decimal import Decimal
from functools import lru_cache

from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

MAX_SCRIPT_LENGTH = 20_000
MAX_RANGE = 100_000
MAX_POWER = 64
#: Longest string or list a script may build by repetition, and the biggest integer.
MAX_SEQUENCE = 1_000_000
MAX_INT_BITS = 4096
#: Lines a snippet may execute (loops and comprehensions count each pass).
MAX_STEPS = 1_000_000


class ScriptRefused(ValueError):
    """A snippet uses something the sandbox does not allow."""


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise ScriptRefused(f"range 过大（上限 {MAX_RANGE}）")
    return result


SAFE_BUILTINS = {
    "abs": abs, "all": all, "any": any, "bool": bool, "dict": dict, "enumerate": enumerate,
    "int": int, "len": len, "list": list, "max": max, "min": min, "round": round,
    "sorted": sorted, "str": str, "sum": sum, "tuple": tuple, "zip": zip, "set": set,
    "range": _safe_range, "isinstance": isinstance, "Decimal": Decimal, "date": date,
    "True": True, "False": False, "None": None,
}

_ALLOWED_NODES = (
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.If,
    ast.For, ast.Break, ast.Continue, ast.Pass, ast.Delete,
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Compare, ast.Call, ast.keyword,
    ast.Constant, ast.Name, ast.Load, ast.Store, ast.Del, ast.Attribute, ast.Subscript,
    ast.Slice, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.SetComp,
    ast.DictComp, ast.GeneratorExp, ast.comprehension, ast.JoinedStr, ast.FormattedValue,
    ast.Starred, ast.operator, ast.boolop, ast.unaryop, ast.cmpop, ast.expr_context,
)
_DENIED_NAMES = {
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "globals", "locals",
    "vars", "type", "object", "breakpoint", "input", "help", "memoryview", "dir", "super",
    "classmethod", "staticmethod", "property", "print", "exit", "quit", "bytearray",
}
_DENIED_ATTRIBUTES = {"format", "format_map", "mro", "gi_frame", "gi_code", "f_globals",
                      "f_locals", "f_back", "cr_frame", "ag_frame", "tb_frame"}


@lru_cache(maxsize=2048)
def check(source: str, mode: str = "exec") -> ast.AST:
    """Parse and vet a snippet; raises ScriptRefused with the reason (Chinese)."""
    if not isinstance(source, str):
        raise ScriptRefused("脚本必须是文本")
    if len(source) > MAX_SCRIPT_LENGTH:
        raise ScriptRefused(f"脚本过长（上限 {MAX_SCRIPT_LENGTH} 个字符）")
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ScriptRefused(f"脚本语法错误（第 {exc.lineno} 行）：{exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ScriptRefused(f"脚本中不允许使用 {type(node).__name__}（第 "
                                f"{getattr(node, 'lineno', '?')} 行）")
        if isinstance(node, ast.Name) and (node.id.startswith("__") or node.id in _DENIED_NAMES):
            raise ScriptRefused(f"脚本中不允许使用名称 {node.id}（第 {node.lineno} 行）")
        if isinstance(node, ast.Attribute) and (node.attr.startswith("_")
                                                or node.attr in _DENIED_ATTRIBUTES):
            raise ScriptRefused(f"脚本中不允许访问属性 {node.attr}（第 {node.lineno} 行）")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.startswith("__"):
            raise ScriptRefused(f"脚本中不允许使用字符串 {node.value!r}")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and (
                not (isinstance(node.right, ast.Constant) and isinstance(node.right.value, int)
                     and abs(node.right.value) <= MAX_POWER)
                or (isinstance(node.left, ast.BinOp) and isinstance(node.left.op, ast.Pow))):
            raise ScriptRefused(f"乘方的指数须为不超过 {MAX_POWER} 的整数常量，且不能连续乘方")
    return tree


def _too_big(value: object) -> bool:
    if isinstance(value, (str, bytes, list, tuple)):
        return len(value) > MAX_SEQUENCE
    return isinstance(value, int) and value.bit_length() > MAX_INT_BITS


def _guarded(op, a, b):
    """Repetition, powers and shifts whose result would be huge are refused before they run."""
    if isinstance(op, ast.Mult):
        for seq, count in ((a, b), (b, a)):
            if isinstance(seq, (str, bytes, list, tuple)) and isinstance(count, int) \
                    and len(seq) * count > MAX_SEQUENCE:
                raise ScriptRefused(f"结果过长（上限 {MAX_SEQUENCE}）")
        result = a * b
    elif isinstance(op, ast.Pow):
        if isinstance(a, int) and isinstance(b, int) and a.bit_length() * abs(b) > MAX_INT_BITS:
            raise ScriptRefused("乘方结果过大")
        result = a ** b
    else:
        if isinstance(b, int) and b > MAX_INT_BITS:
            raise ScriptRefused("移位过大")
        result = a << b
    if _too_big(result):
        raise ScriptRefused("计算结果过大")
    return result


_GUARDED_OPS = (ast.Mult, ast.Pow, ast.LShift)
_GUARD = "__hall_guarded__"


class _Guard(ast.NodeTransformer):
    """Rewrites a * b, a ** b, a << b (and their augmented forms) into guarded calls."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, _GUARDED_OPS):
            return node
        return ast.copy_location(self._call(node.op, node.left, node.right), node)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, _GUARDED_OPS) or not isinstance(node.target, ast.Name):
            return node
        load = ast.Name(id=node.target.id, ctx=ast.Load())
        return ast.copy_location(ast.Assign(targets=[node.target],
                                            value=self._call(node.op, load, node.value)), node)

    @staticmethod
    def _call(op, left, right):
        index = _GUARDED_OPS.index(type(op))
        return ast.Call(func=ast.Name(id=_GUARD, ctx=ast.Load()),
                        args=[ast.Constant(index), left, right], keywords=[])


def _guard_call(index: int, a, b):
    return _guarded(_GUARDED_OPS[index](), a, b)


@lru_cache(maxsize=2048)
def _compiled(source: str, mode: str):
    tree = ast.fix_missing_locations(_Guard().visit(check(source, mode)))
    return compile(tree, FILENAME, mode)


FILENAME = "<diagram>"


def _run(code, scope: dict, runner):
    """Run compiled snippet code with a step budget, so a runaway loop stops."""
    steps = 0

    def local(frame, event, arg):
        nonlocal steps
        if event == "line":
            steps += 1
            if steps > MAX_STEPS:
                raise ScriptRefused(f"脚本运行步数超过上限（{MAX_STEPS}）")
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == FILENAME else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return runner(code, scope)
    finally:
        sys.settrace(previous)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates conditions and runs scripts against task data, sandboxed."""

    def evaluate(self, expression, context, external_context=None):
        code = _compiled(expression.strip(), "eval")
        return _run(code, self._scope(context, external_context), eval)

    def execute(self, script, context, external_context=None):
        scope = self._scope(context, external_context)
        _run(_compiled(script, "exec"), scope, exec)
        for key, value in scope.items():
            if key in ("__builtins__", _GUARD) or callable(value) \
                    or key in (external_context or {}):
                continue
            context[key] = value
        for key in [k for k in context if k not in scope]:
            del context[key]
        return True

    @staticmethod
    def _scope(context, external_context) -> dict:
        scope = {"__builtins__": SAFE_BUILTINS, _GUARD: _guard_call}
        scope.update(external_context or {})
        scope.update(context)
        return scope

    def call_service(self, context, **kwargs):
        raise NotImplementedError("service tasks are dispatched by the script engine")
