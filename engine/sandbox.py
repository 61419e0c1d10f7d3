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
import os
import re
import sys
import time
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
#: Lines a snippet may execute (loops and comprehensions count each pass), the seconds it
#: may run, and how much it may grow the process's memory (checked every few lines).
MAX_STEPS = 1_000_000
MAX_SECONDS = 2.0
MAX_MEMORY_GROWTH = 256 * 1024 * 1024
MEMORY_CHECK_EVERY = 64
#: Biggest Decimal (in digits before the point) that int() or round() may turn into an int.
MAX_INT_DIGITS = MAX_INT_BITS * 3 // 10


class ScriptRefused(ValueError):
    """A snippet uses something the sandbox does not allow."""


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise ScriptRefused(f"range 过大（上限 {MAX_RANGE}）")
    return result


def _not_huge(value):
    if isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) > MAX_INT_DIGITS:
        raise ScriptRefused(f"数值过大（上限 {MAX_INT_DIGITS} 位整数）")
    return value


def _safe_int(*args):
    if args and isinstance(args[0], str) and len(args[0]) > MAX_INT_DIGITS:
        raise ScriptRefused(f"数字文本过长（上限 {MAX_INT_DIGITS} 位）")
    return int(*(_not_huge(a) for a in args))


def _safe_round(number, *args):
    return round(_not_huge(number) if not args else number, *args)


def _small(value, budget: int = MAX_SEQUENCE):
    """`value` if it holds at most `budget` items and characters all told, else refused:
    what str(), an f-string or a stored result would have to build from it."""
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            seen += len(item)
        elif isinstance(item, dict):
            seen += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            seen += len(item)
            stack.extend(item)
        else:
            seen += 1
        if seen > budget:
            raise ScriptRefused(f"数据过大（上限 {budget} 个元素或字符）")
    return value


def _safe_str(*args):
    return str(*(_small(a) for a in args[:1]), *args[1:])


def _safe_sum(iterable, start=0):
    if not isinstance(start, (int, float, Decimal)):
        raise ScriptRefused("sum 只能用于数值求和")
    return sum(iterable, start)


def _formatted(value):
    """What an f-string may format: nothing huge (a Decimal of 1E+300000000 formatted with
    :f would be a 300 MB string)."""
    return _small(_not_huge(value))


SAFE_BUILTINS = {
    "abs": abs, "all": all, "any": any, "bool": bool, "dict": dict, "enumerate": enumerate,
    "int": _safe_int, "len": len, "list": list, "max": max, "min": min, "round": _safe_round,
    "sorted": sorted, "str": _safe_str, "sum": _safe_sum, "tuple": tuple, "zip": zip,
    "set": set,
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
#: Attributes a snippet may use: reading task data (dict, list, str, Decimal, date) and
#: building small results. Everything else is refused, including methods that reach
#: attributes at run time (format) or multiply sizes (join, replace, ljust, zfill…).
_ALLOWED_ATTRIBUTES = {
    "get", "keys", "values", "items", "setdefault", "update", "pop", "copy",
    "append", "insert", "remove", "sort", "reverse", "index", "count",
    "add", "discard", "union", "intersection", "difference",
    "strip", "lstrip", "rstrip", "lower", "upper", "startswith", "endswith", "split",
    "isdigit", "isdecimal", "isalpha", "isalnum", "isspace",
    "quantize", "is_zero", "is_signed", "copy_abs",
    "year", "month", "day", "isoformat", "weekday", "isoweekday",
}
#: A format spec in an f-string may not ask for a width or precision above 99.
_FORMAT_SPEC = re.compile(r"[<>^=]?[+\- ]?[0-9]{0,2}[,_]?(\.[0-9]{1,2})?[a-zA-Z%]?")


@lru_cache(maxsize=2048)
def check(source: str, mode: str = "exec") -> ast.AST:
    """Parse and vet a snippet; raises ScriptRefused with the reason (Chinese)."""
    if not isinstance(source, str):
        raise ScriptRefused("脚本必须是文本")
    if len(source) > MAX_SCRIPT_LENGTH:
        raise ScriptRefused(f"脚本过长（上限 {MAX_SCRIPT_LENGTH} 个字符）")
    try:
        tree = ast.parse(source, mode=mode)
        compile(tree, FILENAME, mode)  # what running it will need, so deploy sees it fail
    except SyntaxError as exc:
        raise ScriptRefused(f"脚本语法错误（第 {exc.lineno} 行）：{exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ScriptRefused("脚本嵌套过深或过于复杂") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ScriptRefused(f"脚本中不允许使用 {type(node).__name__}（第 "
                                f"{getattr(node, 'lineno', '?')} 行）")
        if isinstance(node, ast.Name) and (node.id.startswith("__") or node.id in _DENIED_NAMES):
            raise ScriptRefused(f"脚本中不允许使用名称 {node.id}（第 {node.lineno} 行）")
    for node in ast.walk(tree):  # then what is reached from them (names are reported first)
        if isinstance(node, ast.Attribute) and node.attr not in _ALLOWED_ATTRIBUTES:
            raise ScriptRefused(f"脚本中不允许访问属性 {node.attr}（第 {node.lineno} 行）")
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None and not (
                all(isinstance(part, ast.Constant) for part in node.format_spec.values)
                and _FORMAT_SPEC.fullmatch("".join(p.value for p in node.format_spec.values))):
            raise ScriptRefused(f"f-string 的格式须简单且宽度不超过 99（第 {node.lineno} 行）")
        if isinstance(node, ast.AugAssign) and not isinstance(node.target, ast.Name):
            raise ScriptRefused(f"复合赋值（如 +=）只能用于变量（第 {node.lineno} 行）")
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
    """Repetition, concatenation, powers and shifts whose result would be huge are refused
    before they run; % is arithmetic only (string formatting with it takes widths)."""
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
    elif isinstance(op, ast.Add):
        if isinstance(a, (str, bytes, list, tuple)) and isinstance(b, (str, bytes, list, tuple)) \
                and len(a) + len(b) > MAX_SEQUENCE:
            raise ScriptRefused(f"结果过长（上限 {MAX_SEQUENCE}）")
        result = a + b
    elif isinstance(op, ast.Mod):
        if isinstance(a, (str, bytes)):
            raise ScriptRefused("不允许用 % 格式化字符串，请使用 f-string")
        result = a % b
    else:
        if isinstance(b, int) and b > MAX_INT_BITS:
            raise ScriptRefused("移位过大")
        result = a << b
    if _too_big(result):
        raise ScriptRefused("计算结果过大")
    return result


_GUARDED_OPS = (ast.Mult, ast.Pow, ast.LShift, ast.Add, ast.Mod)
_GUARD = "__hall_guarded__"
_FORMATTED = "__hall_formatted__"


class _Guard(ast.NodeTransformer):
    """Rewrites a * b, a ** b, a << b, a + b, a % b (and their augmented forms) into
    guarded calls."""

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

    def visit_FormattedValue(self, node):
        self.generic_visit(node)
        node.value = ast.Call(func=ast.Name(id=_FORMATTED, ctx=ast.Load()), args=[node.value],
                              keywords=[])
        return node

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


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:  # not Linux: the step and time budgets still hold
        return 0


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _run(code, scope: dict, runner):
    """Run compiled snippet code within a step, time and memory budget, so a runaway
    snippet stops with a refusal instead of holding the server."""
    steps = 0
    deadline = time.monotonic() + MAX_SECONDS
    memory_limit = _resident_bytes() + MAX_MEMORY_GROWTH

    def local(frame, event, arg):
        nonlocal steps
        if event == "line":
            steps += 1
            if steps > MAX_STEPS:
                raise ScriptRefused(f"脚本运行步数超过上限（{MAX_STEPS}）")
            if steps % MEMORY_CHECK_EVERY == 0:
                if time.monotonic() > deadline:
                    raise ScriptRefused(f"脚本运行超过 {MAX_SECONDS:g} 秒")
                if _resident_bytes() > memory_limit:
                    raise ScriptRefused("脚本占用内存过多")
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == FILENAME else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return runner(code, scope)
    finally:
        sys.settrace(previous)


def _storable(key: str, value):
    """A script's result as saving and loading the workflow will give it back (tuples as
    lists, dict keys as text), so an action behaves the same whether its workflow comes
    from memory or from the database; refused if too big or of a type that cannot be kept."""
    from .serializer import as_stored

    try:
        return as_stored(_small(value))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ScriptRefused):
            raise
        raise ScriptRefused(f"脚本结果 {key} 无法保存（{type(value).__name__}）") from None


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates conditions and runs scripts against task data, sandboxed."""

    def evaluate(self, expression, context, external_context=None):
        code = _compiled(expression.strip(), "eval")
        return _run(code, self._scope(context, external_context), eval)

    def execute(self, script, context, external_context=None):
        scope = self._scope(context, external_context)
        _run(_compiled(script, "exec"), scope, exec)
        for key, value in scope.items():
            if key in ("__builtins__", _GUARD, _FORMATTED) or callable(value) \
                    or key in (external_context or {}):
                continue
            context[key] = _storable(key, value)
        for key in [k for k in context if k not in scope]:
            del context[key]
        return True

    @staticmethod
    def _scope(context, external_context) -> dict:
        scope = {"__builtins__": SAFE_BUILTINS, _GUARD: _guard_call, _FORMATTED: _formatted}
        scope.update(external_context or {})
        scope.update(context)
        return scope

    def call_service(self, context, **kwargs):
        raise NotImplementedError("service tasks are dispatched by the script engine")
