/* The 办理设置 group of the properties panel: exactly what the hall's engine reads from an
   element, with choices from what the code registered (config.hallCatalog: forms, handlers
   and their parameters, lanes, messages). Conditions, scripts, timers and parameters are
   Python checked by the server's sandbox as they are typed (config.hallCheck). The
   standard message and timer groups are replaced, since the engine reads these its way. */
import { h } from "@bpmn-io/properties-panel/preact";
import { useEffect, useState } from "@bpmn-io/properties-panel/preact/hooks";
import {
  Group, SelectEntry, TextAreaEntry, TextFieldEntry,
  isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited,
} from "@bpmn-io/properties-panel";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is, isAny } from "bpmn-js/lib/util/ModelUtil";
import * as ext from "./extensions";

const REPLACED = new Set(["message", "timer"]);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TIMER_KINDS = [["timeDuration", "时长（如 \"PT2H\"）"], ["timeDate", "日期时间（如 \"2026-12-01T09:00:00+08:00\"）"],
                     ["timeCycle", "重复周期（如 \"R3/PT1H\"）"]];

export default function HallPropertiesProvider(propertiesPanel, catalog) {
  this.getGroups = (element) => (groups) => {
    const kept = groups.filter((group) => !REPLACED.has(group.id));
    const entries = hallEntries(element, catalog);
    if (entries.length) {
      kept.splice(1, 0, { id: "hall", label: "办理设置（引擎读取）", entries, component: Group,
                         shouldOpen: true });
    }
    return kept;
  };
  propertiesPanel.registerProvider(400, this);
}
HallPropertiesProvider.$inject = ["propertiesPanel", "config.hallCatalog"];

function hallEntries(element, catalog) {
  const bo = getBusinessObject(element);
  const entries = [];
  const add = (id, component, isEdited, extra) => entries.push({ id, element, component, isEdited, ...extra });
  if (is(element, "bpmn:Lane")) add("hall-role", RoleEntry, isSelectEntryEdited);
  if (is(element, "bpmn:FlowNode") && ext.laneOptions(element).length) {
    add("hall-lane", LaneEntry, isSelectEntryEdited);
  }
  if (is(element, "bpmn:UserTask")) add("hall-form", FormEntry, isSelectEntryEdited);
  if (is(element, "bpmn:ServiceTask")) {
    add("hall-handler", HandlerEntry, isSelectEntryEdited);
    add("hall-result", ResultEntry, isTextFieldEntryEdited);
    for (const name of ext.parameterNames(bo, catalog)) {
      add(`hall-param-${name}`, ParameterEntry, isTextAreaEntryEdited, { name });
    }
  }
  if (is(element, "bpmn:ScriptTask")) add("hall-script", ScriptEntry, isTextAreaEntryEdited);
  if (is(element, "bpmn:SequenceFlow")) add("hall-condition", ConditionEntry, isTextAreaEntryEdited);
  if (isAny(element, ["bpmn:ExclusiveGateway", "bpmn:InclusiveGateway"])) {
    add("hall-default", DefaultFlowEntry, isSelectEntryEdited);
  }
  if (ext.eventDefinition(bo, "bpmn:TimerEventDefinition")) {
    add("hall-timer-kind", TimerKindEntry, isSelectEntryEdited);
    add("hall-timer", TimerEntry, isTextAreaEntryEdited);
  }
  if (ext.eventDefinition(bo, "bpmn:MessageEventDefinition") || is(element, "bpmn:ReceiveTask")) {
    add("hall-message", MessageEntry, isSelectEntryEdited);
    add("hall-message-variable", MessageVariableEntry, isTextFieldEntryEdited);
  }
  return entries;
}

function services() {
  return { catalog: useService("config.hallCatalog"), injector: useService("injector"),
           debounce: useService("debounceInput") };
}

function select(props, label, getValue, setValue, getOptions, description) {
  return h(SelectEntry, { element: props.element, id: props.id, label, getValue, setValue,
                          getOptions, description });
}

function RoleEntry(props) {
  const { catalog, injector } = services();
  return select(props, "角色（决定谁办理）", () => ext.laneRole(props.element, catalog) || "",
    (role) => ext.setLaneRole(injector, props.element, role, catalog),
    () => [{ value: "", label: "（不是已知角色）" },
           ...catalog.lanes.map((l) => ({ value: l.key, label: `${l.name}（${l.key}）` }))]);
}

function LaneEntry(props) {
  const { injector } = services();
  return select(props, "所在泳道", () => ext.laneOf(props.element) || "",
    (laneId) => ext.moveToLane(injector, props.element, laneId),
    () => [{ value: "", label: "（不在泳道中）" }, ...ext.laneOptions(props.element)],
    "选择泳道会把元素移入该泳道");
}

function FormEntry(props) {
  const { catalog, injector } = services();
  const bo = getBusinessObject(props.element);
  return select(props, "表单", () => ext.formKey(bo) || "",
    (key) => ext.setFormKey(injector, props.element, key),
    () => [{ value: "", label: "（请选择表单）" },
           ...catalog.forms.map((f) => ({ value: f.key, label: `${f.title}（${f.key}）` }))]);
}

function HandlerEntry(props) {
  const { catalog, injector } = services();
  const bo = getBusinessObject(props.element);
  const current = ext.operator(bo);
  const known = catalog.handlers.find((x) => x.name === (current && current.id));
  return select(props, "处理程序", () => (current && current.id) || "",
    (name) => ext.setHandler(injector, props.element, name, catalog),
    () => [{ value: "", label: "（请选择处理程序）" },
           ...catalog.handlers.map((x) => ({ value: x.name, label: `${x.name}：${x.summary}` }))],
    known ? known.summary : "");
}

function ResultEntry(props) {
  const { injector, debounce } = services();
  const bo = getBusinessObject(props.element);
  return h(TextFieldEntry, {
    element: props.element, id: props.id, label: "结果变量", debounce,
    description: "处理程序的结果存入此变量，供后续条件使用（如 manifest_summary）",
    getValue: () => (ext.operator(bo) && ext.operator(bo).resultVariable) || "",
    setValue: (value) => ext.setOperatorAttr(injector, props.element, "resultVariable", value || undefined),
    validate: (value) => (value && !IDENTIFIER.test(value) ? "须为英文字母、数字或下划线，且不以数字开头" : null),
  });
}

function SnippetEntry(props) {
  const { element, id, label, kind, getValue, setValue, rows, description } = props;
  const check = useService("config.hallCheck");
  const debounce = useService("debounceInput");
  const [result, setResult] = useState(null);
  const value = getValue(element) || "";
  useEffect(() => {
    let live = true;
    if (!value.trim()) {
      setResult(null);
      return undefined;
    }
    check(kind, value).then((answer) => { if (live) setResult({ text: value, ...answer }); });
    return () => { live = false; };
  }, [value, kind]);
  const known = result && result.text === value;
  const status = !value.trim() ? (description || "") : !known
    ? h("span", { class: "hall-check", "data-check": "pending" }, "沙箱检查中…")
    : result.ok ? h("span", { class: "hall-check hall-check--ok", "data-check": "ok" }, "✓ 沙箱检查通过")
      : h("span", { class: "hall-check hall-check--refused", "data-check": "refused" }, "✗ 沙箱拒绝");
  return h(TextAreaEntry, {
    element, id, label, getValue, setValue, debounce, rows: rows || 2, monospace: true,
    autoResize: true, description: status,
    validate: (text) => (result && result.text === text && !result.ok ? result.message : null),
  });
}

function ParameterEntry(props) {
  const { catalog, injector } = services();
  const bo = getBusinessObject(props.element);
  const handler = catalog.handlers.find((x) => x.name === (ext.operator(bo) || {}).id);
  const param = handler && handler.parameters.find((p) => p.name === props.name);
  return h(SnippetEntry, {
    element: props.element, id: props.id, kind: "parameter",
    label: `参数 ${props.name}${param && param.required ? "（必填）" : ""}`,
    description: "Python 表达式，如 \"已受理\" 或 \"审批意见：\" + opinion",
    getValue: () => ext.parameterValue(bo, props.name),
    setValue: (value) => ext.setParameter(injector, props.element, props.name, value || ""),
  });
}

function ScriptEntry(props) {
  const { injector } = services();
  const bo = getBusinessObject(props.element);
  return h(SnippetEntry, {
    element: props.element, id: props.id, kind: "script", label: "脚本（受限 Python）", rows: 4,
    getValue: () => bo.get("script") || "",
    setValue: (value) => injector.get("modeling").updateProperties(props.element,
      { script: value || undefined, scriptFormat: "python" }),
  });
}

function ConditionEntry(props) {
  const { injector } = services();
  const bo = getBusinessObject(props.element);
  const source = bo.sourceRef;
  const isDefault = source && source.default === bo;
  return h(SnippetEntry, {
    element: props.element, id: props.id, kind: "condition", label: "条件（Python 表达式）",
    description: isDefault ? "这是网关的默认路径：其他条件都不成立时走这里，条件不生效"
      : "如 decision == \"approve\"，或 Decimal(manifest_summary[\"difference\"]) > Decimal(\"1000\")",
    getValue: () => (bo.conditionExpression && bo.conditionExpression.body) || "",
    setValue: (value) => ext.setCondition(injector, props.element, value),
  });
}

function DefaultFlowEntry(props) {
  const { injector } = services();
  const bo = getBusinessObject(props.element);
  return select(props, "默认路径", () => (bo.default && bo.default.id) || "",
    (flowId) => ext.setDefaultFlow(injector, props.element, flowId),
    () => [{ value: "", label: "（无：每条流出连线都须有条件）" },
           ...(bo.outgoing || []).map((flow) => ({
             value: flow.id, label: `${flow.name || flow.id} → ${(flow.targetRef && flow.targetRef.name) || flow.targetRef.id}` }))],
    "条件都不成立时走默认路径");
}

function TimerKindEntry(props) {
  const { injector } = services();
  const definition = ext.eventDefinition(getBusinessObject(props.element), "bpmn:TimerEventDefinition");
  return select(props, "定时类型", () => ext.timerKind(definition) || "",
    (kind) => ext.setTimer(injector, props.element, definition, kind, ext.timerText(definition)),
    () => [{ value: "", label: "（请选择）" }, ...TIMER_KINDS.map(([value, label]) => ({ value, label }))]);
}

function TimerEntry(props) {
  const { injector } = services();
  const definition = ext.eventDefinition(getBusinessObject(props.element), "bpmn:TimerEventDefinition");
  return h(SnippetEntry, {
    element: props.element, id: props.id, kind: "timer", label: "定时表达式（带引号）",
    getValue: () => ext.timerText(definition),
    setValue: (value) => ext.setTimer(injector, props.element, definition,
      ext.timerKind(definition) || "timeDuration", value),
  });
}

function MessageEntry(props) {
  const { catalog, injector } = services();
  const bo = getBusinessObject(props.element);
  return select(props, "等待的消息", () => ext.messageName(bo) || "",
    (name) => ext.setMessage(injector, props.element, name),
    () => [{ value: "", label: "（请选择）" },
           ...catalog.messages.map((m) => ({ value: m.name, label: `${m.label}（${m.name}）` }))],
    "只能等待大厅会投递的消息");
}

function MessageVariableEntry(props) {
  const { injector, debounce } = services();
  const bo = getBusinessObject(props.element);
  return h(TextFieldEntry, {
    element: props.element, id: props.id, label: "消息内容存入变量", debounce,
    getValue: () => ext.messageVariable(bo) || "",
    setValue: (value) => ext.setMessageVariable(injector, props.element, value),
    validate: (value) => (value && !IDENTIFIER.test(value) ? "须为英文字母、数字或下划线，且不以数字开头" : null),
  });
}
