"""Compare two versions of a diagram: the elements added, removed and changed, by id, in
exactly the properties the engine reads (name, lane, form, handler, condition, …). Layout
(where a shape sits) is not a change."""

from __future__ import annotations

from .actors import ROLES, role_of
from .diagram import Diagram, Element, read

KIND_NAMES = {
    "userTask": "用户任务", "serviceTask": "服务任务", "scriptTask": "脚本任务", "task": "任务",
    "manualTask": "手工任务", "businessRuleTask": "业务规则任务", "sendTask": "发送任务",
    "receiveTask": "接收任务", "callActivity": "调用活动", "subProcess": "子流程",
    "transaction": "事务子流程", "startEvent": "发起事件", "endEvent": "结束事件",
    "intermediateCatchEvent": "中间捕获事件", "intermediateThrowEvent": "中间抛出事件",
    "boundaryEvent": "边界事件", "exclusiveGateway": "排他网关", "inclusiveGateway": "包容网关",
    "parallelGateway": "并行网关", "eventBasedGateway": "事件网关", "sequenceFlow": "连线",
    "lane": "泳道", "dataStoreReference": "数据存储",
}
TIMER_NAMES = {"timeDuration": "时长", "timeDate": "日期", "timeCycle": "周期"}
#: The properties compared, in the order a change lists them.
FIELDS = (("kind", "类型"), ("name", "名称"), ("lane", "泳道"), ("form", "表单"),
          ("handler", "处理程序"), ("parameters", "参数"), ("result_variable", "结果变量"),
          ("script", "脚本"), ("condition", "条件"), ("default", "默认路径"),
          ("timer", "定时器"), ("message", "消息"), ("events", "事件定义"),
          ("source", "起点"), ("target", "终点"), ("attached_to", "附着于"),
          ("called", "调用流程"), ("role", "角色"))


def facts(diagram: Diagram) -> dict[str, dict]:
    """Per element id, the compared properties as display text (None when absent)."""
    result = {}
    for element in diagram.elements.values():
        result[element.id] = _element_facts(diagram, element)
    for lane in diagram.lanes.values():
        result[lane.id] = {"kind": "lane", "name": lane.name or None,
                           "role": role_of(lane.id, lane.name)}
    return result


def _element_facts(diagram: Diagram, element: Element) -> dict:
    lane = diagram.lanes.get(element.lane) if element.lane else None
    role = role_of(lane.id, lane.name) if lane else None
    timer = (f"{TIMER_NAMES.get(element.timer[0], element.timer[0])} {element.timer[1]}"
             if element.timer else None)
    parameters = "；".join(f"{k} = {v}" for k, v in sorted(element.parameters.items()))
    values = {"kind": element.kind, "name": element.name or None,
              "lane": f"{ROLES[role]}（{role}）" if role else (lane.name or lane.id) if lane else None,
              "form": element.form,
              "handler": element.handler, "parameters": parameters or None,
              "result_variable": element.result_variable,
              "script": (element.script or "").strip() or None, "condition": element.condition,
              "default": element.default, "timer": timer, "message": element.message,
              "events": "、".join(element.events) or None, "source": element.source,
              "target": element.target, "attached_to": element.attached_to,
              "called": element.called}
    return {k: v for k, v in values.items() if v is not None}


def compare(old_xml: bytes, new_xml: bytes) -> dict:
    """{"added", "removed", "changed"}: elements with id, name and kind; changes list the
    field, its label and the old and new values."""
    old, new = facts(read(old_xml)), facts(read(new_xml))
    added = [_summary(i, new[i]) for i in new if i not in old]
    removed = [_summary(i, old[i]) for i in old if i not in new]
    changed = []
    for element_id in (i for i in new if i in old):
        before, after = old[element_id], new[element_id]
        changes = [{"field": f, "label": label, "old": before.get(f), "new": after.get(f)}
                   for f, label in FIELDS if before.get(f) != after.get(f)]
        if changes:
            changed.append({**_summary(element_id, after), "changes": changes})
    return {"added": added, "removed": removed, "changed": changed}


def _summary(element_id: str, values: dict) -> dict:
    kind = values.get("kind", "")
    return {"id": element_id, "name": values.get("name") or "", "kind": kind,
            "kind_name": KIND_NAMES.get(kind, kind)}
