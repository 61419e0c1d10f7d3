"""One action on one instance (`Run`): load the workflow, let the action change it, then
write the instance, the task index and the history together (see `Run.finish`)."""

from __future__ import annotations

import json
from contextlib import nullcontext
from datetime import UTC, datetime
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update

from processes.context import HandlerContext
from services import manifest_rows
from services.db import bulk_work, db, deferred_writes, utcnow
from services.direct_sql import insert_rows
from services.errors import HallError

from . import cache, history, manifests, registry, store
from .actors import EMPLOYER_LANE, SYSTEM_ACTOR, Actor
from .models import (
    CANCELLED,
    COMPLETED,
    DONE,
    READY,
    HumanTask,
)
from .script_engine import SCRIPT_ENGINE, current_context
from .serializer import dump_workflow, load_workflow


class DiagramError(HallError):
    """The diagram itself failed while running (a script error, an unexpected state)."""

    status = 500
    code = "diagram_error"


#: From this many 清册 rows, an action runs as bulk work (`services.db.bulk_work`).
BULK_ROWS = 1000


class Run:
    """One action on one instance: load, change, then `finish` writes everything at once."""

    def __init__(self, instance: store.InstanceRow, definition: store.Definition, actor: Actor,
                 workflow: BpmnWorkflow):
        self.instance = instance
        self.definition = definition
        self.actor = actor
        self.wf = workflow
        self.now = utcnow()
        self.history: list[dict] = []
        self.done_before: set = set()
        self.ready_before: set = set()
        for task in _all_tasks(workflow):
            if task.state == TaskState.COMPLETED:
                self.done_before.add(task.id)
            elif task.state == TaskState.READY and task.task_spec.manual:
                self.ready_before.add(task.id)
        self.completed_task: store.TaskRow | None = None
        #: 清册 rows the completion leaves out (unticked when the unit confirmed): they
        #: leave the 清册 once the step succeeded, so the record shows what was done.
        self.dropped_rows: set[int] = set()
        self.final_status: str | None = None

    @classmethod
    def load(cls, instance: store.InstanceRow, actor: Actor) -> Run:
        definition = store.definition(instance.definition_id)

        def load(state: str) -> BpmnWorkflow:
            return load_workflow(state, definition.spec, definition.subprocess_specs,
                                 SCRIPT_ENGINE)

        workflow = cache.take(instance.id, definition.id, instance.state, load)
        if workflow is None:
            workflow = load(instance.state)
        return cls(instance, definition, actor, workflow)

    def context(self) -> HandlerContext:
        return HandlerContext(instance_id=self.instance.id, unit_id=self.instance.unit_id,
                              process_key=self.instance.process_key,
                              process_name=self.definition.name, actor=self.actor.key,
                              actor_name=self.actor.name, now=self.now,
                              initiator=self.instance.initiator,
                              initiator_name=self.instance.initiator_name)

    def advance(self, step=None) -> None:
        """Run `step` (if any) and the engine steps after it, with handlers able to see us.
        Handlers' writes land after the last step (`deferred_writes`), so no script or
        condition runs while this action holds a database write lock."""
        token = current_context.set(self.context())
        # Applying a large 清册 builds objects by the ten thousand: the cyclic collector
        # paused meanwhile (it rescanned them all every few hundred allocations, 15 % of a
        # 10,000-row approval); a small action leaves it alone.
        large = self.instance.manifest_count >= BULK_ROWS
        try:
            with bulk_work() if large else nullcontext(), deferred_writes():
                if step is not None:
                    step()
                self.wf.do_engine_steps()
        except HallError:
            raise
        except WorkflowException as exc:
            raise DiagramError(f"流程执行出错，未做任何更改：{exc}") from exc
        finally:
            current_context.reset(token)

    def event(self, type_: str, element_id: str | None = None, *, source: str | None = None,
              task_id: str | None = None, actor: Actor | None = None, decision=None,
              opinion=None, lane=None) -> None:
        self.history.append(history.row(
            self.instance.id, type_, element_id, actor or self.actor, self.now,
            source=source, lane=lane, task_id=task_id, decision=decision, opinion=opinion))

    def finish(self) -> store.InstanceRow:
        """Index new human tasks, record what completed, save the instance (revision-checked)."""
        done, ready_now, waiting, met = [], {}, [], set()
        for task in _all_tasks(self.wf):
            state = task.state
            if state == TaskState.COMPLETED:
                met.add(task.task_spec.name)
                if task.id not in self.done_before and task.task_spec.bpmn_id is not None:
                    done.append(task)
            elif state == TaskState.READY:
                if task.task_spec.manual:
                    ready_now[task.id] = task
            elif state == TaskState.WAITING and task.task_spec.bpmn_id \
                    and isinstance(task.task_spec, CatchingEvent):
                waiting.append(task)
        self._record_completed(done)
        fresh = [t for tid, t in ready_now.items() if tid not in self.ready_before]
        for task in fresh:
            if task.task_spec.name in met:  # met before: a loop or a return
                self._new_round(task)
        new_rows = [self._task_row(t) for t in fresh]
        vanished = [str(tid) for tid in self.ready_before - set(ready_now)
                    if not (self.completed_task and str(tid) == self.completed_task.id)]
        active = [t.task_spec.bpmn_id for t in ready_now.values()] + \
            [t.task_spec.bpmn_id for t in waiting]
        ended = self.final_status or (COMPLETED if self.wf.completed else None)
        if not ended and not ready_now and not waiting and not self._pending_subtasks():
            # Nothing to wait for, yet not finished: SpiffWorkflow stops looking 1,000
            # levels down its task tree, so a loop run hundreds of times can strand an
            # application. Refuse to save it rather than leave it stuck.
            raise DiagramError("流程执行出错，未做任何更改：流程无法继续（没有可办理的环节，也未办结），"
                               "请联系中心处理")
        # A finished application keeps no workflow: its history rows hold the trail and
        # the flowchart, and it no longer holds its business's one open place.
        state = "" if ended else dump_workflow(self.wf)
        values = {"state": state, "updated_at": self.now,
                  "active_elements": json.dumps(list(dict.fromkeys(active))),
                  "next_timer_at": self._next_timer() if waiting else None}
        if ended:
            values.update(status=ended, ended_at=self.now, open_key=None)
        if self.dropped_rows:
            values.update(manifests.totals_values(self.instance.process_key, manifest_rows.drop(
                self.instance.id, self.dropped_rows)))
        # The revision-checked write comes first: whoever lost a race stops here, before
        # touching the task index (both would have created the same next task ids).
        store.save(self.instance, values)
        if ended:
            manifest_rows.close(self.instance.id)
        else:
            cache.stage(self.instance.id, self.definition.id, state, self.wf)
        row = self.completed_task
        if row is not None:
            store.update_task(row.id, state=DONE, completed_at=self.now, completed_by=row.completed_by,
                              completed_by_name=row.completed_by_name, decision=row.decision,
                              opinion=row.opinion, values_json=row.values_json)
        if vanished:
            self._cancel_rows(vanished)
        insert_rows(HumanTask, new_rows)
        for new in new_rows:
            self.event(history.TASK_READY, new["element_id"], task_id=new["id"],
                       lane=new["lane"], source=_source_element(ready_now[UUID(new["id"])]),
                       actor=SYSTEM_ACTOR)
        history.write(self.history)
        return self.instance

    def _record_completed(self, done: list) -> None:
        done.sort(key=lambda t: t.last_state_change)
        for task in done:
            spec = task.task_spec
            source = _source_element(task)
            row = self.completed_task
            if row and str(task.id) == row.id:
                self.event(history.TASK_COMPLETED, spec.bpmn_id, source=source, task_id=row.id,
                           decision=row.decision, opinion=row.opinion, lane=row.lane)
                continue
            kind = _event_kind(task)
            self.event(kind, spec.bpmn_id, source=source,
                       actor=SYSTEM_ACTOR if kind in (history.TIMER, history.COMPLETED,
                                                      history.ENDED) else self.actor)

    def _pending_subtasks(self) -> bool:
        """Tasks still underway without being ready (a started service call, say)."""
        return any(t.state in (TaskState.STARTED, TaskState.WAITING) for t in _all_tasks(self.wf))

    def _new_round(self, task) -> None:
        """A user task met again in a loop starts with none of its form's answers from the
        earlier pass (a reviewer's decision and opinion, the employer's 经办说明); what
        the form only shows (置灰) stays."""
        form_key = self.definition.element(task.task_spec.bpmn_id).get("form")
        if form_key and registry.has_form(form_key):
            for name in registry.form(form_key).answers:
                task.data.pop(name, None)

    def _task_row(self, task) -> dict:
        element = self.definition.element(task.task_spec.bpmn_id)
        lane = element.get("lane") or EMPLOYER_LANE
        return {"id": str(task.id), "instance_id": self.instance.id,
                "process_key": self.instance.process_key, "element_id": task.task_spec.bpmn_id,
                "title": element.get("name") or task.task_spec.bpmn_id, "lane": lane,
                "form_key": element.get("form") or "", "unit_id": self.instance.unit_id,
                "candidate_group": None if lane == EMPLOYER_LANE else lane, "assignee": None,
                "assignee_name": None, "state": READY, "created_at": self.now,
                "completed_at": None, "completed_by": None, "completed_by_name": None,
                "decision": None, "opinion": None, "values_json": None}

    def _cancel_rows(self, task_ids: list[str]) -> None:
        rows = db.session.execute(select(HumanTask.id, HumanTask.element_id, HumanTask.lane)
                                  .where(HumanTask.id.in_(task_ids))).all()
        db.session.execute(update(HumanTask).where(HumanTask.id.in_(task_ids)).values(
            state=CANCELLED, completed_at=self.now, completed_by=self.actor.key,
            completed_by_name=self.actor.name).execution_options(synchronize_session=False))
        for task_id, element_id, lane in rows:
            self.event(history.CANCELLED_EVENT, element_id, task_id=task_id, lane=lane)

    def _next_timer(self) -> datetime | None:
        due = []
        for pending in self.wf.waiting_events():
            if "Timer" in pending.event_type and pending.value:
                value = pending.value if isinstance(pending.value, str) else None
                try:
                    moment = datetime.fromisoformat(value) if value else None
                except ValueError:
                    moment = None
                if moment is not None:
                    if moment.tzinfo is not None:
                        moment = moment.astimezone(UTC).replace(tzinfo=None)
                    due.append(moment)
        return min(due) if due else None


def _all_tasks(workflow: BpmnWorkflow):
    """Every task of the workflow and its subprocesses, in one cheap pass (no tree walk)."""
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def _source_element(task) -> str | None:
    parent = task.parent
    while parent is not None and parent.task_spec.bpmn_id is None:
        parent = parent.parent
    return parent.task_spec.bpmn_id if parent is not None else None


def _event_kind(task) -> str:
    spec = task.task_spec
    name = type(spec).__name__
    definition = getattr(spec, "event_definition", None)
    if name == "StartEvent" and task.parent is not None and _source_element(task) is None:
        return history.STARTED
    if definition is not None and "Timer" in type(definition).__name__:
        return history.TIMER
    if isinstance(definition, MessageEventDefinition) and isinstance(spec, CatchingEvent):
        return history.MESSAGE
    if name == "EndEvent":
        return history.ENDED
    return history.COMPLETED
