"""Validation before deploy: each broken or hostile diagram is refused with a message naming
its element; other tools' diagrams (the shared corpus) are refused with the construct the
engine cannot run named; comparing two versions lists what the engine would do otherwise.

The corpus tests skip when /work/shared/corpus is absent (its files are not copied here:
several are LGPL test data of other projects)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.compare import compare
from engine.deploy import DeployRefused, check
from engine.validate import check_snippet, validate
from tests.broken_diagrams import BROKEN, ORIGINAL

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path("/work/shared/corpus/bpmn")
TWO_REVIEWS = (ROOT / "tests" / "diagrams" / "base_adjustment_two_reviews.bpmn").read_bytes()
KEY = "base_adjustment"


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_or_hostile_diagram_is_refused_naming_its_element(name):
    broken = BROKEN[name]
    report = validate(broken.xml, KEY)
    assert not report.ok
    named = [p for p in report.problems if p.element_id == broken.element_id]
    assert named, [p.to_dict() for p in report.problems]
    assert any(broken.word in p.message for p in named)
    if broken.element_id:
        assert any(broken.element_id in p.message for p in named)
    with pytest.raises(DeployRefused) as refused:
        check(broken.xml, f"{KEY}.bpmn")
    assert broken.word in refused.value.message


def test_the_deployed_diagram_and_the_two_review_version_are_valid():
    assert validate(ORIGINAL.encode(), KEY).ok
    assert validate(TWO_REVIEWS, KEY).ok


def edited(*pairs: tuple[str, str]) -> bytes:
    text = ORIGINAL
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new, 1)
    return text.encode()


def messages(xml: bytes) -> dict[str | None, str]:
    """Every problem's message by element (several joined with ；)."""
    found: dict[str | None, str] = {}
    for problem in validate(xml, KEY).problems:
        found[problem.element_id] = "；".join(filter(None, [found.get(problem.element_id),
                                                            problem.message]))
    return found


def test_a_dead_end_is_named():
    found = messages(edited(('<bpmn:outgoing>Flow_end</bpmn:outgoing>', ''),
                            ('<bpmn:sequenceFlow id="Flow_end" sourceRef="notify_approved" '
                             'targetRef="EndEvent_done" />', '')))
    assert "之后没有去向" in found["notify_approved"]
    assert "无法到达" in found["EndEvent_done"]


def test_handler_parameters_must_match_the_handler():
    found = messages(edited(('<spiffworkflow:parameter id="text" type="str"',
                             '<spiffworkflow:parameter id="body" type="str"')))
    assert "缺少处理程序 common.notify 的参数 text" in found["notify_approved"]
    assert "参数 body 不是处理程序 common.notify 的参数（可用：text）" in found["notify_approved"]


def test_a_required_parameter_left_empty_is_named():
    emptied = re.sub(r'(<spiffworkflow:parameter id="text" type="str" value=")[^"]*"', r'\1"',
                     ORIGINAL, count=1)
    found = messages(emptied.encode())
    assert "缺少处理程序 common.notify 的参数 text" in found["notify_approved"]


def test_a_lane_that_is_no_role_is_named():
    found = messages(edited(('<bpmn:lane id="centre_reviewer" name="中心审核">',
                             '<bpmn:lane id="Lane_boss" name="老板">')))
    assert "employer" in found["Lane_boss"] and "centre_reviewer" in found["Lane_boss"]


@pytest.mark.parametrize(("text", "word"), [
    ("PT1H", '"PT1H"'), ("0/5 0/1 * 1/1 * ?", "Cron"), ("${duration}", "Camunda"),
    ("__import__('os')", "__import__"),
])
def test_timer_texts_other_tools_write_are_refused_with_the_fix(text, word):
    assert word in check_snippet(text, timer=True)


def test_a_quoted_iso_timer_passes():
    assert check_snippet('"PT1H"', timer=True) is None
    assert check_snippet('Decimal(manifest_summary["difference"]) > Decimal("1000")') is None


def test_comparing_versions_lists_added_removed_and_changed():
    changed = TWO_REVIEWS.replace('name="通知单位：已退回"'.encode(), 'name="通知单位：退回"'.encode())
    result = compare(ORIGINAL.encode(), changed)
    added = {a["id"]: a for a in result["added"]}
    assert set(added) >= {"Gateway_amount", "second_review", "Gateway_second", "Flow_big"}
    assert added["second_review"]["kind_name"] == "用户任务"
    assert result["removed"] == []
    by_id = {c["id"]: {x["field"]: (x["old"], x["new"]) for x in c["changes"]}
             for c in result["changed"]}
    assert by_id["Flow_approve"] == {"target": ("apply", "Gateway_amount")}
    assert by_id["notify_rejected"] == {"name": ("通知单位：已退回", "通知单位：退回")}
    assert "apply" not in by_id  # moved on the canvas only
    back = compare(changed, ORIGINAL.encode())
    assert {r["id"] for r in back["removed"]} == set(added)


#: Corpus file → process id deployed, and what the refusal must name (EXPECTED.md).
CORPUS_CASES = {
    "bpmnio-examples__kitchen-sink.bpmn": ("Process_1", ["复杂网关", "手工任务", "业务规则任务",
                                                          "发送任务", "数据存储", "linkEventDefinition"]),
    "bpmnio-examples__nested-subprocesses.bpmn": ("rootProcess", ["没有指定表单"]),
    "bpmnio-examples__newDiagram.bpmn": ("Process_1", ["isExecutable"]),
    "bpmnio-examples__pizza-collaboration.bpmn": ("_6-1", ["isExecutable"]),
    "camunda-examples__camunda-testing-job-announcement.bpmn": (
        "camunda-testing-job-announcement", ["camunda:expression",
                                             "camunda-testing-job-announcement-publication"]),
    "camunda-examples__loan-granting.bpmn": ("loan_process", ["外部任务（camunda:type）",
                                                              "多实例集合（camunda:collection）", "Cron"]),
    "camunda-examples__message_start_process.bpmn": ("Message_Start_Process",
                                                     ["发起事件", "instantiationMessage"]),
    "camunda-examples__order-handling.bpmn": ("Order_Process", ["外部任务", "Cron",
                                                                "${invoiceId != null}"]),
    "camunda-examples__xslt-example.bpmn": ("xslt-example", ["脚本语言 xslt", "执行监听器"]),
    "camunda-platform__invoice.v2.bpmn": ("invoice", ["数据存储", "业务规则任务", "ReviewInvoice"]),
    "camunda-platform__reviewInvoice.bpmn": ("ReviewInvoice", ["camunda:formKey", "没有指定表单"]),
    "spiff-arena__basic_with_user_task_template.bpmn": ("natural_language_process_id_template",
                                                        ["没有指定表单"]),
    "spiff-arena__call_activity_multi.bpmn": ("customize_product", ["isExecutable"]),
    "spiff-arena__call_activity_test.bpmn": ("Process_bd2e724", ["process_to_call"]),
    "spiff-arena__invoice.bpmn": ("invoice", ["外部实体"]),
    "spiff-arena__lanes_with_lane_owners.bpmn": ("Test_Process_io425991xx", ["手工任务", "泳道"]),
    "spiff-arena__multiinstance.bpmn": ("order_product", ["业务规则任务", "customize_product",
                                                          "消息发送事件"]),
    "spiff-arena__new_bpmn_diagram.bpmn": ("{{PROCESS_ID}}", ["{{PROCESS_ID}}"]),
    "spiff-arena__read_etc_passwd.bpmn": ("dangerous", ["open"]),
    "spiffwf-tests__Approvals.bpmn": ("Approvals", ["手工任务"]),
    "spiffwf-tests__MessageBoundary.bpmn": ("Process_0srqcj1", ["手工任务", "Message_Interrupt"]),
    "spiffwf-tests__business_rule_task.bpmn": ("Process_bd2e724", ["业务规则任务"]),
    "spiffwf-tests__event-gateway.bpmn": ("Process_0pvx19v", ["message_1"]),
    "spiffwf-tests__event-subprocess.bpmn": ("main", ["未指定类型的任务"]),
    "spiffwf-tests__nested_call_activity.bpmn": ("Process_expand_call_activity", ["is_this_missing"]),
    "spiffwf-tests__non-executable-process.bpmn": ("Process_14di7kj", ["isExecutable"]),
    "spiffwf-tests__service_task.bpmn": ("service_task_example1", ["bamboohr/GetPayRate"]),
    "spiffwf-tests__signal_event_payload.bpmn": ("event_test", ["手工任务"]),
    "spiffwf-tests__timer-non-interrupt-boundary.bpmn": ("NonInterruptTimer", ["没有指定表单"]),
    "spiffwf-tests__transaction.bpmn": ("Main_Process", ["print"]),
}
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared BPMN corpus not present")


@needs_corpus
def test_every_corpus_diagram_is_covered():
    assert set(CORPUS_CASES) | {"spiff-arena__callable_process.bpmn"} == {
        p.name for p in CORPUS.glob("*.bpmn")}


@needs_corpus
@pytest.mark.parametrize("name", sorted(CORPUS_CASES))
def test_a_corpus_diagram_the_engine_cannot_run_is_refused_naming_the_construct(name):
    key, words = CORPUS_CASES[name]
    with pytest.raises(DeployRefused) as refused:
        check((CORPUS / name).read_bytes(), f"{key}.bpmn")
    for word in words:
        assert word in refused.value.message, refused.value.message


@needs_corpus
def test_the_corpus_callee_that_runs_as_it_is_passes():
    """EXPECTED.md: callable_process runs to completion in every parser; nothing in it
    needs a form, handler or lane, so the hall has nothing to refuse."""
    assert validate((CORPUS / "spiff-arena__callable_process.bpmn").read_bytes(),
                    "process_to_call").ok
