"""迁移: move running applications of an old version of a business's diagram to its latest
version. An application may move when every step it waits at exists in the new version
as the same kind of element, with the same form and lane; SpiffWorkflow's version diff
(`SpiffWorkflow.bpmn.util.diff`) then re-points its tasks at the new spec. The waiting
tasks keep their ids (so the task index stays true), which is checked, as is that the
moved state loads again on the new spec. Each move is one locked, revision-checked write of
the instance plus a history row naming who moved it and when.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from services.clock import iso
from services.db import db, utcnow
from services.errors import InvalidInput, NotFound

from . import history, store
from .actors import Actor
from .deploy import version as deployed_version
from .models import READY, RUNNING, HumanTask, ProcessInstance
from .script_engine import SCRIPT_ENGINE
from .serializer import dump_workflow, load_workflow, spec_registry

MAX_AT_ONCE = 200


@dataclass
class Plan:
    """Whether one application can move, and why not."""

    instance_id: int
    version: int | None = None
    created_at: object = None
    waiting: list[dict] = field(default_factory=list)
    movable: bool = False
    reason: str = ""
    migrated: bool = False
    state: str | None = field(default=None, repr=False)
    active: list[str] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        return {"instance_id": self.instance_id, "version": self.version,
                "created_at": iso(self.created_at), "waiting": self.waiting,
                "movable": self.movable, "reason": self.reason, "migrated": self.migrated}


def running(key: str, version: int) -> list[dict]:
    """Applications still running on one version, oldest first, with where they wait."""
    definition_id = deployed_version(key, version).id
    rows = db.session.execute(select(ProcessInstance).where(
        ProcessInstance.definition_id == definition_id, ProcessInstance.status == RUNNING)
        .order_by(ProcessInstance.id)).scalars().all()
    definition = store.definition(definition_id)
    return [{"instance_id": r.id, "version": version, "created_at": iso(r.created_at),
             "waiting": [_step(definition, e) for e in json.loads(r.active_elements or "[]")]}
            for r in rows]


def preview(key: str, instance_ids: list[int]) -> list[Plan]:
    """Per application, whether it can move to the latest version; changes nothing."""
    target = store.latest_definition(key)
    plans = []
    for instance_id in _ids(instance_ids):
        row = db.session.get(ProcessInstance, instance_id)
        instance = None if row is None else store.InstanceRow(
            id=row.id, definition_id=row.definition_id, process_key=row.process_key,
            unit_id=row.unit_id, status=row.status, title=row.title, revision=row.revision,
            state=row.state)
        plans.append(_plan(instance, instance_id, key, target))
    return plans


def migrate(key: str, instance_ids: list[int], actor: Actor) -> list[Plan]:
    """Move every movable application of the list; the others stay and say why. Each one
    is locked, planned and written in its own savepoint. Does not commit."""
    target = store.latest_definition(key)
    plans = []
    for instance_id in _ids(instance_ids):
        with db.session.begin_nested():
            try:
                instance = store.lock_instance(instance_id)
            except NotFound:
                instance = None
            plan = _plan(instance, instance_id, key, target)
            if plan.movable:
                _write(instance, plan, target, actor)
        plans.append(plan)
    return plans


def _ids(instance_ids: list[int]) -> list[int]:
    ids = list(dict.fromkeys(int(i) for i in instance_ids))
    if not ids:
        raise InvalidInput("请选择要迁移的申请", {"instance_ids": ["至少选择一笔申请"]})
    if len(ids) > MAX_AT_ONCE:
        raise InvalidInput(f"一次最多迁移 {MAX_AT_ONCE} 笔申请",
                           {"instance_ids": [f"不能超过 {MAX_AT_ONCE} 笔"]})
    return ids


def _step(definition: store.Definition, element_id: str) -> dict:
    return {"id": element_id, "name": definition.element(element_id).get("name") or element_id}


def _plan(instance: store.InstanceRow | None, instance_id: int, key: str,
          target: store.Definition) -> Plan:
    plan = Plan(instance_id)
    if instance is None or instance.process_key != key:
        plan.reason = "申请不存在或不属于该业务"
        return plan
    old = store.definition(instance.definition_id)
    plan.version = old.version
    plan.created_at = db.session.execute(select(ProcessInstance.created_at).where(
        ProcessInstance.id == instance_id)).scalar()
    if instance.status != RUNNING:
        plan.reason = "申请已办结或已结束，无需迁移"
        return plan
    if old.id == target.id:
        plan.reason = f"已在最新版本 v{target.version} 上"
        return plan
    workflow = load_workflow(instance.state, old.spec, old.subprocess_specs, SCRIPT_ENGINE)
    waiting = [t for t in _tasks(workflow) if t.task_spec.bpmn_id and (
        (t.state == TaskState.READY and t.task_spec.manual)
        or (t.state == TaskState.WAITING and isinstance(t.task_spec, CatchingEvent)))]
    plan.waiting = [_step(old, t.task_spec.bpmn_id) for t in waiting]
    reasons = [r for t in waiting if (r := _refusal(t, old, target))]
    if reasons:
        plan.reason = "；".join(reasons)
        return plan
    try:
        plan.state, plan.active = _moved(workflow, target)
    except _Unmovable as exc:
        plan.reason = str(exc)
        return plan
    plan.movable, plan.reason = True, f"可迁移到 v{target.version}"
    return plan


def _refusal(task, old: store.Definition, new: store.Definition) -> str | None:
    element_id = task.task_spec.bpmn_id
    before, after = old.element(element_id), new.element(element_id)
    name = f"「{before.get('name') or element_id}」"
    if not after:
        return f"所在环节{name}在 v{new.version} 中已不存在"
    if after.get("type") != before.get("type"):
        return f"所在环节{name}在 v{new.version} 中类型已改变"
    if after.get("form") != before.get("form"):
        return f"所在环节{name}的表单由 {before.get('form')} 改为 {after.get('form')}"
    if after.get("lane") != before.get("lane"):
        return f"所在环节{name}的泳道由 {before.get('lane')} 改为 {after.get('lane')}"
    if task.state == TaskState.WAITING and "Timer" in type(
            getattr(task.task_spec, "event_definition", None)).__name__:
        return f"正在等待定时器{name}：迁移会让计时重新开始，请到期后再迁移"
    return None


class _Unmovable(Exception):
    pass


def _moved(workflow, target: store.Definition) -> tuple[str, list[str]]:
    """The workflow re-pointed at the target spec, as a state string, and its active
    elements; raises _Unmovable if anything would not survive the move."""
    ready_before = {t.id: t.task_spec.bpmn_id for t in _tasks(workflow)
                    if t.state == TaskState.READY and t.task_spec.manual}
    registry = spec_registry()
    top, subs = diff_workflow(registry, workflow, target.spec, target.subprocess_specs)
    for sub_id, sub_diff in subs.items():
        if sub_diff is None:
            raise _Unmovable("所在子流程在新版本中已不存在")
        sub = workflow.subprocesses[sub_id]
        migrate_workflow(sub_diff, sub, target.subprocess_specs[sub.spec.name])
    migrate_workflow(top, workflow, target.spec)
    workflow.subprocess_specs = target.subprocess_specs
    ready_after = {t.id: t.task_spec.bpmn_id for t in _tasks(workflow)
                   if t.state == TaskState.READY and t.task_spec.manual}
    if ready_after != ready_before:
        raise _Unmovable("迁移后待办环节会发生变化")
    missing = {t.task_spec.bpmn_id or t.task_spec.name
               for owner in (workflow, *workflow.subprocesses.values())
               for t in owner.tasks.values()
               if owner.spec.task_specs.get(t.task_spec.name) is not t.task_spec}
    if missing:
        raise _Unmovable(f"已经过的环节 {'、'.join(sorted(missing))} 在新版本中已删除")
    state = dump_workflow(workflow)
    try:
        load_workflow(state, target.spec, target.subprocess_specs, SCRIPT_ENGINE)
    except Exception as exc:  # a state the new spec cannot load stays where it is
        raise _Unmovable(f"迁移后的流程状态无法在新版本上载入（{type(exc).__name__}）") from None
    active = [t.task_spec.bpmn_id for t in _tasks(workflow) if t.task_spec.bpmn_id and (
        (t.state == TaskState.READY and t.task_spec.manual)
        or (t.state == TaskState.WAITING and isinstance(t.task_spec, CatchingEvent)))]
    return state, list(dict.fromkeys(active))


def _tasks(workflow):
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def _write(instance: store.InstanceRow, plan: Plan, target: store.Definition,
           actor: Actor) -> None:
    now = utcnow()
    store.save(instance, {"definition_id": target.id, "state": plan.state, "updated_at": now,
                          "active_elements": json.dumps(plan.active)})
    for task_id, element_id in db.session.execute(select(HumanTask.id, HumanTask.element_id).where(
            HumanTask.instance_id == instance.id, HumanTask.state == READY)).all():
        title = target.element(element_id).get("name") or element_id
        store.update_task(task_id, title=title)
    history.write([history.row(instance.id, history.MIGRATED, None, actor, now,
                               opinion=f"流程版本由 v{plan.version} 迁移到 v{target.version}")])
    plan.migrated, plan.reason = True, f"已迁移到 v{target.version}"
