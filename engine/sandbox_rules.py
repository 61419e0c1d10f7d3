"""What analysts' Python (scripts, conditions, timer expressions, service-task parameters)
may do, and how it runs once allowed.

SpiffWorkflow's default engine is plain `exec` with full builtins. Here every snippet is
parsed first and refused unless it uses only a whitelist of syntax: no imports, no
function or class definitions, no `while`, no attribute starting with `_`, no `format`
(whose field syntax reaches attributes at run time), no dunder names; it then runs with a
small set of builtins, and operations that build big values (repetition, powers, str of
aliased structures…) are rewritten into guarded calls. The same check runs at deploy
(refusing the diagram) and before every evaluation (so nothing unchecked ever runs).

These rules bound what one operation may *build*, not how long it may take: a single line
can still spend minutes in C code (`a in [b] * 30000`, hashing nested tuples, sorting).
Time and memory are bounded where snippets run: in a worker process that is killed on a
wall-clock deadline (`sandbox_pool`, `sandbox_worker`), or in-process only for expressions
whose work is provably small (`sandbox_fast`).
"""

from __future__ import annotations

import ast
import copy
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from .serializer import as_stored

MAX_SCRIPT_LENGTH = 20_000
MAX_RANGE = 100_000
MAX_POWER = 64
#: Longest string or list a script may build by repetition, and the biggest integer.
MAX_SEQUENCE = 1_000_000
MAX_INT_BITS = 4096
#: Biggest Decimal (in digits before the point) that int() or round() may turn into an int.
MAX_INT_DIGITS = MAX_INT_BITS * 3 // 10
FILENAME = "<diagram>"


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
    if args and isinstance(args[0], int) and abs(args[0]) > MAX_INT_DIGITS:
        raise ScriptRefused(f"round 的位数过大（上限 {MAX_INT_DIGITS}）")
    return round(_not_huge(number) if not args else number, *args)


#: What an expression may hand back to the engine: data, not objects with behaviour.
_DATA = frozenset({type(None), bool, int, float, complex, str, bytes, Decimal, date, datetime,
                   list, tuple, dict, set, frozenset})
#: Memory a Decimal of up to 76 digits (or an int of any usual size) takes.
_SMALL_NUMBER = sys.getsizeof(Decimal(1))


def measure(value, budget: int, *, data_only: bool = False, number_size: bool = False) -> int:
    """How many items and characters `value` holds all told (a part shared twice counts
    twice), refused past `budget`. With `data_only`, also refused unless every part is plain
    data (the types task data and literals hold); with `number_size`, a big int or Decimal
    counts by its size in memory (what arithmetic on it costs), not as one item."""
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        if data_only and type(item) not in _DATA:
            raise ScriptRefused(f"表达式结果须为数据，不能是 {type(item).__name__}")
        if isinstance(item, (str, bytes)):
            seen += len(item)
        elif isinstance(item, dict):
            seen += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            seen += len(item)
            stack.extend(item)
        elif number_size and isinstance(item, (int, Decimal)):
            seen += 1 + max(0, sys.getsizeof(item) - _SMALL_NUMBER) // 8
        else:
            seen += 1
        if seen > budget:
            raise ScriptRefused(f"数据过大（上限 {budget} 个元素或字符）")
    return seen


def small(value, budget: int = MAX_SEQUENCE):
    """`value` if it holds at most `budget` items and characters all told, else refused:
    what str(), an f-string or a stored result would have to build from it."""
    measure(value, budget)
    return value


def portable(value, budget: int = MAX_SEQUENCE):
    """`value` if it is small plain data (see `measure`): what an expression or an error
    may hand back, so whoever receives it (a handler, the engine) can copy it cheaply."""
    measure(value, budget, data_only=True)
    return value


def _safe_str(*args):
    return str(*(small(a) for a in args[:1]), *args[1:])


def _safe_sum(iterable, start=0):
    if not isinstance(start, (int, float, Decimal)):
        raise ScriptRefused("sum 只能用于数值求和")
    return sum(iterable, start)


def formatted(value):
    """What an f-string may format: nothing huge (a Decimal of 1E+300000000 formatted with
    :f would be a 300 MB string)."""
    return small(_not_huge(value))


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


def guarded(op, a, b):
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
GUARD = "__hall_guarded__"
FORMATTED = "__hall_formatted__"


class Guard(ast.NodeTransformer):
    """Rewrites a * b, a ** b, a << b, a + b, a % b (and their augmented forms) into
    guarded calls, and every f-string value into `formatted(value)`. A subclass may route
    other operators (`ops`) to another function (`guard`)."""

    ops: tuple = _GUARDED_OPS
    guard: str = GUARD

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, self.ops):
            return node
        return ast.copy_location(self._call(node.op, node.left, node.right), node)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, self.ops) or not isinstance(node.target, ast.Name):
            return node
        load = ast.Name(id=node.target.id, ctx=ast.Load())
        return ast.copy_location(ast.Assign(targets=[node.target],
                                            value=self._call(node.op, load, node.value)), node)

    def visit_FormattedValue(self, node):
        self.generic_visit(node)
        node.value = ast.Call(func=ast.Name(id=FORMATTED, ctx=ast.Load()), args=[node.value],
                              keywords=[])
        return node

    def _call(self, op, left, right):
        index = self.ops.index(type(op))
        return ast.Call(func=ast.Name(id=self.guard, ctx=ast.Load()),
                        args=[ast.Constant(index), left, right], keywords=[])

    def compile(self, source: str, mode: str):
        """The checked snippet, rewritten (on a copy: `check` caches its tree), compiled."""
        tree = copy.deepcopy(check(source, mode))
        return compile(ast.fix_missing_locations(self.visit(tree)), FILENAME, mode)


def guard_call(index: int, a, b):
    return guarded(_GUARDED_OPS[index](), a, b)


@lru_cache(maxsize=2048)
def compiled(source: str, mode: str):
    return Guard().compile(source, mode)


def storable(key: str, value):
    """A script's result as saving and loading the workflow will give it back (tuples as
    lists, dict keys as text), so an action behaves the same whether its workflow comes
    from memory or from the database; refused if too big or of a type that cannot be kept."""
    try:
        return as_stored(small(value))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ScriptRefused):
            raise
        raise ScriptRefused(f"脚本结果 {key} 无法保存（{type(value).__name__}）") from None


def scope(context: dict, external_context: dict | None) -> dict:
    names = {"__builtins__": SAFE_BUILTINS, GUARD: guard_call, FORMATTED: formatted}
    names.update(external_context or {})
    names.update(context)
    return names


def evaluate(expression: str, context: dict, external_context: dict | None = None):
    """The expression's value (plain data). No time or memory bound here: run it where one
    holds (a worker process), or only if `sandbox_fast` proves it small."""
    return portable(eval(compiled(expression, "eval"), scope(context, external_context)))


def execute(script: str, context: dict, external_context: dict | None = None
            ) -> tuple[list[tuple[str, object]], list[str]]:
    """Run a script on a copy of `context`; returns the changes for `apply`: every variable
    it leaves, as storage would give it back, and the keys it deleted. Unbounded like
    `evaluate`."""
    names = scope(context, external_context)
    exec(compiled(script, "exec"), names)
    external = external_context or {}
    kept = [(key, storable(key, value)) for key, value in names.items()
            if key not in ("__builtins__", GUARD, FORMATTED) and key not in external
            and not callable(value)]
    return kept, [key for key in context if key not in names]


def apply(context: dict, changes: tuple[list[tuple[str, object]], list[str]]) -> None:
    """Write what `execute` returned into the task data, all of it or (if it failed) none."""
    kept, deleted = changes
    for key, value in kept:
        context[key] = value
    for key in deleted:
        del context[key]
