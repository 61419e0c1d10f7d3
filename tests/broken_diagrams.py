"""Broken and hostile diagrams the studio and `hpf deploy` must refuse, each with the
element the refusal must name (None for the whole file) and a word it must contain. Built
from the real base adjustment diagram, one fault each, so every other part is valid."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

ORIGINAL = (Path(__file__).resolve().parent.parent / "bpmn-diagrams"
            / "base_adjustment.bpmn").read_text(encoding="utf-8")


class Broken(NamedTuple):
    xml: bytes
    element_id: str | None
    word: str


def _changed(*pairs: tuple[str, str]) -> bytes:
    text = ORIGINAL
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode("utf-8")


_ORPHAN = ('<bpmn:userTask id="orphan_review" name="无人到达的复核"><bpmn:extensionElements>'
           '<spiffworkflow:properties><spiffworkflow:property name="form" value="review" />'
           '</spiffworkflow:properties></bpmn:extensionElements>'
           '<bpmn:outgoing>Flow_orphan</bpmn:outgoing></bpmn:userTask>'
           '<bpmn:sequenceFlow id="Flow_orphan" sourceRef="orphan_review" targetRef="apply" />')
_ORPHAN_DI = ('<bpmndi:BPMNShape id="orphan_review_di" bpmnElement="orphan_review">'
              '<dc:Bounds x="790" y="310" width="100" height="60" /></bpmndi:BPMNShape>'
              '<bpmndi:BPMNEdge id="Flow_orphan_di" bpmnElement="Flow_orphan">'
              '<di:waypoint x="840" y="370" /><di:waypoint x="840" y="395" /></bpmndi:BPMNEdge>')
_PEEK = ('<bpmn:scriptTask id="peek" name="读取系统文件"><bpmn:incoming>Flow_to_review</bpmn:incoming>'
         '<bpmn:outgoing>Flow_peeked</bpmn:outgoing>'
         "<bpmn:script>leak = open('/etc/passwd').read()</bpmn:script></bpmn:scriptTask>"
         '<bpmn:sequenceFlow id="Flow_peeked" sourceRef="peek" targetRef="review" />')
_PEEK_DI = ('<bpmndi:BPMNShape id="peek_di" bpmnElement="peek">'
            '<dc:Bounds x="510" y="310" width="100" height="60" /></bpmndi:BPMNShape>'
            '<bpmndi:BPMNEdge id="Flow_peeked_di" bpmnElement="Flow_peeked">'
            '<di:waypoint x="560" y="370" /><di:waypoint x="560" y="395" /></bpmndi:BPMNEdge>')
_LAUGHS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))

BROKEN: dict[str, Broken] = {
    "unknown_form": Broken(_changed(('value="review"', 'value="review_v9"')), "review",
                           "review_v9"),
    "unknown_handler": Broken(_changed(('id="base_adjustment.apply"',
                                        'id="base_adjustment.apply_twice"')),
                              "apply", "base_adjustment.apply_twice"),
    "unreachable_task": Broken(_changed(
        ("<bpmn:flowNodeRef>apply</bpmn:flowNodeRef>",
         "<bpmn:flowNodeRef>apply</bpmn:flowNodeRef><bpmn:flowNodeRef>orphan_review</bpmn:flowNodeRef>"),
        ("<bpmn:endEvent id=\"EndEvent_done\"", _ORPHAN + "<bpmn:endEvent id=\"EndEvent_done\""),
        ("<bpmn:incoming>Flow_approve</bpmn:incoming>",
         "<bpmn:incoming>Flow_approve</bpmn:incoming><bpmn:incoming>Flow_orphan</bpmn:incoming>"),
        ("</bpmndi:BPMNPlane>", _ORPHAN_DI + "</bpmndi:BPMNPlane>")),
        "orphan_review", "无法到达"),
    "gateway_without_default": Broken(_changed((' default="Flow_reject"', "")),
                                      "Gateway_decision", "默认路径"),
    "script_escape": Broken(_changed(
        ("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>",
         "<bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>peek</bpmn:flowNodeRef>"),
        ('sourceRef="validate_manifest" targetRef="review"',
         'sourceRef="validate_manifest" targetRef="peek"'),
        ("<bpmn:incoming>Flow_to_review</bpmn:incoming>",
         "<bpmn:incoming>Flow_peeked</bpmn:incoming>"),
        ("<bpmn:endEvent id=\"EndEvent_done\"", _PEEK + "<bpmn:endEvent id=\"EndEvent_done\""),
        ("</bpmndi:BPMNPlane>", _PEEK_DI + "</bpmndi:BPMNPlane>")),
        "peek", "open"),
    "condition_escape": Broken(_changed(('decision == "approve"',
                                         "().__class__.__bases__[0].__subclasses__()")),
                               "Flow_approve", "__subclasses__"),
    "external_entity": Broken(_changed(
        ('<bpmn:definitions', '<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM '
                              '"file:///etc/passwd">]>\n<bpmn:definitions'),
        ('name="基数调整" isExecutable', 'name="&xxe;" isExecutable')), None, "外部实体"),
    "entity_expansion": Broken(_changed(
        ('<bpmn:definitions', f'<!DOCTYPE bpmn:definitions [<!ENTITY lol0 "lol">{_LAUGHS}]>\n'
                              '<bpmn:definitions'),
        ('name="基数调整" isExecutable', 'name="&lol9;" isExecutable')), None, "实体层层展开"),
    "not_xml": Broken("这不是流程图 <bpmn:definitions".encode(), None, "XML 格式错误"),
    "not_bpmn": Broken(b'<?xml version="1.0"?><html><body>not a diagram</body></html>', None,
                       "不是 BPMN"),
}
