"""The shape of a diagram: elements no path reaches, elements with no way on, and gateways
whose choice can fail (no default flow and a flow without a condition). Each problem names
the element, so the modeler can point at it."""

from __future__ import annotations

from .diagram import CONTAINERS, FLOW_NODES, Diagram, Element

_DECIDING = {"exclusiveGateway", "inclusiveGateway"}
#: Flow nodes that need no outgoing flow: where a path ends, or what is entered otherwise.
_NO_WAY_ON_NEEDED = {"endEvent"}


def problems(diagram: Diagram, processes: set[str]) -> list[tuple[str, str]]:
    """(element id, message) for every shape problem in the given processes."""
    nodes = {e.id: e for e in diagram.elements.values()
             if e.kind in FLOW_NODES and e.process in processes}
    found: list[tuple[str, str]] = []
    reached = _reachable(diagram, nodes, processes)
    for node in nodes.values():
        if node.id not in reached:
            found.append((node.id, f"{node.label}无法到达：没有任何路径从发起事件通向它"))
    for node in nodes.values():
        if _needs_way_on(node) and not diagram.outgoing(node.id):
            found.append((node.id, f"{node.label}之后没有去向：除结束事件外，每个环节都须有流出的连线"))
    for node in nodes.values():
        if node.kind in _DECIDING:
            found.extend(_gateway_problems(diagram, node))
    return found


def _needs_way_on(node: Element) -> bool:
    if node.kind in _NO_WAY_ON_NEEDED or node.for_compensation or node.triggered_by_event:
        return False
    if node.kind == "intermediateThrowEvent" and "linkEventDefinition" in node.events:
        return False  # continues at the link's catch event
    return not (node.kind == "boundaryEvent" and "compensateEventDefinition" in node.events)


def _reachable(diagram: Diagram, nodes: dict[str, Element], processes: set[str]) -> set[str]:
    """Nodes reachable from the processes' start events (and, inside a reached subprocess,
    from its own start events; boundary events with their activity; link throws to their
    catches). Event subprocesses and compensation handlers are entered by events."""
    entries = [n.id for n in nodes.values() if _is_entry(diagram, n, nodes)]
    links: dict[str, list[str]] = {}
    for node in nodes.values():
        if node.kind == "intermediateCatchEvent" and "linkEventDefinition" in node.events:
            links.setdefault(_link_name(node), []).append(node.id)
    seen: set[str] = set()
    stack = list(entries)
    while stack:
        current = stack.pop()
        if current in seen or current not in nodes:
            continue
        seen.add(current)
        node = nodes[current]
        stack.extend(flow.target for flow in diagram.outgoing(current) if flow.target)
        stack.extend(b.id for b in nodes.values() if b.attached_to == current)
        if node.kind in CONTAINERS:
            inner = [n for n in nodes.values() if n.container == current]
            starts = [n.id for n in inner if n.kind == "startEvent"]
            stack.extend(starts or [n.id for n in inner if not diagram.incoming(n.id)
                                    and n.kind != "boundaryEvent"])
        if node.kind == "intermediateThrowEvent" and "linkEventDefinition" in node.events:
            stack.extend(links.get(_link_name(node), []))
    return seen


def _is_entry(diagram: Diagram, node: Element, nodes: dict[str, Element]) -> bool:
    if node.for_compensation or node.triggered_by_event:
        return True
    container = nodes.get(node.container)
    top_level = node.container in diagram.processes
    if node.kind == "startEvent" and top_level:
        return True
    return container is not None and container.triggered_by_event and node.kind == "startEvent"


def _link_name(node: Element) -> str:
    for definition in node.node:
        if isinstance(definition.tag, str) and definition.tag.endswith("linkEventDefinition"):
            return definition.get("name") or ""
    return ""


def _gateway_problems(diagram: Diagram, gateway: Element) -> list[tuple[str, str]]:
    outgoing = diagram.outgoing(gateway.id)
    ids = {flow.id for flow in outgoing}
    if gateway.default and gateway.default not in ids:
        return [(gateway.id, f"网关{gateway.label}的默认路径 {gateway.default} 不是它流出的连线")]
    if len(outgoing) < 2 or gateway.default:
        return []
    bare = [flow for flow in outgoing if not flow.condition]
    if not bare:
        return []
    names = "、".join(flow.label for flow in bare)
    return [(gateway.id, f"网关{gateway.label}有 {len(outgoing)} 条流出连线，其中 {names} 没有条件，"
                         "且未设默认路径：条件都不成立时申请将无法继续")]
