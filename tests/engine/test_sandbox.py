"""The sandbox for analysts' Python (scripts, conditions, service-task parameters).

Every escape is refused twice: by `check` (what deploy runs) and again at run time by
`SandboxEnvironment`, so a diagram that slipped past deploy still cannot run it.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine import sandbox
from engine.sandbox import MAX_SCRIPT_LENGTH, SandboxEnvironment, ScriptRefused, check
from engine.script_engine import HallScriptEngine

CORPUS = Path("/work/shared/corpus/bpmn")

#: Expressions (valid in eval and exec mode) and a word the refusal must name.
ESCAPE_EXPRESSIONS = [
    ("__import__('os')", "__import__"),
    ("open('/etc/passwd')", "open"),
    ("eval('1')", "eval"),
    ("exec('x=1')", "exec"),
    ("getattr(x, 'y')", "getattr"),
    ("().__class__.__bases__[0].__subclasses__()", "__"),
    ("x.__globals__", "__globals__"),
    ("f.__code__", "__code__"),
    ('"{0.__class__}".format(1)', "format"),
    ("'{x.__class__}'.format_map({'x': 1})", "format_map"),
    ("str.format('{0.__class__}', 1)", "format"),
    ("type(1)", "type"),
    ("globals()", "globals"),
    ("vars()", "vars"),
    ("compile('1', 'x', 'eval')", "compile"),
    ("lambda: 1", "Lambda"),
    ("(x for x in ()).gi_frame", "gi_frame"),
    ("10 ** 10 ** 10", "64"),
    ("__builtins__['open']", "__builtins__"),
    ("x['__class__']", "__class__"),
    ("'__class__'", "__class__"),
    ("f'{x.__class__}'", "__class__"),
    ("(y := 1)", "NamedExpr"),
]

#: Statements (exec mode only) and the syntax the refusal must name.
ESCAPE_STATEMENTS = [
    ("import os", "Import"),
    ("from os import path", "ImportFrom"),
    ("def f(): pass", "FunctionDef"),
    ("class A: pass", "ClassDef"),
    ("while True: pass", "While"),
    ("with open('x') as f: pass", "With"),
    ("try:\n    x = 1\nexcept Exception:\n    pass", "Try"),
    ("global x", "Global"),
    ("x = 1\ny = __import__('os')", "__import__"),
]


@pytest.fixture
def env():
    return SandboxEnvironment()


# -- refused by check (deploy) -------------------------------------------------------------

@pytest.mark.parametrize(("source", "word"), ESCAPE_EXPRESSIONS)
def test_check_refuses_escape_expressions(source, word):
    for mode in ("eval", "exec"):
        with pytest.raises(ScriptRefused, match=word):
            check(source, mode)


@pytest.mark.parametrize(("source", "word"), ESCAPE_STATEMENTS)
def test_check_refuses_escape_statements(source, word):
    with pytest.raises(ScriptRefused, match=word):
        check(source, "exec")


def test_refusal_is_a_value_error_in_chinese():
    with pytest.raises(ValueError, match="不允许"):
        check("open('x')")


def test_check_refuses_non_text_overlong_and_bad_syntax():
    with pytest.raises(ScriptRefused, match="文本"):
        check(b"x = 1")
    with pytest.raises(ScriptRefused, match="过长"):
        check("x = 1\n" * (MAX_SCRIPT_LENGTH // 6 + 1))
    with pytest.raises(ScriptRefused, match="语法错误"):
        check("x = (")


def test_check_refuses_every_time_not_only_the_first():
    for _ in range(3):
        with pytest.raises(ScriptRefused):
            check("open('x')")


# -- refused again at run time -------------------------------------------------------------

@pytest.mark.parametrize(("source", "word"), ESCAPE_EXPRESSIONS)
def test_runtime_refuses_escape_expressions(env, source, word):
    with pytest.raises(ScriptRefused, match=word):
        env.evaluate(source, {"x": 1, "f": len})
    with pytest.raises(ScriptRefused, match=word):
        env.execute(source, {"x": 1, "f": len})


@pytest.mark.parametrize(("source", "word"), ESCAPE_STATEMENTS)
def test_runtime_refuses_escape_statements(env, source, word):
    context = {"x": 1}
    with pytest.raises(ScriptRefused, match=word):
        env.execute(source, context)
    assert context == {"x": 1}


def test_runtime_refuses_a_huge_range(env):
    with pytest.raises(ScriptRefused, match="range"):
        env.execute("r = range(10**9)", {})
    with pytest.raises(ScriptRefused, match="range"):
        env.evaluate("sum(range(10**9))", {})
    assert env.evaluate("sum(range(10))", {}) == 45


def test_runtime_refuses_a_script_that_skipped_deploy():
    """The corpus file reads /etc/passwd; parsed directly (no deploy check) and run with the
    hall's engine, the script task fails with the sandbox's refusal and reads nothing."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(CORPUS / "spiff-arena__read_etc_passwd.bpmn"))
    workflow = BpmnWorkflow(parser.get_spec("dangerous"), parser.get_subprocess_specs("dangerous"),
                            script_engine=HallScriptEngine())
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert caught.value.error_type == "ScriptRefused"
    assert "open" in str(caught.value)
    assert all("user_list" not in task.data for task in workflow.get_tasks())


def test_builtins_are_restricted_at_run_time(env):
    for name in ("hasattr", "iter", "next", "repr"):  # not whitelisted, so not defined
        with pytest.raises(NameError):
            env.evaluate(f"{name}(x)", {"x": [1]})


# -- ordinary analyst snippets -------------------------------------------------------------

def test_conditions(env):
    assert env.evaluate('decision == "approve"', {"decision": "approve"}) is True
    assert env.evaluate('  decision == "approve"\n', {"decision": "reject"}) is False
    assert env.evaluate("rows > 0 and not blocked", {"rows": 3, "blocked": False}) is True


def test_decimal_arithmetic(env):
    result = env.evaluate("(base * Decimal('0.12')).quantize(Decimal('0.01'))",
                          {"base": Decimal("8123.45")})
    assert result == Decimal("974.81")
    assert env.evaluate("round(a + b, 2)", {"a": Decimal("0.1"), "b": Decimal("0.2")}) == Decimal("0.3")
    assert env.evaluate("2 ** 10", {}) == 1024


def test_comprehensions_and_builtins(env):
    people = [{"id": "A", "rate": 12}, {"id": "B", "rate": 0}, {"id": "C", "rate": 5}]
    context = {"people": people}
    env.execute("rates = {p['id']: p['rate'] for p in people}\n"
                "paying = [p['id'] for p in people if p['rate'] > 0]\n"
                "stats = (len(people), sum(rates.values()), min(rates.values()))\n", context)
    assert context["rates"] == {"A": 12, "B": 0, "C": 5}
    assert context["paying"] == ["A", "C"]
    assert context["stats"] == [3, 17, 0]  # kept as storage keeps it: a list


def test_f_strings_with_plain_names(env):
    text = env.evaluate('f"{unit}：{count} 人，合计 {total:.2f} 元"',
                        {"unit": "示范单位", "count": 3, "total": Decimal("1234.5")})
    assert text == "示范单位：3 人，合计 1234.50 元"


def test_script_assignments_appear_in_the_context(env):
    context = {"applied": {"rows": 2}}
    assert env.execute("approved = applied['rows'] > 0\nnote = '已通过'\ncount = 0\n"
                       "for i in range(3):\n    count += i\n", context) is True
    assert context == {"applied": {"rows": 2}, "approved": True, "note": "已通过", "count": 3, "i": 2}
    assert "__builtins__" not in context


def test_script_can_delete_a_key(env):
    context = {"draft": "x", "keep": 1}
    env.execute("del draft", context)
    assert context == {"keep": 1}
    assert "__builtins__" not in context


def test_external_context_and_callables_do_not_leak(env):
    context = {"a": 1}
    env.execute("b = a + helper_value\nf = len", context, external_context={"helper_value": 41})
    assert context == {"a": 1, "b": 42}


def test_evaluate_does_not_change_the_context(env):
    context = {"a": 1}
    assert env.evaluate("[a * n for n in range(3)]", context) == [0, 1, 2]
    assert context == {"a": 1}


def test_check_refuses_chained_powers():
    with pytest.raises(ScriptRefused):
        check("(((((10**64)**64)**64)**64)**64)", "eval")


def test_check_refuses_return_outside_a_function():
    with pytest.raises(ScriptRefused):
        check("return 1")



# -- resource exhaustion -----------------------------------------------------------------------

@pytest.mark.parametrize("source,word", [
    ("'a'.ljust(3 * 10 ** 8)", "ljust"),
    ("'1'.zfill(10 ** 8)", "zfill"),
    ("'\\t'.expandtabs(10 ** 8)", "expandtabs"),
    ("x.extend(x)", "extend"),
    ("s.join(s)", "join"),
    ("s.replace('', s)", "replace"),
    ("f'{0:>300000000}'", "宽度"),
    ("f'{x:{w}}'", "宽度"),
])
def test_check_refuses_size_amplifiers(source, word):
    with pytest.raises(ScriptRefused, match=word):
        check(source, "eval")


def test_check_refuses_compound_assignment_to_items():
    with pytest.raises(ScriptRefused, match="复合赋值"):
        check("d['s'] += d['s']")


@pytest.mark.parametrize("source", [
    "int(Decimal('1e2000000'))",
    "round(Decimal('1e2000000'))",
    "'%*d' % (3 * 10 ** 8, 1)",
])
def test_runtime_refuses_huge_numbers_and_percent_formatting(env, source):
    with pytest.raises(ScriptRefused):
        env.evaluate(source, {})


def test_runtime_refuses_doubling_a_sequence(env):
    with pytest.raises(ScriptRefused, match="结果过长"):
        env.execute("l = [0] * 1000000\nfor i in range(8):\n    l += l\n", {})
    with pytest.raises(ScriptRefused, match="结果过长"):
        env.execute("s = 'a' * 1000000\ns = s + s\n", {})


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="memory is read from /proc")
def test_runtime_stops_a_snippet_that_piles_up_memory(env):
    with pytest.raises(ScriptRefused, match="内存"):
        env.execute("keep = []\nfor i in range(100000):\n    keep.append('a' * 1000000)\n", {})


def test_runtime_stops_a_snippet_that_runs_too_long(env, monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.05)
    with pytest.raises(ScriptRefused, match="秒"):
        env.execute("n = 0\nfor i in range(100000):\n    for j in range(9):\n"
                    "        n = n + Decimal(j) / Decimal(7)\n", {})


def test_a_deeply_nested_snippet_is_refused_not_crashing_deploy():
    with pytest.raises(ScriptRefused, match="嵌套过深"):
        check("-" * 19990 + "1", "eval")
    with pytest.raises(ScriptRefused, match="嵌套过深"):
        check("not " * 4990 + "x", "eval")


def test_ordinary_formatting_and_sizes_still_work(env):
    assert env.evaluate("f'{total:,.2f}|{n:>6}|{rate:.1%}'",
                        {"total": Decimal("1234.5"), "n": 7, "rate": Decimal("0.125")}) \
        == "1,234.50|     7|12.5%"
    assert env.evaluate("int(Decimal('12345.67')) + round(Decimal('2.5'))", {}) == 12347
    assert env.evaluate("a + b", {"a": [1], "b": [2]}) == [1, 2]
    assert env.evaluate("17 % 5", {}) == 2


@pytest.mark.parametrize("source", [
    "x = f\"{Decimal('1e300000000'):f}\"",
    "x = f\"{Decimal('1e-300000000'):f}\"",
    "a = [[0] * 1000000] * 1000\nb = str(a)",
    "a = [[0] * 1000000] * 1000\nb = f'{a}'",
    "a = [[0] * 1000000] * 1000\nb = sum(a, [])",
    "x = int('1' * 1000000, 2)",
    "a = [[0] * 1000000] * 1000",  # a result too big to keep in the task data
])
def test_single_calls_cannot_build_huge_values(env, source):
    with pytest.raises(ScriptRefused):
        env.execute(source, {})


def test_script_results_are_kept_as_storage_gives_them_back(env):
    """The workflow an action saved may be reused from memory: what a script leaves must
    already be what a load from the database would give (tuple → list, int key → text)."""
    context = {}
    env.execute("pair = (1, 2)\ncodes = {1: 'a'}\nwhen = date(2026, 11, 1)\n"
                "money = Decimal('1.10')\n", context)
    assert context == {"pair": [1, 2], "codes": {"1": "a"}, "when": date(2026, 11, 1),
                       "money": Decimal("1.10")}
    with pytest.raises(ScriptRefused, match="无法保存"):
        env.execute("s = set([1])", {})
