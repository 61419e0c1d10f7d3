"""Deploying diagrams: versions, and every refusal with a reason the analyst can act on.

A refused file writes nothing. Small diagrams are built here: `diagram()` is a minimal valid
process (start → one task → gateway with a condition → two ends, one lane `employer`) and each
test injects one problem.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from engine.deploy import DeployRefused, DeployResult, check, deploy, deploy_directory, latest_versions
from engine.models import ProcessDefinition
from services.db import db
from tests.broken_diagrams import BROKEN
from tests.conftest import DIAGRAMS, make_app

ROOT = Path(__file__).resolve().parents[2]
BASE_ADJUSTMENT = ROOT / "bpmn-diagrams" / "base_adjustment.bpmn"
CORPUS = Path("/work/shared/corpus/bpmn")
HPF = ROOT / ".venv" / "bin" / "hpf"
KEY = "deploy_probe"

NAMESPACES = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
              'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
              'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')


def user_task(form: str | None = "review") -> str:
    props = "" if form is None else (
        "<bpmn:extensionElements><spiffworkflow:properties>"
        f"<spiffworkflow:property name=\"form\" value={quoteattr(form)} />"
        "</spiffworkflow:properties></bpmn:extensionElements>")
    return f'<bpmn:userTask id="work" name="填写申请">{props}</bpmn:userTask>'


def service_task(operator: str = "common.notify", text: str = '"已受理"') -> str:
    return ('<bpmn:serviceTask id="work" name="通知"><bpmn:extensionElements>'
            f'<spiffworkflow:serviceTaskOperator id={quoteattr(operator)} resultVariable="notified">'
            '<spiffworkflow:parameters>'
            f'<spiffworkflow:parameter id="text" type="str" value={quoteattr(text)} />'
            '</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
            '</bpmn:serviceTask>')


def script_task(script: str) -> str:
    return (f'<bpmn:scriptTask id="work" name="计算"><bpmn:script>{escape(script)}</bpmn:script>'
            '</bpmn:scriptTask>')


def diagram(key: str = KEY, task: str | None = None, condition: str = 'decision == "approve"',
            lane: str = "employer", extra: str = "", executable: str = "true") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{key}" name="部署试验" isExecutable="{executable}">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_1" name="{lane}">
        <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>work</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Gateway_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndEvent_yes</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndEvent_no</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1" />
    {task or user_task()}
    <bpmn:exclusiveGateway id="Gateway_1" default="Flow_no" />
    <bpmn:endEvent id="EndEvent_yes" />
    <bpmn:endEvent id="EndEvent_no" />{extra}
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="work" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="work" targetRef="Gateway_1" />
    <bpmn:sequenceFlow id="Flow_yes" sourceRef="Gateway_1" targetRef="EndEvent_yes">
      <bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_no" sourceRef="Gateway_1" targetRef="EndEvent_no" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def definitions(key: str) -> list[ProcessDefinition]:
    return list(db.session.execute(select(ProcessDefinition).where(ProcessDefinition.key == key)
                                   .order_by(ProcessDefinition.version)).scalars())


def row_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ProcessDefinition))


def refused(xml: bytes, filename: str = f"{KEY}.bpmn", key: str | None = None) -> str:
    """Deploys, expects a refusal that wrote nothing, returns all reasons as one text."""
    before = row_count()
    with pytest.raises(DeployRefused) as caught:
        deploy(xml, filename, "test", key=key)
    assert row_count() == before
    assert caught.value.reasons, "a refusal carries at least one reason"
    assert filename in caught.value.message
    return "；".join(caught.value.reasons)


# -- versions ------------------------------------------------------------------------------

def test_base_adjustment_is_deployed_as_version_1(ctx):
    [v1] = definitions("base_adjustment")
    assert v1.version == 1
    assert v1.sha256 == hashlib.sha256(BASE_ADJUSTMENT.read_bytes()).hexdigest()


def test_same_bytes_again_is_unchanged(ctx):
    before = row_count()
    result = deploy(BASE_ADJUSTMENT.read_bytes(), BASE_ADJUSTMENT.name, "test")
    assert result == DeployResult("base_adjustment", 1, changed=False)
    assert row_count() == before


def test_a_changed_file_becomes_version_2_and_version_1_stays(ctx):
    original = BASE_ADJUSTMENT.read_bytes()
    renamed = original.replace("校验清册".encode(), "校验基数清册".encode())
    assert renamed != original
    assert deploy(renamed, BASE_ADJUSTMENT.name, "test") == DeployResult("base_adjustment", 2, True)
    v1, v2 = definitions("base_adjustment")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.bpmn_xml == original.decode() and "校验基数清册" not in v1.meta_json
    assert "校验基数清册" in v2.meta_json and v2.deployed_by == "test"
    assert [d.version for d in latest_versions() if d.key == "base_adjustment"] == [2]
    assert deploy(renamed, BASE_ADJUSTMENT.name, "test") == DeployResult("base_adjustment", 2, False)


def test_a_new_diagram_is_version_1_with_its_lanes_and_forms(ctx):
    assert deploy(diagram(), f"{KEY}.bpmn", "test") == DeployResult(KEY, 1, True)
    [v1] = definitions(KEY)
    assert v1.name == "部署试验"
    assert '"form": "review"' in v1.meta_json and '"lane": "employer"' in v1.meta_json


def test_the_minimal_diagram_variants_are_valid():
    """The helpers themselves build acceptable diagrams (so refusals below are the injected problem)."""
    for task in (user_task(), service_task(), script_task("total = sum([1, 2])")):
        assert check(diagram(task=task), f"{KEY}.bpmn").key == KEY
    assert check(diagram(lane="centre_reviewer"), f"{KEY}.bpmn").meta["lanes"] == {
        "centre_reviewer": "centre_reviewer"}


def test_a_directory_deploys_the_good_files_and_reports_the_refused(ctx, tmp_path):
    (tmp_path / f"{KEY}.bpmn").write_bytes(diagram())
    (tmp_path / "deploy_bad.bpmn").write_bytes(diagram(key="deploy_bad", lane="clerk"))
    bad, good = deploy_directory(tmp_path, "test")
    assert good == DeployResult(KEY, 1, True)
    assert isinstance(bad, DeployRefused) and "clerk" in bad.message
    assert definitions("deploy_bad") == []


# -- refused: unsafe Python ----------------------------------------------------------------

@pytest.mark.parametrize(("script", "word"), [
    ("import_os = __import__('os')", "__import__"),
    ("user_list = open('/etc/passwd').read()", "open"),
])
def test_a_script_task_with_an_escape_is_refused(ctx, script, word):
    reasons = refused(diagram(task=script_task(script)))
    assert "work" in reasons and word in reasons


def test_the_corpus_passwd_reader_is_refused(ctx):
    xml = (CORPUS / "spiff-arena__read_etc_passwd.bpmn").read_bytes()
    reasons = refused(xml, "dangerous.bpmn")
    assert "read_etc_passwd" in reasons and "open" in reasons


def test_a_gateway_condition_with_an_escape_is_refused(ctx):
    reasons = refused(diagram(condition="().__class__.__bases__[0].__subclasses__()"))
    assert "Flow_yes" in reasons and "__subclasses__" in reasons


def test_a_service_task_parameter_with_an_escape_is_refused(ctx):
    reasons = refused(diagram(task=service_task(text="__import__('os').system('id')")))
    assert "__import__" in reasons


# -- refused: not a deployable BPMN file ---------------------------------------------------

def test_a_doctype_is_refused(ctx):
    reasons = refused((CORPUS / "spiff-arena__invoice.bpmn").read_bytes(), "invoice.bpmn")
    assert "DOCTYPE" in reasons


def test_a_non_executable_diagram_is_refused(ctx):
    reasons = refused((CORPUS / "bpmnio-examples__newDiagram.bpmn").read_bytes(), "Process_1.bpmn")
    assert "isExecutable" in reasons
    assert "isExecutable" in refused(diagram(executable="false"))


def test_an_xsd_invalid_diagram_is_refused(ctx):
    reasons = refused((CORPUS / "bpmnio-examples__kitchen-sink.bpmn").read_bytes(), "Process_1.bpmn")
    assert "BPMN 校验失败" in reasons and "linkEventDefinition" in reasons


def test_a_camunda_service_task_is_refused(ctx):
    reasons = refused((CORPUS / "camunda-examples__order-handling.bpmn").read_bytes(), "Order_Process.bpmn")
    assert "Task_1yjkccw" in reasons and "Camunda" in reasons and "外部任务（camunda:type）" in reasons
    assert "Cron" in reasons and "StartEvent_1" in reasons


def test_malformed_xml_is_refused(ctx):
    reasons = refused(diagram()[:-30])
    assert "XML 格式错误" in reasons


def test_the_file_stem_must_be_a_process_id(ctx):
    reasons = refused(diagram(), "deploy_other.bpmn")
    assert "deploy_other" in reasons and KEY in reasons


# -- refused: lanes, forms, operators ------------------------------------------------------

def test_an_unknown_lane_is_refused(ctx):
    reasons = refused(diagram(lane="clerk"))
    assert "clerk" in reasons and "employer" in reasons and "centre_reviewer" in reasons


def test_a_user_task_without_a_form_is_refused(ctx):
    reasons = refused(diagram(task=user_task(form=None)))
    assert "work" in reasons and "form" in reasons


def test_a_user_task_with_an_unknown_form_is_refused(ctx):
    reasons = refused(diagram(task=user_task(form="no_such_form")))
    assert "no_such_form" in reasons


def test_a_service_task_with_an_unknown_operator_is_refused(ctx):
    reasons = refused(diagram(task=service_task(operator="os.system")))
    assert "work" in reasons and "os.system" in reasons


def test_every_problem_is_reported_at_once(ctx):
    before = row_count()
    with pytest.raises(DeployRefused) as caught:
        deploy(diagram(lane="clerk", task=user_task(form="no_such_form"), condition="open('x')"),
               f"{KEY}.bpmn", "test")
    assert len(caught.value.reasons) == 3
    assert row_count() == before


# -- the command line ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    """A fresh SQLite database migrated with `hpf init-db`."""
    instance = tmp_path_factory.mktemp("cli")
    env = {**os.environ, "HPF_INSTANCE_DIR": str(instance),
           "HPF_DATABASE_URL": f"sqlite:///{instance / 'cli.db'}"}
    done = subprocess.run([str(HPF), "init-db"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return env


def hpf_deploy(env: dict, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(HPF), "deploy", str(path)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_cli_refuses_with_the_reason(cli_env, tmp_path):
    path = tmp_path / f"{KEY}.bpmn"
    path.write_bytes(diagram(task=script_task("x = __import__('os')")))
    done = hpf_deploy(cli_env, path)
    assert done.returncode != 0
    assert "未部署" in done.stderr and "脚本中不允许使用名称 __import__" in done.stderr


def test_cli_names_the_element_of_each_problem(cli_env, tmp_path):
    path = tmp_path / "base_adjustment.bpmn"
    path.write_bytes(BROKEN["unknown_handler"].xml)
    done = hpf_deploy(cli_env, path)
    assert done.returncode != 0
    assert "「新基数生效」(apply)" in done.stderr and "base_adjustment.apply_twice" in done.stderr


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared BPMN corpus not present")
def test_cli_names_the_construct_another_tool_used(cli_env):
    done = hpf_deploy(cli_env, CORPUS / "camunda-examples__order-handling.bpmn")
    assert done.returncode != 0
    assert "外部任务（camunda:type）" in done.stderr and "Cron" in done.stderr


def test_cli_deploys_a_good_file(cli_env):
    done = hpf_deploy(cli_env, BASE_ADJUSTMENT)
    assert done.returncode == 0, done.stderr
    assert "base_adjustment" in done.stdout and "v1" in done.stdout


def test_a_conditional_event_with_an_escape_is_refused(ctx):
    event = ('<bpmn:intermediateCatchEvent id="Wait_1"><bpmn:conditionalEventDefinition id="Cond_1">'
             '<bpmn:condition xsi:type="bpmn:tFormalExpression">__import__(\'os\')</bpmn:condition>'
             '</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>')
    assert "__import__" in refused(diagram(extra=event))


def test_a_refused_parameter_names_its_task(ctx):
    assert "元素 work " in refused(diagram(task=service_task(text="open('x')")))


def test_a_doctype_in_another_encoding_is_refused(ctx):
    xml = diagram().decode().replace('encoding="UTF-8"', 'encoding="UTF-7"')
    xml = xml.replace("<bpmn:definitions", '<!DOCTYPE d [<!ENTITY who "缴存单位">]>\n<bpmn:definitions', 1)
    xml = xml.replace('name="部署试验"', 'name="&who;"').encode("utf-7").replace(b"<!", b"<+ACE-")
    assert b"<!DOCTYPE" not in xml
    assert "DOCTYPE" in refused(xml)


def test_a_gbk_file_is_refused_with_a_reason_not_a_crash(ctx):
    gbk = diagram().decode().replace('encoding="UTF-8"', 'encoding="GBK"').encode("gbk")
    assert "UTF-8" in refused(gbk)


def test_the_app_deploys_changed_diagrams_when_it_starts(databases, tmp_path):
    """Deploy-on-start: a migrated database without diagrams gets them when the hall starts,
    and a second start deploys nothing new."""
    name = databases.clone()
    url = databases.url(name)
    try:
        bare = make_app(url, tmp_path)
        with bare.app_context():
            db.session.execute(sa.delete(ProcessDefinition))
            db.session.commit()
            db.engine.dispose()
        for _ in range(2):
            started = make_app(url, tmp_path, DEPLOY_ON_START=True)
            with started.app_context():
                keys = db.session.execute(sa.select(ProcessDefinition.key,
                                                    ProcessDefinition.version)).all()
                db.engine.dispose()
            assert sorted(keys) == sorted((path.stem, 1) for path in DIAGRAMS.glob("*.bpmn"))
    finally:
        databases.drop(name)
