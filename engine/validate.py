"""Validation of a diagram before it is deployed, shared by `hpf deploy`, the upload on
流程管理 and the studio's 校验 button: every problem names the element it is about, so
the modeler can highlight it.

Checked: the file is safe XML and BPMN (no DOCTYPE, entities or other encodings); the
business's process is there and executable; SpiffWorkflow parses it (XSD and spiff
extensions); no construct the engine cannot run (`constructs`); lanes are roles; user tasks
name a registered form, service tasks a registered handler with its parameters; the shape
holds (`graph`); every script, condition, timer and parameter passes the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from forms import FORMS
from processes import HANDLERS
from processes.events import MESSAGES

from . import constructs, graph, sandbox
from .actors import ROLES, role_of
from .catalog import handler_parameters
from .diagram import BPMN_NS, SPIFF_NS, Diagram, NotReadable, read

#: Elements whose text is a Python expression evaluated at run time (BPMN and spiff).
EXPRESSION_TAGS = {"conditionExpression", "condition", "timeDuration", "timeDate", "timeCycle",
                   "loopCardinality", "completionCondition", "messagePayload", "expression",
                   "payloadExpression", "messagePath", "formalExpression", "dataPath"}
SCRIPT_TAGS = {"script", "preScript", "postScript"}
SNIPPET_NAMES = {"conditionExpression": "条件", "condition": "条件", "timeDuration": "定时表达式",
                 "timeDate": "定时表达式", "timeCycle": "定时表达式", "script": "脚本",
                 "preScript": "前置脚本", "postScript": "后置脚本"}


@dataclass(frozen=True)
class Problem:
    """One reason a diagram cannot be deployed; `element_id` is None for the whole file."""

    element_id: str | None
    message: str

    def to_dict(self) -> dict:
        return {"element_id": self.element_id, "message": self.message}


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    diagram: Diagram | None = None
    spec: object = None
    subprocess_specs: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, element_id: str | None, message: str) -> None:
        problem = Problem(element_id, message)
        if problem not in self.problems:
            self.problems.append(problem)


def validate(xml: bytes, key: str, filename: str | None = None) -> Report:
    """Every problem with the file as the diagram of business `key`."""
    report = Report()
    try:
        report.diagram = diagram = read(xml)
    except NotReadable as exc:
        report.add(None, str(exc))
        return report
    executable = [pid for pid, p in diagram.processes.items() if p["executable"]]
    if key in executable:
        processes = _called_processes(diagram, key)
    else:
        found = "、".join(executable) if executable else "无（isExecutable 为 false 或没有流程）"
        report.add(None, f"文件中没有 id 为 {key} 的可执行流程（找到：{found}）")
        # Still say what else is wrong with the processes the file does hold (a diagram
        # from another tool opened in the studio), but nothing can be built from it.
        processes = set().union(*(_called_processes(diagram, pid) for pid in executable))
    for element in diagram.elements.values():
        if element.process in processes:
            main = key if key in executable else element.process
            for message in constructs.element_problems(diagram, element, main, MESSAGES):
                report.add(element.id, message)
    _check_lanes(diagram, processes, report)
    _check_tasks(diagram, processes, report)
    for element_id, message in graph.problems(diagram, processes):
        report.add(element_id, message)
    _check_snippets(diagram, processes, report)
    if key in executable:
        _parse_spec(xml, diagram, key, filename or f"{key}.bpmn", report)
    return report


def _called_processes(diagram: Diagram, key: str) -> set[str]:
    """The process and every process its call activities reach within the file."""
    found, stack = set(), [key]
    while stack:
        pid = stack.pop()
        if pid in found or pid not in diagram.processes:
            continue
        found.add(pid)
        stack.extend(e.called for e in diagram.elements.values()
                     if e.process == pid and e.kind == "callActivity" and e.called)
    return found


def _check_lanes(diagram: Diagram, processes: set[str], report: Report) -> None:
    """A lane is known by its id or its name (employer, centre_reviewer)."""
    for lane in diagram.lanes.values():
        if lane.process in processes and role_of(lane.id, lane.name) is None:
            name = lane.name or lane.id
            report.add(lane.id, f"泳道「{name}」({lane.id}) 不是已知角色，id 或名称须为："
                       + "、".join(f"{k}（{v}）" for k, v in ROLES.items()))


def _check_tasks(diagram: Diagram, processes: set[str], report: Report) -> None:
    for element in diagram.elements.values():
        if element.process not in processes:
            continue
        label = element.label
        if element.kind == "userTask":
            if not element.form:
                report.add(element.id, f"用户任务{label}没有指定表单（属性 form）")
            elif element.form not in FORMS:
                report.add(element.id, f"用户任务{label}的表单 {element.form} 不存在")
            if element.lane is None:
                report.add(element.id, f"用户任务{label}不在任何泳道中")
        elif element.kind == "serviceTask" and element.handler is not None:
            _check_handler(element, report)


def _check_handler(element, report: Report) -> None:
    label, name = element.label, element.handler
    if name not in HANDLERS:
        report.add(element.id, f"服务任务{label}调用的 {name or '（空）'} 不存在")
        return
    accepted = handler_parameters(name)
    if accepted is None:
        return
    names = {p["name"] for p in accepted}
    for param in accepted:
        if param["required"] and not element.parameters.get(param["name"], "").strip():
            report.add(element.id, f"服务任务{label}缺少处理程序 {name} 的参数 {param['name']}")
    for given in element.parameters:
        if given not in names:
            allowed = "、".join(sorted(names)) or "无"
            report.add(element.id, f"服务任务{label}的参数 {given} 不是处理程序 {name} 的参数"
                                   f"（可用：{allowed}）")


def _check_snippets(diagram: Diagram, processes: set[str], report: Report) -> None:
    """Every piece of Python in the given processes through the sandbox's check."""
    roots = [p for p in diagram.tree.iter(f"{{{BPMN_NS}}}process") if p.get("id") in processes]
    for root in roots:
        for node in root.iter():
            if not isinstance(node.tag, str) or etree.QName(node).namespace not in (BPMN_NS, SPIFF_NS):
                continue  # other tools' scripts (camunda:script) are named as constructs
            local = etree.QName(node).localname
            if local in EXPRESSION_TAGS and (node.text or "").strip():
                mode, text, what = "eval", node.text.strip(), SNIPPET_NAMES.get(local, "表达式")
            elif local in SCRIPT_TAGS and (node.text or "").strip():
                mode, text, what = "exec", node.text, SNIPPET_NAMES[local]
            elif local == "parameter" and node.get("value"):
                mode, text, what = "eval", node.get("value"), f"参数 {node.get('id')} "
            else:
                continue
            where = diagram.owner_id(node.getparent())
            reason = check_snippet(text, mode, timer=local.startswith("time"))
            if reason:
                report.add(where, f"元素 {where} 的{what}被拒绝：{reason}")


def check_snippet(text: str, mode: str = "eval", timer: bool = False) -> str | None:
    """Why the sandbox refuses a snippet (Chinese), or None. Timer texts are also checked
    for the forms other tools write (bare ISO strings, cron)."""
    if timer:
        reason = constructs.timer_problem(text)
        if reason:
            return reason
    if text.strip().startswith(("${", "#{")):
        return f"Camunda/JUEL 表达式 {text.strip()} 不受支持，须为 Python 表达式"
    try:
        sandbox.check(text if mode == "exec" else text.strip(), mode)
    except sandbox.ScriptRefused as exc:
        return str(exc)
    return None


def _parse_spec(xml: bytes, diagram: Diagram, key: str, filename: str, report: Report) -> None:
    """SpiffWorkflow's own parse: loading validates against the BPMN schema (its errors give
    only a line, mapped here to the element); building the spec finds semantic errors, which
    our own checks mostly say better, so they are added only when nothing else was found."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    stage = "load"
    try:
        parser.add_bpmn_xml(diagram.tree, filename)
        stage = "spec"
        report.spec = parser.get_spec(key)
        report.subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        line = str(exc.line_number)
        element_id = exc.id or (diagram.element_at_line(int(line)) if line.isdigit() else None)
        if stage == "load" or not report.problems:
            report.add(element_id, f"BPMN 校验失败：{exc}")
    except Exception as exc:  # the parser raises bare errors for some malformed diagrams
        report.add(None, f"无法解析流程图：{type(exc).__name__}: {exc}")
