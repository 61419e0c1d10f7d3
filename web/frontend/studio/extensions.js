/* Reading and writing what the engine reads, on bpmn-js business objects. Every change is
   one command (several moddle updates in one multi-command), so 撤销 undoes it at once. */
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";

const UPDATE = "element.updateModdleProperties";

function run(injector, commands) {
  if (commands.length) {
    injector.get("commandStack").execute("properties-panel.multi-command-executor", commands);
  }
}

function update(element, moddleElement, properties) {
  return { cmd: UPDATE, context: { element, moddleElement, properties } };
}

/** The extension of `type` on `bo`, created (with commands appended) when asked. */
function extension(injector, element, bo, type, commands, attrs) {
  let holder = bo.get("extensionElements");
  if (!holder) {
    holder = injector.get("bpmnFactory").create("bpmn:ExtensionElements", { values: [] });
    holder.$parent = bo;
    commands.push(update(element, bo, { extensionElements: holder }));
  }
  let found = holder.get("values").find((value) => is(value, type));
  if (!found && attrs) {
    found = injector.get("bpmnFactory").create(type, attrs);
    found.$parent = holder;
    commands.push(update(element, holder, { values: [...holder.get("values"), found] }));
  }
  return found;
}

function find(bo, type) {
  const holder = bo && bo.get("extensionElements");
  return holder ? holder.get("values").find((value) => is(value, type)) : undefined;
}

// -- lanes ---------------------------------------------------------------------------------

function lanesOf(container) {
  const lanes = [];
  const walk = (laneSets) => (laneSets || []).forEach((set) => (set.lanes || []).forEach((lane) => {
    lanes.push(lane);
    if (lane.childLaneSet) walk([lane.childLaneSet]);
  }));
  walk(container && container.laneSets);
  return lanes;
}

export function laneOptions(element) {
  const bo = getBusinessObject(element);
  if (is(element, "bpmn:BoundaryEvent")) return [];
  return lanesOf(bo.$parent).filter((lane) => !(lane.childLaneSet && lane.childLaneSet.lanes.length))
    .map((lane) => ({ value: lane.id, label: lane.name ? `${lane.name}（${lane.id}）` : lane.id }));
}

export function laneOf(element) {
  const bo = getBusinessObject(element);
  const lanes = lanesOf(bo.$parent).filter((lane) => (lane.flowNodeRef || []).includes(bo));
  return lanes.length ? lanes[lanes.length - 1].id : null;
}

export function moveToLane(injector, element, laneId) {
  const lane = laneId && injector.get("elementRegistry").get(laneId);
  if (!lane) return;
  const dy = (lane.y + lane.height / 2) - (element.y + element.height / 2);
  injector.get("modeling").moveElements([element], { x: 0, y: Math.round(dy) });
}

export function laneRole(element, catalog) {
  const bo = getBusinessObject(element);
  const keys = catalog.lanes.map((lane) => lane.key);
  return keys.includes(bo.id) ? bo.id : keys.includes(bo.name) ? bo.name : null;
}

export function setLaneRole(injector, element, role, catalog) {
  if (!role) return;
  const taken = injector.get("elementRegistry").get(role);
  const label = (catalog.lanes.find((lane) => lane.key === role) || {}).name || role;
  injector.get("modeling").updateProperties(element,
    taken && taken !== element ? { name: role } : { id: role, name: label });
}

// -- user tasks -------------------------------------------------------------------------------

export function formKey(bo) {
  const properties = find(bo, "spiffworkflow:Properties");
  const form = properties && properties.get("properties").find((p) => p.name === "form");
  return form ? form.value : null;
}

export function setFormKey(injector, element, key) {
  const bo = getBusinessObject(element);
  const commands = [];
  const properties = extension(injector, element, bo, "spiffworkflow:Properties", commands,
                               { properties: [] });
  const form = properties.get("properties").find((p) => p.name === "form");
  if (form) {
    commands.push(update(element, form, { value: key }));
  } else {
    const created = injector.get("bpmnFactory").create("spiffworkflow:Property", { name: "form", value: key });
    created.$parent = properties;
    commands.push(update(element, properties, { properties: [...properties.get("properties"), created] }));
  }
  run(injector, commands);
}

// -- service tasks ----------------------------------------------------------------------------

export function operator(bo) {
  return find(bo, "spiffworkflow:ServiceTaskOperator");
}

function parameters(op) {
  return op && op.parameterList ? op.parameterList.get("parameters") : [];
}

export function parameterNames(bo, catalog) {
  const op = operator(bo);
  const handler = op && catalog.handlers.find((x) => x.name === op.id);
  const names = handler ? handler.parameters.map((p) => p.name) : [];
  return [...new Set([...names, ...parameters(op).map((p) => p.id)])];
}

export function parameterValue(bo, name) {
  const param = parameters(operator(bo)).find((p) => p.id === name);
  return param ? param.value || "" : "";
}

function ensureOperator(injector, element, commands) {
  const bo = getBusinessObject(element);
  const op = extension(injector, element, bo, "spiffworkflow:ServiceTaskOperator", commands, {});
  let list = op.parameterList;
  if (!list) {
    list = injector.get("bpmnFactory").create("spiffworkflow:Parameters", { parameters: [] });
    list.$parent = op;
    commands.push(update(element, op, { parameterList: list }));
  }
  return [op, list];
}

export function setHandler(injector, element, name, catalog) {
  const commands = [];
  const [op, list] = ensureOperator(injector, element, commands);
  const handler = catalog.handlers.find((x) => x.name === name);
  const keep = Object.fromEntries(list.get("parameters").map((p) => [p.id, p]));
  const params = (handler ? handler.parameters : []).map((p) => {
    if (keep[p.name]) return keep[p.name];
    const created = injector.get("bpmnFactory").create("spiffworkflow:Parameter",
      { id: p.name, type: "str", value: "" });
    created.$parent = list;
    return created;
  });
  commands.push(update(element, op, { id: name || undefined }));
  commands.push(update(element, list, { parameters: params }));
  run(injector, commands);
}

export function setOperatorAttr(injector, element, attr, value) {
  const commands = [];
  const [op] = ensureOperator(injector, element, commands);
  commands.push(update(element, op, { [attr]: value }));
  run(injector, commands);
}

export function setParameter(injector, element, name, value) {
  const commands = [];
  const [, list] = ensureOperator(injector, element, commands);
  const param = list.get("parameters").find((p) => p.id === name);
  if (param) {
    commands.push(update(element, param, { value, type: param.type || "str" }));
  } else {
    const created = injector.get("bpmnFactory").create("spiffworkflow:Parameter", { id: name, type: "str", value });
    created.$parent = list;
    commands.push(update(element, list, { parameters: [...list.get("parameters"), created] }));
  }
  run(injector, commands);
}

// -- flows and gateways -----------------------------------------------------------------------

export function setCondition(injector, element, text) {
  const bo = getBusinessObject(element);
  const modeling = injector.get("modeling");
  if (!text || !text.trim()) {
    modeling.updateProperties(element, { conditionExpression: undefined });
  } else if (bo.conditionExpression) {
    modeling.updateModdleProperties(element, bo.conditionExpression, { body: text });
  } else {
    const expression = injector.get("bpmnFactory").create("bpmn:FormalExpression", { body: text });
    modeling.updateProperties(element, { conditionExpression: expression });
  }
}

export function setDefaultFlow(injector, element, flowId) {
  const flow = flowId && injector.get("elementRegistry").get(flowId);
  injector.get("modeling").updateProperties(element, { default: flow ? flow.businessObject : undefined });
}

// -- events -----------------------------------------------------------------------------------

export function eventDefinition(bo, type) {
  return (bo.get("eventDefinitions") || []).find((definition) => is(definition, type));
}

export function timerKind(definition) {
  return ["timeDuration", "timeDate", "timeCycle"].find((kind) => definition && definition.get(kind)) || null;
}

export function timerText(definition) {
  const kind = timerKind(definition);
  return kind ? definition.get(kind).body || "" : "";
}

export function setTimer(injector, element, definition, kind, text) {
  if (!kind) return;
  const expression = injector.get("bpmnFactory").create("bpmn:FormalExpression", { body: text || "" });
  expression.$parent = definition;
  injector.get("modeling").updateModdleProperties(element, definition, {
    timeDuration: undefined, timeDate: undefined, timeCycle: undefined, [kind]: expression });
}

function messageHolder(bo) {
  return eventDefinition(bo, "bpmn:MessageEventDefinition") || bo;
}

export function messageName(bo) {
  const ref = messageHolder(bo).get("messageRef");
  return ref ? ref.name : null;
}

export function setMessage(injector, element, name) {
  const bo = getBusinessObject(element);
  const holder = messageHolder(bo);
  if (!name) {
    injector.get("modeling").updateModdleProperties(element, holder, { messageRef: undefined });
    return;
  }
  let definitions = bo;
  while (definitions && !is(definitions, "bpmn:Definitions")) definitions = definitions.$parent;
  const commands = [];
  let message = definitions.get("rootElements").find((e) => is(e, "bpmn:Message") && e.name === name);
  if (!message) {
    message = injector.get("bpmnFactory").create("bpmn:Message", { name });
    message.$parent = definitions;
    commands.push(update(element, definitions, { rootElements: [...definitions.get("rootElements"), message] }));
  }
  commands.push(update(element, holder, { messageRef: message }));
  run(injector, commands);
}

export function messageVariable(bo) {
  const variable = find(messageHolder(bo), "spiffworkflow:MessageVariable");
  return variable ? variable.value : null;
}

export function setMessageVariable(injector, element, value) {
  const holder = messageHolder(getBusinessObject(element));
  const commands = [];
  const variable = extension(injector, element, holder, "spiffworkflow:MessageVariable", commands, { value });
  commands.push(update(element, variable, { value }));
  run(injector, commands);
}
