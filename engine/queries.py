"""Read models for pages and the API: an application, its trail and its flowchart."""

from __future__ import annotations

import json
from uuid import UUID

from sqlalchemy import bindparam, select

from services.clock import iso
from services.db import db
from services.direct_sql import query_direct
from services.errors import NotFound
from services.models import Unit, UnitAccount

from . import access, history, registry, store
from .actors import EMPLOYER_LANE, ROLES, Actor
from .models import (
    READY,
    RUNNING,
    STATUS_NAMES,
    HumanTask,
    ProcessDefinition,
    ProcessInstance,
)
from .script_engine import SCRIPT_ENGINE
from .serializer import load_workflow
from .tasks import task_dict


def instance_for(instance_id: int, actor: Actor) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound("业务申请不存在")
    access.check_can_view(instance, actor)
    return instance


_DETAIL = (select(ProcessInstance.id, ProcessInstance.definition_id, ProcessInstance.process_key,
                  ProcessInstance.title, ProcessInstance.status, ProcessInstance.unit_id,
                  ProcessInstance.initiator_name, ProcessInstance.created_at,
                  ProcessInstance.ended_at, ProcessInstance.summary_json, Unit.name,
                  UnitAccount.account_no, ProcessInstance.active_elements)
           .join(Unit, Unit.id == ProcessInstance.unit_id)
           .outerjoin(UnitAccount, UnitAccount.unit_id == Unit.id)
           .where(ProcessInstance.id == bindparam("instance_id")))
_READY_TASKS = select(*HumanTask.__table__.c).where(
    HumanTask.instance_id == bindparam("instance_id"), HumanTask.state == bindparam("state"))


def instance_detail_by_id(instance_id: int) -> dict:
    """The instance as the API shows it, read fresh in two prepared queries (every action
    answers with it)."""
    (_, definition_id, key, title, status, unit_id, initiator, created_at, ended_at, summary,
     unit_name, unit_account, active) = query_direct(_DETAIL, {"instance_id": instance_id})[0]
    ready = [store.TaskRow(*row) for row in query_direct(
        _READY_TASKS, {"instance_id": instance_id, "state": READY})]
    definition = store.definition(definition_id)
    # What else it waits for, by the diagram's names (e.g. 缴款到账): not a person's task
    tasks = {t.element_id for t in ready}
    waiting = [definition.element(e).get("name") or e for e in json.loads(active or "[]")
               if e not in tasks] if status == RUNNING else []
    return {
        "instance_id": instance_id, "process_key": key, "business": title, "status": status,
        "status_name": STATUS_NAMES.get(status, status),
        "version": definition.version, "unit_id": unit_id,
        "unit_name": unit_name, "unit_account": unit_account or "", "initiator": initiator,
        "created_at": iso(created_at), "ended_at": iso(ended_at),
        "summary": json.loads(summary or "{}"),
        "tasks": [task_dict(t, title) for t in ready], "waiting": waiting,
    }


def instance_detail(instance: ProcessInstance) -> dict:
    return instance_detail_by_id(instance.id)


def history_rows(instance: ProcessInstance) -> list[dict]:
    definition = store.definition(instance.definition_id)
    return [{"element_id": e.element_id,
             "element_name": definition.element(e.element_id).get("name") if e.element_id
             else None, "type": e.type,
             "type_name": history.TYPE_NAMES.get(e.type, e.type), "actor": e.actor_name,
             "actor_key": e.actor, "at": iso(e.at), "decision": e.decision, "opinion": e.opinion,
             "lane": e.lane} for e in history.events(instance.id)]


def diagram(instance: ProcessInstance) -> dict:
    """The pinned version's XML, the marking, and per element who did what and when."""
    definition = store.definition(instance.definition_id)
    xml = db.session.execute(select(ProcessDefinition.bpmn_xml).where(
        ProcessDefinition.id == instance.definition_id)).scalar_one()
    state = history.diagram_state(instance, definition)
    details: dict[str, list[dict]] = {}
    for event in history.events(instance.id):
        if event.element_id and event.type != history.TASK_READY:
            details.setdefault(event.element_id, []).append({
                "type": history.TYPE_NAMES.get(event.type, event.type), "actor": event.actor_name,
                "at": iso(event.at), "decision": event.decision, "opinion": event.opinion})
    for task in db.session.execute(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.state == READY)).scalars():
        # The step waiting now: with whom it waits, and since when.
        details.setdefault(task.element_id, []).append({
            "type": "待办理", "actor": task.assignee_name or ROLES.get(task.lane, task.lane),
            "at": iso(task.created_at), "decision": None, "opinion": None})
    return {"bpmn_xml": xml, "version": definition.version, **state, "details": details}


def trail(instance: ProcessInstance) -> list[dict]:
    """审批流程: who handled each step, when, with which decision and opinion; and, for
    an application the unit ended, 结束流程 with its reason."""
    steps = [task_dict(t, instance.title) for t in history.trail(instance.id)]
    for event in history.terminations(instance.id):
        steps.append({"task_id": None, "instance_id": instance.id, "title": "结束流程",
                      "business": instance.title, "lane": None, "state": "terminated",
                      "completed_by": event.actor_name, "completed_at": iso(event.at),
                      "decision": None, "opinion": event.opinion, "assignee": None,
                      "created_at": iso(event.at), "process_key": instance.process_key,
                      "unit_name": "", "unit_account": ""})
    return steps


def task_view(task_id: str, actor: Actor) -> dict:
    """A task with its form description and current values (for 待办 detail and the API)."""
    row = db.session.get(HumanTask, str(task_id))
    if row is None:
        raise NotFound("任务不存在")
    access.check_can_view_task(row, actor)
    instance = db.session.get(ProcessInstance, row.instance_id)
    form = registry.form(row.form_key)
    if row.state == READY:
        values = form.values(task_data(instance, row.id))
    else:  # what was submitted, shown read-only
        values = form.values({"decision": row.decision, "opinion": row.opinion,
                              **json.loads(row.values_json or "{}")})
    return {**task_dict(row, instance.title), "form": form.describe(),
            "values": values, "instance": instance_detail(instance)}


def employer_task_data(instance_id: int) -> dict:
    """The data of the application's ready employer task (what it was started with and
    has gathered since); empty when none is ready."""
    task_id = db.session.execute(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.state == READY,
        HumanTask.lane == EMPLOYER_LANE).limit(1)).scalar()
    if task_id is None:
        return {}
    return task_data(db.session.get(ProcessInstance, instance_id), task_id)


def task_data(instance: ProcessInstance, task_id: str) -> dict:
    definition = store.definition(instance.definition_id)
    workflow = load_workflow(instance.state, definition.spec, definition.subprocess_specs,
                             SCRIPT_ENGINE)
    task = workflow.get_task_from_id(UUID(task_id))
    return dict(task.data) if task is not None else {}
