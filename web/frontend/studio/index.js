/* The studio's modeler extras, bundled by `make` (esbuild) into
   web/static/vendor/studio/panel.js as the global HallStudio: the properties panel with the
   hall's provider, the spiffworkflow: moddle extension and the Chinese labels. */
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";
import moddle from "./moddle";
import HallPropertiesProvider from "./provider";
import translate from "./translate";

export const modules = [
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  { __init__: ["hallPropertiesProvider"], hallPropertiesProvider: ["type", HallPropertiesProvider] },
  { translate: ["value", translate] },
];
export const moddleExtensions = { spiffworkflow: moddle };
