"""BPMN constructs the hall's engine cannot run, each named so the analyst knows what to
change: element kinds, event definitions, timer texts and other tools' extensions (Camunda
Modeler diagrams carry behaviour in `camunda:` attributes that SpiffWorkflow ignores or
refuses with an unclear message).
"""

from __future__ import annotations

import re

from .diagram import Diagram, Element, foreign_names

#: Element kinds the engine cannot run, and what to use instead.
UNSUPPORTED_KINDS = {
    "manualTask": "手工任务（manualTask）不受支持，请改为用户任务并指定表单",
    "businessRuleTask": "业务规则任务（businessRuleTask，DMN 决策表）不受支持，请用网关条件或服务任务",
    "task": "未指定类型的任务（task）无法办理，请改为用户任务、服务任务或脚本任务",
    "sendTask": "发送任务（sendTask）不受支持：大厅不向外发送 BPMN 消息，通知单位请用服务任务 common.notify",
    "complexGateway": "复杂网关（complexGateway）不受支持，请用排他网关或包容网关",
    "adHocSubProcess": "自由子流程（adHocSubProcess）不受支持",
    "dataStoreReference": "数据存储（dataStore）不受支持：业务数据由服务任务读写",
    "dataStore": "数据存储（dataStore）不受支持：业务数据由服务任务读写",
}
EVENT_NAMES = {"timerEventDefinition": "定时器", "messageEventDefinition": "消息",
               "signalEventDefinition": "信号", "conditionalEventDefinition": "条件",
               "errorEventDefinition": "错误", "escalationEventDefinition": "升级",
               "compensateEventDefinition": "补偿", "linkEventDefinition": "链接",
               "cancelEventDefinition": "取消", "terminateEventDefinition": "终止"}
#: Camunda / Zeebe extensions that change behaviour; SpiffWorkflow does not run them.
FOREIGN_FEATURES = {
    "type": "外部任务", "topic": "外部任务主题", "class": "Java 委托类", "expression": "表达式",
    "delegateExpression": "委托表达式", "resultVariable": "结果变量", "formKey": "表单",
    "formData": "表单字段", "formRef": "表单", "assignee": "办理人", "candidateGroups": "候选组",
    "candidateUsers": "候选人", "dueDate": "到期时间", "followUpDate": "跟进时间",
    "collection": "多实例集合", "elementVariable": "多实例变量", "decisionRef": "决策引用",
    "resource": "外部脚本资源", "executionListener": "执行监听器", "taskListener": "任务监听器",
    "inputOutput": "输入输出映射", "connector": "连接器", "in": "调用传入变量",
    "out": "调用传出变量", "taskDefinition": "作业类型", "ioMapping": "输入输出映射",
    "calledDecision": "决策引用", "calledElement": "调用设置", "formDefinition": "表单",
    "assignmentDefinition": "办理人", "script": "脚本",
}
FOREIGN_PREFIXES = ("camunda", "zeebe")
_CRON = re.compile(r"^[\d*?/,\-LW#A-Z]+(\s+[\d*?/,\-LW#A-Z]+){4,6}$")
_BARE_ISO = re.compile(r"^(R\d*/)?(P[\dYMWDTHS.]+|\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)"
                       r"(/P[\dYMWDTHS.]+)?$")


def element_problems(diagram: Diagram, element: Element, main_process: str,
                     known_messages: dict[str, str]) -> list[str]:
    """What in this element the engine cannot run (messages name the element)."""
    problems = []
    label = element.label
    if element.kind in UNSUPPORTED_KINDS:
        problems.append(f"{label}：{UNSUPPORTED_KINDS[element.kind]}")
    if element.kind == "callActivity":
        if not element.called:
            problems.append(f"调用活动{label}没有指定被调用的流程")
        elif element.called not in diagram.processes:
            problems.append(f"调用活动{label}调用的流程 {element.called} 不在本文件中")
    if element.kind == "startEvent" and element.events and element.container == main_process:
        kinds = "、".join(EVENT_NAMES.get(e, e) for e in element.events)
        problems.append(f"发起事件{label}带有{kinds}定义：申请由缴存单位发起，流程的发起事件不能带事件定义")
    if "messageEventDefinition" in element.events:
        problems.extend(_message_problems(element, known_messages))
    if element.kind == "receiveTask":
        problems.extend(_message_problems(element, known_messages))
    if "timerEventDefinition" in element.events and not (element.timer or ("", ""))[1]:
        problems.append(f"定时器{label}没有设定时间（时长、日期或周期）")
    if element.kind == "serviceTask" and element.handler is None:
        problems.append(f"服务任务{label}没有指定大厅登记的处理程序（spiffworkflow:serviceTaskOperator）")
    if element.kind == "scriptTask" and not (element.script or "").strip():
        problems.append(f"脚本任务{label}没有脚本")
    script_format = element.node.get("scriptFormat") if element.node is not None else None
    if script_format and script_format.lower() not in ("python", "python3", "text/x-python"):
        problems.append(f"脚本任务{label}的脚本语言 {script_format} 不受支持（只支持受限的 Python）")
    foreign = [name for name in foreign_names(element)
               if name.split(":")[0] in FOREIGN_PREFIXES
               and name.split(":")[-1] in FOREIGN_FEATURES]
    if foreign:
        what = "、".join(f"{FOREIGN_FEATURES[n.split(':')[-1]]}（{n}）" for n in foreign)
        vendor = "Camunda" if foreign[0].startswith("camunda") else "Zeebe"
        problems.append(f"{label}使用了 {vendor} 的扩展：{what}，大厅引擎不执行这些设置")
    return problems


def _message_problems(element: Element, known: dict[str, str]) -> list[str]:
    label = element.label
    if element.kind in ("intermediateThrowEvent", "endEvent"):
        return [f"消息发送事件{label}不受支持：大厅不向外发送 BPMN 消息，通知单位请用服务任务 common.notify"]
    if not element.message:
        return [f"消息事件{label}没有指定消息"]
    if element.message not in known:
        allowed = "、".join(f"{k}（{v}）" for k, v in known.items()) or "无"
        return [f"消息事件{label}等待的消息「{element.message}」不是大厅会投递的消息（可用：{allowed}）"]
    return []


def timer_problem(text: str) -> str | None:
    """Why a timer text cannot run, or None. The text is a Python expression giving an
    ISO 8601 string (`"PT1H"`, with quotes); other tools write the bare string or cron."""
    text = text.strip()
    if text.startswith(("${", "#{")):
        return f"Camunda 表达式 {text} 不受支持：定时须为 Python 表达式，如 \"PT1H\""
    if _CRON.match(text):
        return (f"Cron 定时表达式 {text}（Camunda 格式）不受支持：请用 ISO 8601 重复周期，"
                "如 \"R3/PT1H\"（带引号）")
    if _BARE_ISO.match(text):
        return f"定时表达式须为带引号的文本：请写 \"{text}\"（Python 表达式）"
    return None
