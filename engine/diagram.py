"""A BPMN file read safely and described element by element: what the engine reads from
each element (name, lane, form, handler, condition, timer, message…), in one place for
validation, comparison and the version metadata.

Reading is hardened: no DTD, no entities, no network, no huge trees; a file that declares
any of them is refused before anything else looks at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                              huge_tree=False, remove_comments=False)

#: Flow nodes: what a token passes through. Everything with an id here is an "element".
ACTIVITIES = {"task", "userTask", "serviceTask", "scriptTask", "manualTask", "businessRuleTask",
              "sendTask", "receiveTask", "callActivity", "subProcess", "transaction",
              "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
          "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
            "complexGateway"}
FLOW_NODES = ACTIVITIES | EVENTS | GATEWAYS
CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess"}
#: Elements that are not flow nodes but still matter to the engine.
OTHERS = {"sequenceFlow", "dataStoreReference", "dataStore"}


NO_DTD = "流程图不得包含 DOCTYPE 或实体声明（外部实体、实体展开均被拒绝）"


class NotReadable(ValueError):
    """The bytes are not a BPMN file the hall will read (the message says why, in Chinese)."""


@dataclass
class Element:
    """One BPMN element as the engine sees it. `node` is the XML element (not compared)."""

    id: str
    kind: str
    name: str = ""
    process: str = ""
    container: str = ""
    lane: str | None = None
    source: str | None = None
    target: str | None = None
    attached_to: str | None = None
    default: str | None = None
    condition: str | None = None
    form: str | None = None
    handler: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    result_variable: str | None = None
    script: str | None = None
    events: list[str] = field(default_factory=list)
    timer: tuple[str, str] | None = None
    message: str | None = None
    called: str | None = None
    triggered_by_event: bool = False
    for_compensation: bool = False
    line: int | None = None
    node: object = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        """How a message names the element: 「name」(id), or just (id)."""
        return f"「{self.name}」({self.id})" if self.name else f"({self.id})"


@dataclass
class Lane:
    id: str
    name: str
    process: str
    members: list[str]


@dataclass
class Diagram:
    tree: object
    processes: dict[str, dict]
    elements: dict[str, Element]
    lanes: dict[str, Lane]
    messages: dict[str, str]

    def outgoing(self, element_id: str) -> list[Element]:
        return [e for e in self.elements.values()
                if e.kind == "sequenceFlow" and e.source == element_id]

    def incoming(self, element_id: str) -> list[Element]:
        return [e for e in self.elements.values()
                if e.kind == "sequenceFlow" and e.target == element_id]

    def owner_id(self, node) -> str | None:
        """The id of the nearest BPMN element holding `node` (itself included)."""
        while node is not None and not (isinstance(node.tag, str) and node.get("id")
                                        and etree.QName(node).namespace == BPMN_NS):
            node = node.getparent()
        return node.get("id") if node is not None else None

    def element_at_line(self, line: int) -> str | None:
        """The BPMN element written at `line` (for parser errors that give only a line)."""
        for node in self.tree.iter():
            if isinstance(node.tag, str) and node.sourceline == line:
                return self.owner_id(node)
        return None


def parse_xml(xml: bytes):
    """The XML as lxml reads it, refused if it declares a DTD or entities (in whatever
    encoding they are written) or is not UTF-8 (what the hall stores and serves)."""
    try:
        tree = etree.fromstring(xml, SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        text = str(exc).lower()
        if "entity" in text or "amplification" in text or b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
            why = ("：文件引用了外部实体" if "external entity" in text else
                   "：文件用实体层层展开放大内容" if "amplification" in text else "")
            raise NotReadable(NO_DTD + why) from None
        raise NotReadable(f"XML 格式错误：{exc}") from None
    info = tree.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise NotReadable(NO_DTD)
    if (info.encoding or "UTF-8").upper().replace("_", "-") not in ("UTF-8", "UTF8", "ASCII",
                                                                    "US-ASCII"):
        raise NotReadable(f"流程图须以 UTF-8 编码保存（当前为 {info.encoding}）")
    try:
        xml.decode("utf-8")
    except UnicodeDecodeError:
        raise NotReadable("流程图须以 UTF-8 编码保存") from None
    return tree


def read(xml: bytes) -> Diagram:
    """Parse and describe a BPMN file; raises NotReadable when it is not one."""
    tree = parse_xml(xml)
    if tree.tag != f"{{{BPMN_NS}}}definitions":
        raise NotReadable(f"不是 BPMN 文件：根元素为 {etree.QName(tree).localname}，"
                          "应为 BPMN 2.0 的 definitions")
    messages = {m.get("id"): m.get("name") or m.get("id") for m in tree.iter(_bpmn("message"))}
    diagram = Diagram(tree=tree, processes={}, elements={}, lanes={}, messages=messages)
    for process in tree.iter(_bpmn("process")):
        pid = process.get("id") or ""
        diagram.processes[pid] = {"name": process.get("name") or "",
                                  "executable": process.get("isExecutable", "true") == "true"}
        _walk(diagram, process, pid, pid)
        for lane in process.iter(_bpmn("lane")):
            members = [ref.text.strip() for ref in lane.findall(_bpmn("flowNodeRef"))
                       if ref.text and ref.text.strip()]
            diagram.lanes[lane.get("id") or ""] = Lane(
                lane.get("id") or "", lane.get("name") or "", pid, members)
    # A node in nested lanes belongs to the innermost one: later (deeper) lanes win.
    for lane in diagram.lanes.values():
        for member in lane.members:
            if member in diagram.elements:
                diagram.elements[member].lane = lane.id
    return diagram


def _bpmn(local: str) -> str:
    return f"{{{BPMN_NS}}}{local}"


def _local(node) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _walk(diagram: Diagram, container, process_id: str, container_id: str) -> None:
    for node in container:
        if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_NS:
            continue
        kind = _local(node)
        if kind not in FLOW_NODES | OTHERS:
            continue
        element = _describe(diagram, node, kind, process_id, container_id)
        diagram.elements.setdefault(element.id, element)
        if kind in CONTAINERS:
            _walk(diagram, node, process_id, element.id)


def _describe(diagram: Diagram, node, kind: str, process_id: str, container_id: str) -> Element:
    element = Element(id=node.get("id") or "", kind=kind, name=(node.get("name") or "").strip(),
                      process=process_id, container=container_id, line=node.sourceline,
                      node=node)
    element.source, element.target = node.get("sourceRef"), node.get("targetRef")
    element.attached_to, element.default = node.get("attachedToRef"), node.get("default")
    element.called = node.get("calledElement")
    element.triggered_by_event = node.get("triggeredByEvent") == "true"
    element.for_compensation = node.get("isForCompensation") == "true"
    condition = node.find(_bpmn("conditionExpression"))
    if condition is not None and (condition.text or "").strip():
        element.condition = condition.text.strip()
    script = node.find(_bpmn("script"))
    if script is not None and script.text:
        element.script = script.text
    extensions = node.find(_bpmn("extensionElements"))
    if extensions is not None:
        _spiff_extensions(element, extensions)
    for definition in node:
        local = _local(definition)
        if not local.endswith("EventDefinition"):
            continue
        element.events.append(local)
        if local == "timerEventDefinition":
            for timer_kind in ("timeDuration", "timeDate", "timeCycle"):
                text = definition.find(_bpmn(timer_kind))
                if text is not None:
                    element.timer = (timer_kind, (text.text or "").strip())
        elif local == "messageEventDefinition":
            ref = definition.get("messageRef")
            element.message = diagram.messages.get(ref, ref) if ref else None
    if kind == "receiveTask" and node.get("messageRef"):
        element.message = diagram.messages.get(node.get("messageRef"), node.get("messageRef"))
    return element


def _spiff_extensions(element: Element, extensions) -> None:
    for prop in extensions.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") == "form":
            element.form = prop.get("value") or ""
    operator = extensions.find(f"{{{SPIFF_NS}}}serviceTaskOperator")
    if operator is not None:
        element.handler = operator.get("id") or ""
        element.result_variable = operator.get("resultVariable")
        for param in operator.iter(f"{{{SPIFF_NS}}}parameter"):
            element.parameters[param.get("id") or ""] = param.get("value") or ""


def foreign_names(element: Element) -> list[str]:
    """Attributes and extension elements from other tools' namespaces on the element (not
    inside nested elements with ids), as `prefix:name`, e.g. `camunda:type`."""
    found: list[str] = []
    if element.node is None:
        return found
    stack = [element.node]
    while stack:
        node = stack.pop()
        prefixes = {uri: prefix for prefix, uri in node.nsmap.items()}
        for name in node.attrib:
            namespace = etree.QName(name).namespace
            if namespace and namespace not in (BPMN_NS, SPIFF_NS) and name != XSI_TYPE:
                found.append(f"{prefixes.get(namespace, namespace)}:{etree.QName(name).localname}")
        for child in node:
            if not isinstance(child.tag, str):
                continue
            namespace = etree.QName(child).namespace
            if namespace == BPMN_NS and _local(child) in FLOW_NODES | OTHERS:
                continue  # a nested element reports for itself
            if namespace not in (BPMN_NS, SPIFF_NS):
                found.append(f"{prefixes.get(namespace, namespace)}:{etree.QName(child).localname}")
            stack.append(child)
    return list(dict.fromkeys(found))
