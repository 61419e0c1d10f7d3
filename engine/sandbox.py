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
from datetime import date
from decimal import Decimal
from functools import lru_cache

from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

MAX_SCRIPT_LENGTH = 20_000
MAX_RANGE = 100_000
MAX_POWER = 64


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
    ast.For, ast.Break, ast.Continue, ast.Pass, ast.Delete, ast.Return,
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
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and not (
                isinstance(node.right, ast.Constant) and isinstance(node.right.value, int)
                and abs(node.right.value) <= MAX_POWER):
            raise ScriptRefused(f"乘方的指数须为不超过 {MAX_POWER} 的整数常量")
    return tree


def check_expression(source: str) -> None:
    check(source.strip(), "eval")


@lru_cache(maxsize=2048)
def _compiled(source: str, mode: str):
    return compile(check(source, mode), "<diagram>", mode)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates conditions and runs scripts against task data, sandboxed."""

    def evaluate(self, expression, context, external_context=None):
        scope = {"__builtins__": SAFE_BUILTINS}
        scope.update(external_context or {})
        scope.update(context)
        return eval(_compiled(expression.strip(), "eval"), scope)

    def execute(self, script, context, external_context=None):
        scope = {"__builtins__": SAFE_BUILTINS}
        scope.update(external_context or {})
        scope.update(context)
        exec(_compiled(script, "exec"), scope)
        for key, value in scope.items():
            if key == "__builtins__" or callable(value) or key in (external_context or {}):
                continue
            context[key] = value
        for key in [k for k in context if k not in scope]:
            del context[key]
        return True

    def call_service(self, context, **kwargs):
        raise NotImplementedError("service tasks are dispatched by the script engine")
