"""Actions on applications: start, complete, claim, unclaim, terminate, deliver a message,
fire timers. Each action is one locked read and one write of the instance, with the task
index and history rows inserted in bulk, in the caller's transaction (nothing commits here).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from uuid import UUID

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from processes.events import MESSAGES
from services import manifest_rows
from services.db import db, utcnow
from services.errors import Conflict, Forbidden, InvalidInput

from . import access, history, metrics, registry, store
from .actors import EMPLOYER_LANE, SYSTEM_ACTOR, Actor
from .models import DONE, READY, RUNNING, TERMINATED, HumanTask, ProcessInstance
from .run import DiagramError, Run
from .script_engine import SCRIPT_ENGINE
from .serializer import as_stored

__all__ = ["DiagramError", "Run", "claim", "complete", "run_timers", "send_message", "start",
           "terminate", "unclaim"]


# -- actions ----------------------------------------------------------------------------------


def start(process_key: str, unit_id: int, actor: Actor, data: dict | None = None
          ) -> store.InstanceRow:
    """发起: a new application pinned to the latest deployed version."""
    if not actor.is_operator or actor.unit_id != unit_id:
        raise Forbidden("只有本单位经办人可以发起业务")
    definition = store.latest_definition(process_key)
    business = registry.business(process_key, definition.name)
    if data and business.start_data is None:
        raise InvalidInput("发起时不需要提交数据", {f"data.{k}": ["不允许的字段"] for k in data})
    # One open application per unit of a single-open business: the unique index on
    # (unit_id, open_key) decides, with no read before the insert (see below).
    open_key = process_key if business.single_open else None
    now = utcnow()
    row = ProcessInstance(definition_id=definition.id, process_key=process_key,
                          unit_id=unit_id, status=RUNNING, title=definition.name, state="",
                          revision=0, initiator=actor.key, initiator_name=actor.name,
                          created_at=now, updated_at=now, open_key=open_key)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        # The unit has an open one (or another start won the race): the unique index on
        # (unit_id, open_key) refused ours. Starting is the whole action: undo it, and say
        # which application is open.
        db.session.rollback()
        _refuse_second_open(unit_id, business)
        raise Conflict(store.CONFLICT_MESSAGE) from None
    instance = store.InstanceRow(id=row.id, definition_id=definition.id, process_key=process_key,
                                 unit_id=unit_id, status=RUNNING, title=definition.name,
                                 revision=0, initiator=actor.key, initiator_name=actor.name)
    workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs,
                            script_engine=SCRIPT_ENGINE)
    run = Run(instance, definition, actor, workflow)
    initial = business.initial_data(run.context()) if business.initial_data else {}
    if business.start_data is not None:
        initial.update(_start_data(business, run, data or {}))
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(initial)
    run.advance()
    return run.finish()


def _start_data(business, run: Run, data: dict) -> dict:
    """The business's own check of what the start request carried; its problems name the
    fields under `data.` as the request sent them."""
    try:
        return business.start_data(run.context(), data)
    except InvalidInput as error:
        errors = error.errors
        if isinstance(errors, dict):
            errors = {f"data.{k}": v for k, v in errors.items()}
        raise InvalidInput(error.message, errors) from None


def _refuse_second_open(unit_id: int, business) -> None:
    open_id = db.session.execute(select(ProcessInstance.id).where(
        ProcessInstance.unit_id == unit_id, ProcessInstance.open_key == business.key)).scalar()
    if open_id is not None:
        message = f"您单位已有一笔未办结的{business.name}，请在待办中继续办理或结束该流程后再发起"
        raise Conflict(message, {"key": [message]}, instance_id=open_id)


class TooLargeForRequest(Exception):
    """Raised by `complete` (before any work) when the completion works through more rows
    than it may in a request: the caller queues it as a job (engine.jobs)."""


def work_size(process_key: str, unit_id: int, manifest_count: int | None) -> int:
    """How many rows completing a task of a unit's application works through: its 清册's,
    or what its business counts (`Business.work_size`)."""
    business = registry.business(process_key)
    return business.work_size(unit_id) if business.work_size else manifest_count or 0


def complete(task_id: str, actor: Actor, data: object,
             request_limit: int | None = None) -> store.InstanceRow:
    """办理: validate the form, complete the task, run on to the next wait state.
    `request_limit`: above so many rows, raise TooLargeForRequest instead (asked of the
    locked application, so a request reads nothing more for it)."""
    row, run, task, form, values = _checked_completion(task_id, actor, data, request_limit)
    row.state, row.completed_at = DONE, run.now
    row.completed_by, row.completed_by_name = actor.key, actor.name
    if form.is_review:
        row.decision, row.opinion = values.get("decision"), values.get("opinion") or None
    else:
        row.opinion = values.get("remark") or None
        shown = {k: v for k, v in form.values({**task.data, **values}).items() if v not in (None, "")}
        row.values_json = json.dumps(shown, ensure_ascii=False, default=str) if shown else None
    run.completed_task = row
    if form.edits_manifest and (spec := registry.manifest(row.process_key)) and spec.selectable:
        run.dropped_rows = manifest_rows.unchosen(row.instance_id, values)

    def step():
        task.data.update(values)
        task.run()

    run.advance(step)
    finished = run.finish()
    metrics.completed(row)
    return finished


def check_completion(task_id: str, actor: Actor, data: object) -> None:
    """Raise whatever `complete` would refuse before doing any work (the actor may not
    act, the task is done, the form is invalid): a completion queued as a job is refused
    at once."""
    _checked_completion(task_id, actor, data)


def _checked_completion(task_id: str, actor: Actor, data: object,
                        request_limit: int | None = None):
    row, instance = _locked_task(task_id, actor)
    if request_limit is not None and work_size(
            instance.process_key, instance.unit_id, instance.manifest_count) > request_limit:
        raise TooLargeForRequest()
    access.check_can_act(row, actor)
    run = Run.load(instance, actor)
    task = run.wf.get_task_from_id(UUID(row.id))
    if task is None or not task.has_state(TaskState.READY):
        raise Conflict(store.CONFLICT_MESSAGE)
    form = registry.form(row.form_key)
    return row, run, task, form, form.load(data, task.data)


def claim(task_id: str, actor: Actor) -> store.TaskRow:
    """认领: a group task becomes the reviewer's own."""
    row, instance = _locked_task(task_id, actor)
    if row.state != READY:
        raise Conflict("该任务已办理完毕或已结束")
    if row.lane == EMPLOYER_LANE or not actor.is_staff or row.candidate_group not in actor.groups:
        raise Forbidden("您不在该任务的办理组中")
    if row.assignee == actor.key:
        return row
    if row.assignee is not None:
        raise Conflict(f"该任务已被{row.assignee_name}认领")
    _touch(instance, actor, history.CLAIMED, row)
    row.assignee, row.assignee_name = actor.key, actor.name
    store.update_task(row.id, assignee=actor.key, assignee_name=actor.name)
    return row


def unclaim(task_id: str, actor: Actor) -> store.TaskRow:
    """取消认领: the task returns to the group queue."""
    row, instance = _locked_task(task_id, actor)
    if row.state != READY or row.assignee != actor.key:
        raise Conflict("只能退回自己已认领且未办理的任务")
    _touch(instance, actor, history.UNCLAIMED, row)
    row.assignee = row.assignee_name = None
    store.update_task(row.id, assignee=None, assignee_name=None)
    return row


def terminate(instance_id: int, actor: Actor, reason: str = "") -> store.InstanceRow:
    """结束流程: the unit abandons an application that is in its hands."""
    instance = store.lock_instance(instance_id)
    access.check_can_view(instance, actor)
    if instance.status != RUNNING:
        raise Conflict("该业务已办结或已结束")
    if not actor.is_operator:
        raise Forbidden("只有缴存单位可以结束流程")
    employer_task = db.session.execute(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.state == READY,
        HumanTask.lane == EMPLOYER_LANE).limit(1)).scalar()
    if employer_task is None:
        raise Conflict("该业务正在中心审核中，不能结束流程")
    if why := end_refused(instance.process_key, instance_id):
        raise Conflict(why)
    run = Run.load(instance, actor)
    run.wf.cancel()
    run.event(history.TERMINATED, opinion=(reason or "").strip()[:500] or None)
    run.final_status = TERMINATED
    return run.finish()


def end_refused(process_key: str, instance_id: int) -> str | None:
    """Why the unit can no longer end (结束流程) this application, as its business says
    (e.g. an approved 补缴 is money owed); None: it can, if the application is in its hands."""
    business = registry.business(process_key)
    return business.refuse_end(instance_id) if business.refuse_end else None


def send_message(instance_id: int, name: str, payload: object = None,
                 actor: Actor = SYSTEM_ACTOR) -> store.InstanceRow:
    """A message event from outside (e.g. 缴款到账) delivered to a waiting instance."""
    instance = store.lock_instance(instance_id)
    if instance.status != RUNNING:
        raise Conflict("该业务已办结或已结束，不能再接收消息")
    run = Run.load(instance, actor)

    def step():
        try:
            run.wf.send_event(BpmnEvent(MessageEventDefinition(name), payload=as_stored(payload)))
        except WorkflowException:
            raise Conflict(f"该业务当前还不在等待「{MESSAGES.get(name, name)}」，"
                           "请待前一步办理完成后再试") from None

    run.advance(step)
    return run.finish()


TIMER_RETRY = timedelta(minutes=10)
log = logging.getLogger("hpf.timers")


def run_timers(now: datetime | None = None) -> int:
    """Fire due timers once; each instance is its own transaction. Returns how many ran.

    An application finished since the due list was read is left alone; one whose diagram
    fails is logged and retried later, without holding up the others."""
    now = now or utcnow()
    due = list(db.session.execute(select(ProcessInstance.id).where(
        ProcessInstance.status == RUNNING, ProcessInstance.next_timer_at <= now)).scalars())
    db.session.rollback()
    fired = 0
    for instance_id in due:
        try:
            instance = store.lock_instance(instance_id)
            next_at = db.session.execute(select(ProcessInstance.next_timer_at).where(
                ProcessInstance.id == instance_id)).scalar()
            if instance.status != RUNNING or next_at is None or next_at > now:
                db.session.rollback()
                continue
            run = Run.load(instance, SYSTEM_ACTOR)
            run.advance(run.wf.refresh_timers)
            run.finish()
            db.session.commit()
            fired += 1
        except Conflict:  # another scheduler fired it first: nothing to do
            db.session.rollback()
        except Exception:
            db.session.rollback()
            log.exception("定时器触发失败：业务申请 #%s，%s 后重试", instance_id, TIMER_RETRY)
            db.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                               .values(next_timer_at=now + TIMER_RETRY))
            db.session.commit()
    return fired


def _locked_task(task_id: str, actor: Actor) -> tuple[store.TaskRow, store.InstanceRow]:
    row, instance = store.lock_by_task(task_id)
    access.check_can_view_task(row, actor)
    return row, instance


def _touch(instance: store.InstanceRow, actor: Actor, kind: str, row: store.TaskRow) -> None:
    """A change outside the workflow (claim): still bumps the revision, so it serializes."""
    now = utcnow()
    store.save(instance, {"updated_at": now})
    history.write([history.row(instance.id, kind, row.element_id, actor, now,
                               lane=row.lane, task_id=row.id)])
