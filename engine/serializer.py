"""Workflow state without its spec: the spec is stored once per definition version and
handed back on load. `Decimal` and `date` in task data are converted explicitly."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class SpecLessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of the dict; `from_dict` takes it as `specs=(spec, subprocess_specs)`."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, specs=None):
        spec, subprocess_specs = specs
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _registry():
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = SpecLessWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()},
                      lambda d: date.fromisoformat(d["value"]))
    return registry


_SERIALIZER = BpmnWorkflowSerializer(_registry())
_FULL = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))  # specs only


def dump_spec(spec, subprocess_specs) -> str:
    return json.dumps({
        "spec": _FULL.registry.convert(spec),
        "subprocess_specs": {k: _FULL.registry.convert(v) for k, v in subprocess_specs.items()},
    }, separators=(",", ":"))


def load_spec(text: str):
    dct = json.loads(text)
    spec = _FULL.registry.restore(dct["spec"])
    subprocess_specs = {k: _FULL.registry.restore(v) for k, v in dct["subprocess_specs"].items()}
    return spec, subprocess_specs


def as_stored(value):
    """`value` as task data holds it after a save and a load: a fresh copy, with tuples as
    lists and dict keys as strings (what JSON keeps)."""
    return _SERIALIZER.registry.restore(json.loads(json.dumps(
        _SERIALIZER.registry.convert(value))))


def dump_workflow(workflow: BpmnWorkflow) -> str:
    return _SERIALIZER.serialize_json(workflow)


def load_workflow(text: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    """Restore a workflow; the script engine is not serialized, so it is set here, always."""
    dct = json.loads(text)
    _SERIALIZER.migrate(dct)
    workflow = _SERIALIZER.registry.restore(dct, specs=(spec, subprocess_specs))
    workflow.script_engine = script_engine
    return workflow


def spec_registry():
    """The converter registry for specs, which SpiffWorkflow's version diff compares with."""
    return _FULL.registry
