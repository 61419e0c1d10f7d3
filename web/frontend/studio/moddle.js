/* The spiffworkflow: extensions the hall's engine reads, for bpmn-js to read and write them
   as typed elements: a user task's form (properties/property name="form"), a service
   task's handler (serviceTaskOperator id, resultVariable, parameters), a message catch's
   variable, and pre/post scripts. */
export default {
  name: "SpiffWorkflow",
  prefix: "spiffworkflow",
  uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
  xml: { tagAlias: "lowerCase" },
  types: [
    { name: "Properties", superClass: ["Element"],
      properties: [{ name: "properties", type: "Property", isMany: true }] },
    { name: "Property", superClass: ["Element"],
      properties: [{ name: "name", type: "String", isAttr: true },
                   { name: "value", type: "String", isAttr: true }] },
    { name: "ServiceTaskOperator", superClass: ["Element"],
      properties: [{ name: "id", type: "String", isAttr: true },
                   { name: "resultVariable", type: "String", isAttr: true },
                   { name: "parameterList", type: "Parameters" }] },
    { name: "Parameters", superClass: ["Element"],
      properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
    { name: "Parameter", superClass: ["Element"],
      properties: [{ name: "id", type: "String", isAttr: true },
                   { name: "type", type: "String", isAttr: true },
                   { name: "value", type: "String", isAttr: true }] },
    { name: "MessageVariable", superClass: ["Element"],
      properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "PreScript", superClass: ["Element"],
      properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "PostScript", superClass: ["Element"],
      properties: [{ name: "value", type: "String", isBody: true }] }
  ]
};
