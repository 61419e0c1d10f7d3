"""The sandbox for analysts' Python (scripts, conditions, service-task parameters).

Every escape is refused twice: by `check` (what deploy runs) and again at run time by
`SandboxEnvironment`, so a diagram that slipped past deploy still cannot run it.
"""

from __future__ import annotations

import decimal
import os
import pickle
import subprocess
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import select

from engine import history, runner, sandbox, sandbox_fast, script_engine
from engine.actors import Actor
from engine.deploy import deploy
from engine.models import HumanTask, ProcessInstance
from engine.run import DiagramError
from engine.sandbox import MAX_SCRIPT_LENGTH, SandboxEnvironment, ScriptRefused, check
from engine.sandbox_pool import POOL, load_reply
from engine.sandbox_rules import SAFE_BUILTINS
from engine.script_engine import HallScriptEngine
from services.db import db
from services.models import Operator, UnitAccount

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


# -- work inside C code: every snippet ends within its deadline ----------------------------------
#
# The line tracer of old never saw these: each spends seconds to minutes inside one C call.
# They run in a worker that is killed at the deadline; here the deadline is cut to SHORT
# seconds so the suite stays fast (one test below keeps the real MAX_SECONDS), and each
# refusal must come well within BOUND seconds: a safety property, not a benchmark.

SHORT = 0.3
BOUND = 3.0
#: A million-item list and one that equals it but for its last item.
BIG = "b = [0] * 1000000\na = [0] * 999999 + [1]\n"
#: A tuple that holds itself twice, 40 times over: 2**40 leaves behind 41 objects.
NESTED = "t = (0,)\nu = (0,)\nfor i in range(40):\n    t = (t, t)\n    u = (u, u)\n"

C_LEVEL_SCRIPTS = [
    ("membership", BIG + "c = [b] * 30000\nr = a in c"),
    ("equality", BIG + "c = [b] * 30000\nd = [b[:]] * 30000\nr = c == d"),
    ("sorting", BIG + "r = sorted([b] * 30000)"),
    ("max", BIG + "r = max([b] * 30000)"),
    ("count", BIG + "r = ([b] * 30000).count(a)"),
    ("index", BIG + "r = ([b] * 30000).index(a)"),
    ("remove", BIG + "c = [b] * 30000\nc.remove(a)"),
    ("comprehension aliases", BIG + "c = [b for i in range(30000)]\nr = a in c"),
    ("generator", BIG + "r = any(x == a for x in [b] * 30000)"),
    ("repeated sequences of sequences", BIG + "x = [[b] * 1000] * 1000\n"
                                              "y = [[b[:]] * 1000] * 1000\nr = x == y"),
    ("hashing nested tuples", NESTED + "r = {t}"),
    ("dict key", NESTED + "d = {}\nd[t] = 1"),
    ("comparing nested tuples", NESTED + "r = t == u"),
    ("sorting nested tuples", NESTED + "r = sorted([t, u, t])"),
    ("set of nested tuples", NESTED + "r = len(set([t, u]))"),
]


def _refused_in_time(call) -> ScriptRefused:
    started = time.monotonic()
    with pytest.raises(ScriptRefused) as caught:
        call()
    assert time.monotonic() - started < BOUND
    return caught.value


@pytest.fixture
def short(monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_SECONDS", SHORT)


@pytest.mark.parametrize("script", [s for _, s in C_LEVEL_SCRIPTS],
                         ids=[name for name, _ in C_LEVEL_SCRIPTS])
def test_work_inside_c_code_is_stopped_at_the_deadline(env, short, script):
    context = {"keep": 1}
    refusal = _refused_in_time(lambda: env.execute(script, context))
    assert f"超过 {SHORT:g} 秒" in str(refusal)
    assert context == {"keep": 1}


def test_a_condition_doing_the_same_is_stopped_too(env, short):
    refusal = _refused_in_time(lambda: env.evaluate(
        "[0] * 999999 + [1] in [[0] * 1000000] * 30000", {}))
    assert "秒" in str(refusal)


def test_a_condition_over_hostile_task_data_is_stopped_too(env, short):
    """Task data that shares one big list 30,000 times: too much to work on in-process."""
    b = [0] * 1_000_000
    context = {"a": [0] * 999_999 + [1], "c": [b] * 30_000}
    assert sandbox_fast.evaluate("a in c", context, None) is sandbox_fast.NOT_FAST
    assert "秒" in str(_refused_in_time(lambda: env.evaluate("a in c", context)))


def test_str_of_an_aliased_structure_is_refused(env):
    """Refused by its size (or, on a machine too busy to count that far, by the deadline)."""
    for script in (NESTED + "s = str(t)", NESTED + "s = f'{t}'", BIG + "s = str([b] * 30000)"):
        refusal = str(_refused_in_time(lambda s=script: env.execute(s, {})))
        assert "数据过大" in refusal or "秒" in refusal


@pytest.mark.parametrize("script", [
    "keep = [[0] * 1000000 for i in range(2000)]",
    "keep = []\nfor i in range(100000):\n    keep.append('a' * 1000000)\n",
])
def test_memory_is_capped_in_the_worker(env, script):
    assert "内存" in str(_refused_in_time(lambda: env.execute(script, {})))


def test_rounding_to_a_huge_number_of_places_is_refused(env):
    with pytest.raises(ScriptRefused, match="round"):
        env.evaluate("round(5, -10 ** 9)", {})
    assert env.evaluate("round(1234, -2)", {}) == 1200


def test_a_result_too_big_to_hand_back_is_refused(env):
    assert "数据过大" in str(_refused_in_time(lambda: env.evaluate(
        "[[0] * 1000000] * 1000", {})))
    with pytest.raises(ScriptRefused, match="须为数据"):
        env.evaluate("d.keys()", {"d": {"a": 1}})


def test_the_worker_is_usable_again_after_a_refusal(env, short):
    _refused_in_time(lambda: env.execute(C_LEVEL_SCRIPTS[0][1], {}))
    context = {"n": 2}
    env.execute("m = [n * i for i in range(3)]", context)
    assert context == {"n": 2, "m": [0, 2, 4]}


# -- through the engine: a hostile diagram fails its action in time, and changes nothing -----------

HOSTILE_KEY = "hostile_snippet"
#: One line of C-level work that runs for minutes (the issue's own case), as an expression.
SLOW_EXPRESSION = "[0] * 999999 + [1] in [[0] * 1000000] * 30000"


def _hostile_diagram(placement: str, snippet: str) -> str:
    """start → 填写 (the employer's form) → the snippet, placed as asked → end."""
    attack = {
        "script": f'<bpmn:scriptTask id="attack"><bpmn:incoming>Flow_2</bpmn:incoming>'
                  f'<bpmn:outgoing>Flow_3</bpmn:outgoing><bpmn:script>{escape(snippet)}'
                  f'</bpmn:script></bpmn:scriptTask>',
        "condition": '<bpmn:exclusiveGateway id="attack" default="Flow_3">'
                     '<bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing>'
                     '<bpmn:outgoing>Flow_4</bpmn:outgoing></bpmn:exclusiveGateway>',
        "parameter": '<bpmn:serviceTask id="attack"><bpmn:extensionElements>'
                     '<spiffworkflow:serviceTaskOperator id="common.notify" resultVariable="n">'
                     '<spiffworkflow:parameters><spiffworkflow:parameter id="text" type="str" '
                     f'value={quoteattr(snippet)} /></spiffworkflow:parameters>'
                     '</spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
                     '<bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing>'
                     '</bpmn:serviceTask>',
        "timer": '<bpmn:intermediateCatchEvent id="attack"><bpmn:incoming>Flow_2</bpmn:incoming>'
                 '<bpmn:outgoing>Flow_3</bpmn:outgoing><bpmn:timerEventDefinition>'
                 f'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{escape(snippet)}'
                 '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>',
    }[placement]
    conditional = (f'<bpmn:sequenceFlow id="Flow_4" sourceRef="attack" targetRef="EndEvent_2">'
                   f'<bpmn:conditionExpression>{escape(snippet)}</bpmn:conditionExpression>'
                   f'</bpmn:sequenceFlow><bpmn:endEvent id="EndEvent_2" />'
                   if placement == "condition" else "")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_1"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{HOSTILE_KEY}" name="敌意脚本" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1"><bpmn:lane id="employer" name="缴存单位">
      <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef><bpmn:flowNodeRef>fill_in</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="fill_in" name="填写并提交"><bpmn:extensionElements>
      <spiffworkflow:properties><spiffworkflow:property name="form" value="base_adjustment.edit" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:userTask>
    {attack}
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="fill_in" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="fill_in" targetRef="attack" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="attack" targetRef="EndEvent_1" />
    {conditional}
  </bpmn:process>
</bpmn:definitions>"""


def _operator(demo: dict) -> Actor:
    unit = demo["units"][0]
    row = db.session.execute(select(Operator).join(UnitAccount, UnitAccount.unit_id == Operator.unit_id)
                             .where(UnitAccount.account_no == unit["unit_account"],
                                    Operator.login_name == unit["operators"][0]["login_name"])
                             ).scalar_one()
    return Actor(kind="operator", id=row.id, name=row.name, unit_id=row.unit_id)


def _hostile_task(demo: dict, placement: str, snippet: str) -> tuple[Actor, int, str]:
    """A started hostile application waiting at 填写; committed."""
    return _started(demo, _hostile_diagram(placement, snippet))


def _started(demo: dict, xml: str) -> tuple[Actor, int, str]:
    deploy(xml.encode(), f"{HOSTILE_KEY}.bpmn", "test")
    actor = _operator(demo)
    instance_id = runner.start(HOSTILE_KEY, actor.unit_id, actor).id
    task_id = db.session.execute(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id)).scalar_one()
    db.session.commit()
    return actor, instance_id, task_id


def _stored(instance_id: int) -> tuple:
    db.session.expire_all()
    row = db.session.get(ProcessInstance, instance_id)
    tasks = db.session.execute(select(HumanTask.id, HumanTask.state).where(
        HumanTask.instance_id == instance_id)).all()
    return row.revision, row.state, row.status, sorted(tasks), len(history.events(instance_id))


def _fails_in_time(actor: Actor, instance_id: int, task_id: str, match: str) -> None:
    before = _stored(instance_id)
    started = time.monotonic()
    with pytest.raises(DiagramError, match=match):
        runner.complete(task_id, actor, {"remark": "提交"})
    assert time.monotonic() - started < BOUND
    db.session.rollback()  # what the request does with an error
    assert _stored(instance_id) == before


def test_a_diagram_script_cannot_outlast_its_two_seconds(ctx, demo):
    """The reported case, with the real limit: the action fails within 3 s with a clear
    diagram error (it took 31 s, holding the thread and SQLite's write lock), and the
    application is as it was."""
    actor, instance_id, task_id = _hostile_task(
        demo, "script", BIG + "c = [b] * 30000\nr = a in c")
    _fails_in_time(actor, instance_id, task_id, f"脚本运行超过 {sandbox.MAX_SECONDS:g} 秒")


@pytest.mark.parametrize("placement", ["condition", "parameter", "timer"])
def test_every_kind_of_snippet_is_stopped_in_time(ctx, demo, short, placement):
    actor, instance_id, task_id = _hostile_task(demo, placement, SLOW_EXPRESSION)
    _fails_in_time(actor, instance_id, task_id, f"脚本运行超过 {SHORT:g} 秒")


def test_a_script_error_whose_argument_is_not_text_is_a_clear_diagram_error(ctx, demo):
    """KeyError(1): SpiffWorkflow's report joined text to its argument and failed with a
    TypeError, a server error instead of the diagram's."""
    actor, instance_id, task_id = _hostile_task(demo, "script", "x = {}[1]")
    _fails_in_time(actor, instance_id, task_id, "KeyError")


@pytest.mark.parametrize(("limit", "value", "match"), [
    ("MAX_SNIPPETS_PER_ACTION", 40, "陷入了循环"),
    ("MAX_SECONDS_PER_ACTION", 0.0, "累计运行超过"),
])
def test_an_action_looping_through_snippets_is_stopped(ctx, demo, monkeypatch, limit, value,
                                                       match):
    """A loop with no one to wait for (gateway → script → gateway …) ends the action with a
    clear error instead of running forever, one quick snippet at a time."""
    monkeypatch.setattr(script_engine, limit, value)
    loop = _hostile_diagram("condition", "remark == \"从不\"").replace(
        '<bpmn:sequenceFlow id="Flow_3" sourceRef="attack" targetRef="EndEvent_1" />',
        '<bpmn:sequenceFlow id="Flow_3" sourceRef="attack" targetRef="again" />'
        '<bpmn:scriptTask id="again"><bpmn:incoming>Flow_3</bpmn:incoming>'
        '<bpmn:outgoing>Flow_5</bpmn:outgoing><bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>'
        '<bpmn:sequenceFlow id="Flow_5" sourceRef="again" targetRef="attack" />'
    ).replace('<bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3',
              '<bpmn:incoming>Flow_2</bpmn:incoming><bpmn:incoming>Flow_5</bpmn:incoming>'
              '<bpmn:outgoing>Flow_3').replace(  # no flow reaches it now: deploy would refuse
        '<bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>', '')
    actor, instance_id, task_id = _started(demo, loop)
    _fails_in_time(actor, instance_id, task_id, match)


# -- worker processes: replaced when killed, never outliving the app -------------------------------

WORKER_ONLY = "[x for x in 'ab']"  # a comprehension: never evaluated in-process


def _running(pid: int) -> bool:
    """Whether the process exists and has not ended (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _ended_within(pids, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_running(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_killed_worker_is_replaced(env, short):
    POOL.shutdown()
    assert env.evaluate(WORKER_ONLY, {}) == ["a", "b"]
    before = set(POOL.workers())
    assert len(before) == 1
    _refused_in_time(lambda: env.execute(C_LEVEL_SCRIPTS[0][1], {}))
    assert not set(POOL.workers()) & before and not any(_running(pid) for pid in before)
    deadline = time.monotonic() + 10
    while not set(POOL.workers()) - before and time.monotonic() < deadline:
        time.sleep(0.05)  # the replacement starts in the background
    assert set(POOL.workers()) - before, "a replacement is ready for the next snippet"
    assert env.evaluate(WORKER_ONLY, {}) == ["a", "b"]


APP = """
import sys, time
sys.path[:0] = [sys.argv[1]]
from engine import sandbox
from engine.sandbox_pool import POOL
env = sandbox.SandboxEnvironment()
env.evaluate("[x for x in 'ab']", {})
print(*POOL.workers(), flush=True)
if sys.argv[2] == "busy":
    sandbox.MAX_SECONDS = 0.5
    env.execute("b = [0] * 1000000\\na = [0] * 999999 + [1]\\nr = a in [b] * 30000", {})
elif sys.argv[2] == "idle":
    time.sleep(60)
"""


@pytest.mark.parametrize("how", ["exits", "idle", "busy"])
def test_workers_end_with_the_app_process(how):
    """On a normal exit the app ends its workers; killed (-9), idle workers see their input
    close and a busy one stops itself shortly after its deadline."""
    root = str(Path(__file__).resolve().parents[2])
    app = subprocess.Popen([sys.executable, "-c", APP, root, how], stdout=subprocess.PIPE,
                           text=True)
    try:
        pids = [int(pid) for pid in app.stdout.readline().split()]
        assert pids
        if how == "exits":
            assert app.wait(timeout=30) == 0
        else:
            assert all(_running(pid) for pid in pids)
            time.sleep(0.2)  # busy: the snippet has started, its deadline not yet come
            app.kill()
            app.wait()
        assert _ended_within(pids, 5.0 if how == "busy" else 2.0)
    finally:
        app.kill()
        app.wait()
        app.stdout.close()


def test_a_forked_server_process_starts_its_own_workers(env):
    """A server that forks after using the sandbox (a pre-forking WSGI server): the child
    never talks to its parent's workers, and both keep working."""
    assert env.evaluate(WORKER_ONLY, {}) == ["a", "b"]
    mine = POOL.workers()
    child = os.fork()
    if child == 0:
        ok = POOL.workers() == [] and env.evaluate(WORKER_ONLY, {}) == ["a", "b"]
        POOL.shutdown()
        os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert POOL.workers() == mine
    assert env.evaluate(WORKER_ONLY, {}) == ["a", "b"]


def test_a_worker_reply_cannot_name_code_to_run():
    assert load_reply(pickle.dumps(("ok", [Decimal("1.5"), date(2026, 1, 1)], False))) \
        == ("ok", [Decimal("1.5"), date(2026, 1, 1)], False)
    for evil in (os.system, subprocess.Popen, getattr):
        with pytest.raises(pickle.UnpicklingError):
            load_reply(pickle.dumps(("ok", evil, False)))


# -- errors come back as they are, and a script's changes all or nothing ---------------------------

@pytest.mark.parametrize(("script", "kind", "text"), [
    ("x = y", NameError, "name 'y' is not defined"),
    ("x = d['k']", KeyError, "'k'"),
    ("x = 1 / 0", ZeroDivisionError, "division by zero"),
    ("x = Decimal('abc')", decimal.InvalidOperation, "ConversionSyntax"),
    ("x = [1][5]", IndexError, "list index out of range"),
])
def test_a_script_error_comes_back_as_it_is(env, script, kind, text):
    with pytest.raises(kind) as caught:
        env.execute(script, {"d": {}})
    assert text in str(caught.value)


def test_an_error_carrying_a_huge_value_comes_back_cut_short(env):
    with pytest.raises(KeyError) as caught:
        env.execute("s = 'k' * 1000000\nx = d[s]", {"d": {}})
    assert 0 < len(str(caught.value)) <= 600


def test_a_failing_script_changes_nothing(env):
    context = {"keep": [1, 2]}
    with pytest.raises(ScriptRefused, match="无法保存"):
        env.execute("a = 1\nkeep.append(3)\ndel keep\ns = set([1])", context)
    assert context == {"keep": [1, 2]}


# -- the in-process fast path: the hall's own expressions, bounded, same results ------------------

HALL_DATA = {"decision": "approve", "opinion": "请核对第 3 行的基数。", "remark": "",
             "applied": {"rows": 3, "from_month": "2026-12"}}


def _hall_expressions() -> list[str]:
    """Every condition, timer and service-task parameter in bpmn-diagrams/."""
    found = []
    for path in sorted((Path(__file__).resolve().parents[2] / "bpmn-diagrams").glob("*.bpmn")):
        tree = etree.parse(str(path))
        found += [e.text.strip() for e in tree.iter() if isinstance(e.tag, str) and
                  etree.QName(e).localname in ("conditionExpression", "timeDuration", "timeDate")]
        found += [e.get("value") for e in tree.iter("{*}parameter") if e.get("value")]
    return found


def test_the_hall_diagrams_expressions_never_need_a_worker(env, monkeypatch):
    expressions = _hall_expressions()
    assert len(expressions) >= 3

    def no_worker(*args):
        raise AssertionError("evaluated in a worker")

    monkeypatch.setattr(POOL, "run", no_worker)
    for expression in expressions:
        assert env.evaluate(expression, {**_data_for(expression), **HALL_DATA}) \
            not in (None, "")


def _data_for(expression: str) -> dict:
    """Task data an expression can read: a text for each name it uses, a dict of texts for
    a name it subscripts (so every business's diagram is covered as it comes)."""
    import ast

    tree = ast.parse(expression, mode="eval")
    keys: dict[str, dict] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and isinstance(node.slice, ast.Constant):
            keys.setdefault(node.value.id, {})[node.slice.value] = "1"
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(SAFE_BUILTINS)
    return {name: keys.get(name, "1") for name in names}


FAST_AND_WORKER = [
    ('decision == "approve"', HALL_DATA),
    ('"退回：" + opinion + "。"', HALL_DATA),
    ('str(applied["rows"]) + " 人，自 " + applied["from_month"]', HALL_DATA),
    ("f'{total:,.2f}|{n:>6}|{rate:.1%}|{when}|{items!r}'",
     {"total": Decimal("1234.5"), "n": 7, "rate": Decimal("0.125"), "when": date(2026, 1, 2),
      "items": [1, "a", None]}),
    ("(base * Decimal('0.12')).quantize(Decimal('0.01'))", {"base": Decimal("8123.45")}),
    ("round(a / b, 3) if b else -a", {"a": Decimal("10"), "b": Decimal("3")}),
    ("d.get('x', 0) + len(s.split()) + when.year", {"d": {"x": 5}, "s": "a b c",
                                                     "when": date(2026, 5, 1)}),
    ("rows[1:] == rows[:-1] or 'b' in rows", {"rows": ["a", "b", "c"]}),
    ("n // 7 % 3 - 2 ** 10 << 2 >> 1 | 8 & 12 ^ 5", {"n": 100}),
    ("int(text) > 10 and text.isdigit()", {"text": "42"}),
    ("missing > 1", {}),
    ("d['nope']", {"d": {}}),
    ("1 / zero", {"zero": 0}),
    ("'%s' % name", {"name": "x"}),
    ("d.keys()", {"d": {}}),
    ("items * 2", {"items": [[1], [2]]}),  # left to a worker half-way: lists repeated
]


@pytest.mark.parametrize(("expression", "context"), FAST_AND_WORKER)
def test_the_fast_path_gives_what_a_worker_gives(expression, context):
    def outcome(run):
        try:
            value = run()
            return "value", type(value), value
        except Exception as exc:
            return "error", type(exc), str(exc)

    fast = outcome(lambda: sandbox_fast.evaluate(expression, dict(context), None))
    worker = outcome(lambda: sandbox_worker_eval(expression, dict(context)))
    if fast[1] is not object:  # NOT_FAST is an object(): then only the worker answers
        assert fast == worker
    assert env_value(expression, context) == worker


def sandbox_worker_eval(expression: str, context: dict):
    return POOL.run(("eval", expression, context, {}, decimal.getcontext(), 5.0), 5.0)


def env_value(expression: str, context: dict):
    try:
        value = SandboxEnvironment().evaluate(expression, dict(context))
        return "value", type(value), value
    except Exception as exc:
        return "error", type(exc), str(exc)


@pytest.mark.parametrize(("expression", "context"), [
    ("[x for x in 'ab']", {}),  # builds
    ("a in c", {"a": [0], "c": [[0] * 1000] * 30}),  # names too much
    ("x * x > 0", {"x": Decimal("7" * 100_000)}),  # a number too big to multiply here
    ("s * 3", {"s": "ab"}),  # repeats
    ("a + b", {"a": [1], "b": [2]}),  # joins lists
    ("len(d) " + "+ len(d) " * 40, {"d": {}}),  # too long
])
def test_the_fast_path_leaves_to_a_worker_what_it_cannot_bound(expression, context):
    assert sandbox_fast.evaluate(expression, context, None) is sandbox_fast.NOT_FAST


def test_the_fast_path_at_its_limits_stays_fast():
    """The slowest expressions it accepts: each with named values grown until just below
    what it takes in-process, all of them together well within a second."""
    builders = {"t": lambda size: "a" * size, "n": lambda size: "a" * 90 + "b",
                "x": lambda size: [Decimal("1.1")] * (size // 2),
                "d": lambda size: {str(i): [i] for i in range(size // 6)}}
    expressions = ["str(x) in str(x) + str(x)", "n in str(x) + t + t", "str(d) == str(d)",
                   "str(d).count(n) + len(str(x).split(n))", "x == x and x < x or x[::-1] > x",
                   "f'{x!r}{x!r}' + t", "t in d.values()", "str(d) in str(d) + str(x) + t"]
    elapsed = 0.0
    for expression in expressions:
        size = sandbox_fast.MAX_MASS
        while True:
            context = {name: build(size) for name, build in builders.items()}
            started = time.monotonic()
            value = sandbox_fast.evaluate(expression, context, None)
            if value is not sandbox_fast.NOT_FAST:
                elapsed += time.monotonic() - started
                break
            size = size * 9 // 10
        assert size > sandbox_fast.MAX_MASS // 10, expression
    assert elapsed < 1.0


def test_results_too_big_to_send_back_are_refused(env):
    """Each variable is within its own limit; together they would make a 70 MB reply."""
    script = "a = 'x' * 1000000\n" + "".join(f"b{i} = a\n" for i in range(70))
    context = {"keep": 1}
    refusal = str(_refused_in_time(lambda: env.execute(script, context)))
    assert "过大" in refusal or "内存" in refusal
    assert context == {"keep": 1}


def test_the_server_keeps_serving_while_a_snippet_runs_for_its_deadline(env, monkeypatch):
    """The work happens in another process: this one's threads (and the GIL) stay free."""
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 1.5)
    outcome = []

    def attack():
        try:
            env.execute(BIG + "r = a in [b] * 30000", {})
        except ScriptRefused as exc:
            outcome.append(exc)

    hostile = threading.Thread(target=attack)
    hostile.start()
    time.sleep(0.3)  # it is busy now
    started = time.monotonic()
    for _ in range(1000):
        assert env.evaluate('decision == "approve"', {"decision": "approve"}) is True
    assert time.monotonic() - started < 1.0
    assert hostile.is_alive()
    hostile.join()
    assert "秒" in str(outcome[0])
