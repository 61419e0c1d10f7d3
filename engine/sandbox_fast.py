"""Expressions cheap enough to evaluate in the server process, without a worker round trip.

Most snippets are gateway conditions and notification texts (`decision == "approve"`,
`"…" + opinion + "。"`, `str(applied["rows"])`): paying a process round trip for each
would slow every action for nothing. An expression runs here only when its work is
bounded before it starts:

- it has at most `MAX_NODES` syntax nodes and none that repeat or build (no comprehension,
  display, starred argument, keyword argument), and calls only `CALLS` and the read-only
  methods in `METHODS`, which take time linear in what they are given;
- the values it names (each time it names them) and its text constants hold at most
  `MAX_MASS` items and characters all told, numbers counted by their size (checked before
  it runs, in microseconds for the usual scalars);
- arithmetic runs only on numbers and `+` only joins two texts; anything else (a list
  repeated or concatenated, a set operation) leaves the expression to a worker.

Every value it meets is then a part of what it named, a constant, a number of bounded
size or a text made from those (str() and f-strings, at most a few dozen characters per
item), so each operation (a comparison, a membership test, hashing, str()) costs at most
some millions of elementary steps, and there are at most `MAX_NODES` of them: well under
the workers' deadline even when built to be slow, microseconds as written in practice.
Nothing here mutates anything, so an expression abandoned half-way (`NotFast`) is simply
run again in a worker.
"""

from __future__ import annotations

import ast
import operator
from collections import Counter
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from . import sandbox_rules as rules

MAX_NODES = 64
MAX_MASS = 4096
CALLS = frozenset({"str", "len", "int", "round", "abs", "bool", "Decimal"})
METHODS = frozenset({
    "get", "keys", "values", "items", "copy", "index", "count",
    "strip", "lstrip", "rstrip", "lower", "upper", "startswith", "endswith", "split",
    "isdigit", "isdecimal", "isalpha", "isalnum", "isspace",
    "quantize", "is_zero", "is_signed", "copy_abs", "isoformat", "weekday", "isoweekday",
})
FIELDS = frozenset({"year", "month", "day"})
_NODES = (ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp,
          ast.Constant, ast.Name, ast.Load, ast.Subscript, ast.Slice, ast.Call, ast.Attribute,
          ast.JoinedStr, ast.FormattedValue, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.MatMult, ast.Div, ast.Mod, ast.Pow, ast.LShift,
        ast.RShift, ast.BitOr, ast.BitXor, ast.BitAnd, ast.FloorDiv)
_NATIVE = {ast.Sub: operator.sub, ast.MatMult: operator.matmul, ast.Div: operator.truediv,
           ast.RShift: operator.rshift, ast.BitOr: operator.or_, ast.BitXor: operator.xor,
           ast.BitAnd: operator.and_, ast.FloorDiv: operator.floordiv}
_NUMBERS = frozenset({bool, int, float, Decimal})
_FAST_OP = "__hall_fast_op__"
#: What `evaluate` answers for an expression it leaves to a worker.
NOT_FAST = object()


class NotFast(Exception):
    """This expression's work is not provably small: run it in a worker."""


class _Plan(NamedTuple):
    code: object
    names: tuple[tuple[str, int], ...]
    constants: int


class _FastGuard(rules.Guard):
    """Every binary operator goes through `_fast_op`."""

    ops = _OPS
    guard = _FAST_OP


def _fast_op(index: int, a, b):
    op = _OPS[index]
    numbers = type(a) in _NUMBERS and type(b) in _NUMBERS
    if numbers or (type(a) is str and (op is ast.Mod or (op is ast.Add and type(b) is str))):
        native = _NATIVE.get(op)
        return native(a, b) if native else rules.guarded(op(), a, b)
    raise NotFast


@lru_cache(maxsize=2048)
def _plan(source: str) -> _Plan | None:
    """How to run `source` here, or None if it is not eligible (after `check`, which raises
    for anything the sandbox refuses)."""
    nodes = list(ast.walk(rules.check(source, "eval")))
    if len(nodes) > MAX_NODES:
        return None
    callees = {id(node.func) for node in nodes if isinstance(node, ast.Call)}
    names, constants = Counter(), 0
    for node in nodes:
        if not isinstance(node, _NODES):
            return None
        if isinstance(node, ast.Call):
            func = node.func
            known = (isinstance(func, ast.Name) and func.id in CALLS) or (
                isinstance(func, ast.Attribute) and func.attr in METHODS)
            if node.keywords or not known:
                return None
        elif isinstance(node, ast.Attribute) and id(node) not in callees \
                and node.attr not in FIELDS:
            return None
        elif isinstance(node, ast.Name) and id(node) not in callees:
            names[node.id] += 1
        elif isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            constants += len(node.value)
    if constants > MAX_MASS:
        return None
    return _Plan(_FastGuard().compile(source, "eval"), tuple(names.items()), constants)


def evaluate(source: str, context: dict, external_context: dict | None):
    """The value of `source` (already stripped), or `NOT_FAST` if it must run in a worker.
    Raises what the expression raises, and `ScriptRefused` as the worker would."""
    plan = _plan(source)
    if plan is None:
        return NOT_FAST
    scope = {"__builtins__": rules.SAFE_BUILTINS, _FAST_OP: _fast_op,
             rules.FORMATTED: rules.formatted}
    scope.update(external_context or {})
    scope.update(context)
    budget = MAX_MASS - plan.constants
    try:
        for name, count in plan.names:
            if name in scope:
                budget -= count * rules.measure(scope[name], budget // count, number_size=True)
    except rules.ScriptRefused:  # names too much to work on here
        return NOT_FAST
    try:
        value = eval(plan.code, scope)
    except NotFast:
        return NOT_FAST
    return rules.portable(value)
