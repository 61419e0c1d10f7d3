"""试运行 (dry run): replay the recorded histories of a business's last finished
applications against an edited, not yet deployed diagram, and say per application whether
it would take the same path, a different one (and where it parts), or fail (and why).

The replay starts a fresh workflow on the edited spec and drives it with what history
recorded: each completed human task with its decision and opinion (review forms) or the
answers its task row kept, each message and timer that fired (history keeps no message payload, so a message
is replayed without one). Service tasks run their real handlers against
today's data. Every application is replayed inside a savepoint that is rolled back, and
the caller's transaction is rolled back at the end: nothing written (messages, ledger,
bases) survives. Only history is read, never an application's stored workflow state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import NamedTuple

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from processes.context import HandlerContext
from services.clock import iso
from services.db import db
from services.errors import HallError, InvalidInput

from . import history, registry, store
from .diagram import GATEWAYS
from .models import COMPLETED, TERMINATED, HistoryEvent, HumanTask, ProcessInstance
from .script_engine import SCRIPT_ENGINE, current_context
from .validate import validate

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
SAME, DIFFERENT, FAILED = "same", "different", "failed"
RESULT_NAMES = {SAME: "路径相同", DIFFERENT: "路径不同", FAILED: "运行失败"}
#: History rows that mark an element the token passed through.
_PASSED = (history.STARTED, history.COMPLETED, history.TASK_COMPLETED, history.MESSAGE,
           history.TIMER, history.ENDED)
#: History rows that drove the application on (besides its start).
_DRIVERS = (history.TASK_COMPLETED, history.MESSAGE, history.TIMER, history.TERMINATED)
_PAST = "2000-01-01T00:00:00+00:00"


class Recorded(NamedTuple):
    """A finished application as the replay needs it (read before any savepoint)."""

    id: int
    definition_id: int
    unit_id: int
    status: str
    ended_at: object
    title: str
    initiator: str
    initiator_name: str


class Diverged(Exception):
    """The replay cannot follow the record any further."""

    def __init__(self, message: str, element_id: str | None):
        super().__init__(message)
        self.message, self.element_id = message, element_id


@dataclass
class Outcome:
    instance_id: int
    version: int
    status: str
    ended_at: object
    result: str = SAME
    message: str = ""
    element_id: str | None = None
    path: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)


def dry_run(key: str, xml: bytes, limit: int = DEFAULT_LIMIT) -> list[Outcome]:
    """Replay the last `limit` finished applications of `key` on `xml`. Refuses a diagram
    that does not validate (InvalidInput with every problem). Rolls back everything."""
    report = validate(xml, key)
    if not report.ok:
        raise InvalidInput("流程图未通过校验，不能试运行",
                           {"bpmn_xml": [p.message for p in report.problems]})
    limit = max(1, min(int(limit), MAX_LIMIT))
    names = {e.id: e.name for e in report.diagram.elements.values()}
    routing = {e.id for e in report.diagram.elements.values() if e.kind in GATEWAYS}
    try:
        rows = db.session.execute(
            select(ProcessInstance).where(ProcessInstance.process_key == key,
                                          ProcessInstance.status.in_((COMPLETED, TERMINATED)))
            .order_by(ProcessInstance.ended_at.desc(), ProcessInstance.id.desc())
            .limit(limit)).scalars().all()
        found = [Recorded(r.id, r.definition_id, r.unit_id, r.status, r.ended_at, r.title,
                          r.initiator, r.initiator_name) for r in rows]
        outcomes = []
        for recorded in found:
            savepoint = db.session.begin_nested()
            try:
                outcomes.append(_replay(report, recorded, names, routing))
            finally:
                savepoint.rollback()
        return outcomes
    finally:
        db.session.rollback()


def _replay(report, recorded: Recorded, names: dict, routing: set[str]) -> Outcome:
    """Paths are compared as the steps they pass (tasks and events); gateways only route,
    so inserting one that sends every recorded application the same way changes nothing."""
    events = list(db.session.execute(select(HistoryEvent).where(
        HistoryEvent.instance_id == recorded.id).order_by(HistoryEvent.id)).scalars())
    old = store.definition(recorded.definition_id)
    old_routing = {i for i, e in old.meta["elements"].items() if e.get("type", "").endswith("Gateway")}
    outcome = Outcome(recorded.id, old.version, recorded.status, recorded.ended_at,
                      recorded=[e.element_id for e in events if e.type in _PASSED
                                and e.element_id not in old_routing | routing])
    started = next((e for e in events if e.type == history.STARTED), events[0] if events else None)
    if started is None:
        outcome.result, outcome.message = FAILED, "该申请没有历史记录，无法重演"
        return outcome
    replay = _Replay(report, recorded, routing)
    try:
        replay.start(started)
        for event in events:
            if event.type in _DRIVERS:
                replay.drive(event, events)
                if event.type == history.TERMINATED:
                    break
        outcome.path = replay.path
        _judge(outcome, replay, recorded.status, names)
    except Diverged as diverged:
        outcome.path = replay.path
        outcome.result, outcome.message, outcome.element_id = (
            DIFFERENT, diverged.message, diverged.element_id)
        _earliest_difference(outcome, names)
    except Exception as exc:  # a handler's refusal, a script error, anything: reported
        outcome.path = replay.path
        outcome.result, outcome.element_id = FAILED, replay.failed_element()
        where = f"在{_name(outcome.element_id, names)}" if outcome.element_id else ""
        text = exc.message if isinstance(exc, HallError) else str(exc)
        outcome.message = f"{where}运行失败：{text}"
    return outcome


def _judge(outcome: Outcome, replay: _Replay, status: str, names: dict) -> None:
    waiting = replay.waiting()
    if status == COMPLETED and not replay.wf.completed:
        first = waiting[0] if waiting else None
        outcome.result, outcome.element_id = DIFFERENT, first
        listed = "、".join(_name(w, names) for w in waiting) or "（无可办理的环节）"
        outcome.message = f"原申请已办结，新流程图此后还须办理{listed}"
    elif status == TERMINATED and sorted(waiting) != sorted(replay.waiting_at_end):
        outcome.result = DIFFERENT
        outcome.element_id = waiting[0] if waiting else None
        outcome.message = (f"原申请在{'、'.join(_name(w, names) for w in replay.waiting_at_end)}"
                           f"处结束流程，新流程图此时等待"
                           f"{'、'.join(_name(w, names) for w in waiting) or '（无）'}")
    _earliest_difference(outcome, names)


def _earliest_difference(outcome: Outcome, names: dict) -> None:
    """Where the paths first part, if they do (this wins over later symptoms)."""
    for index, (new, old) in enumerate(zip(outcome.path, outcome.recorded, strict=False)):
        if new != old:
            before = f"经过{_name(outcome.path[index - 1], names)}之后，" if index else ""
            outcome.result, outcome.element_id = DIFFERENT, new
            outcome.message = (f"{before}新流程图走向{_name(new, names)}，"
                               f"原记录走向{_name(old, names)}")
            return
    if outcome.result == SAME and outcome.path != outcome.recorded:
        outcome.result = DIFFERENT
        longer, shorter = ((outcome.path, "新流程图") if len(outcome.path) > len(outcome.recorded)
                           else (outcome.recorded, "原记录"))
        extra = longer[min(len(outcome.path), len(outcome.recorded))]
        outcome.element_id = extra if shorter == "新流程图" else outcome.element_id
        outcome.message = f"{shorter}多经过了{_name(extra, names)}"
    if outcome.result == SAME:
        outcome.message = "与原记录的办理路径相同"


def _name(element_id: str | None, names: dict) -> str:
    name = names.get(element_id)
    return f"「{name}」({element_id})" if name else f"({element_id})"


class _Replay:
    """One application's workflow on the edited spec, driven by its recorded events."""

    def __init__(self, report, recorded: Recorded, routing: set[str]):
        self.recorded, self.routing = recorded, routing
        self.saved = dict(db.session.execute(select(HumanTask.id, HumanTask.values_json).where(
            HumanTask.instance_id == recorded.id)).all())
        self.wf = BpmnWorkflow(report.spec, report.subprocess_specs, script_engine=SCRIPT_ENGINE)
        self.path: list[str] = []
        self.done: set = set()
        self.waiting_at_end: list[str] = []

    def _context(self, event: HistoryEvent) -> HandlerContext:
        recorded = self.recorded
        return HandlerContext(instance_id=recorded.id, unit_id=recorded.unit_id,
                              process_key=self.wf.spec.name, process_name=recorded.title,
                              actor=event.actor or "system:0", actor_name=event.actor_name or "系统",
                              now=event.at, initiator=recorded.initiator,
                              initiator_name=recorded.initiator_name)

    def _advance(self, event: HistoryEvent, step=None) -> None:
        token = current_context.set(self._context(event))
        try:
            if step is not None:
                step()
            self.wf.do_engine_steps()
        finally:
            current_context.reset(token)
        fresh = [t for t in self._tasks() if t.state == TaskState.COMPLETED
                 and t.id not in self.done and t.task_spec.bpmn_id is not None]
        fresh.sort(key=lambda t: t.last_state_change)
        self.done.update(t.id for t in fresh)
        self.path.extend(t.task_spec.bpmn_id for t in fresh
                         if t.task_spec.bpmn_id not in self.routing)

    def _tasks(self):
        yield from self.wf.tasks.values()
        for sub in self.wf.subprocesses.values():
            yield from sub.tasks.values()

    def start(self, event: HistoryEvent) -> None:
        business = registry.business(self.wf.spec.name)
        initial = business.initial_data(self._context(event)) if business.initial_data else {}
        for task in self.wf.get_tasks(state=TaskState.READY):
            task.data.update(initial)
        self._advance(event)

    def waiting(self) -> list[str]:
        return [t.task_spec.bpmn_id for t in self._tasks()
                if t.state == TaskState.READY and t.task_spec.manual]

    def failed_element(self) -> str | None:
        failed = [t for t in self._tasks() if t.state == TaskState.ERROR]
        return failed[0].task_spec.bpmn_id if failed else None

    def drive(self, event: HistoryEvent, events: list[HistoryEvent]) -> None:
        if event.type == history.TERMINATED:
            after = events[events.index(event) + 1:]
            self.waiting_at_end = [e.element_id for e in after
                                   if e.type == history.CANCELLED_EVENT and e.element_id]
            return
        if event.type == history.TASK_COMPLETED:
            task = self._ready(event.element_id)
            form = _form(task)
            for name in form.answers if form else ():  # a new round starts unanswered
                task.data.pop(name, None)
            values = _form_values(form, event, self.saved)
            self._advance(event, lambda: (task.data.update(values), task.run()))
            return
        waiting = [t for t in self._tasks() if t.state == TaskState.WAITING
                   and t.task_spec.bpmn_id == event.element_id
                   and isinstance(t.task_spec, CatchingEvent)]
        if not waiting:
            raise Diverged(f"原记录此时{history.TYPE_NAMES[event.type]}（{event.element_id}），"
                           "新流程图并未在此等待", event.element_id)
        task = waiting[0]
        if event.type == history.TIMER:
            task._set_internal_data(event_value=_PAST)  # fire now, as it fired then
            self._advance(event, self.wf.refresh_timers)
        else:
            definition = task.task_spec.event_definition
            self._advance(event, lambda: self.wf.send_event(BpmnEvent(
                MessageEventDefinition(definition.name), payload=None)))

    def _ready(self, element_id: str):
        ready = [t for t in self._tasks() if t.state == TaskState.READY and t.task_spec.manual]
        for task in ready:
            if task.task_spec.bpmn_id == element_id:
                return task
        now = "、".join(t.task_spec.bpmn_id for t in ready) or "无（已办结或在等待事件）"
        raise Diverged(f"原记录此时办理（{element_id}），新流程图等待的是 {now}",
                       ready[0].task_spec.bpmn_id if ready else element_id)


def _form(task):
    form_key = (getattr(task.task_spec, "extensions", {}) or {}).get("properties", {}).get("form")
    return registry.form(form_key) if form_key and registry.has_form(form_key) else None


def _form_values(form, event: HistoryEvent, saved: dict[str, str | None]) -> dict:
    """What the person submitted, as far as the records keep it: a review's decision and
    opinion; another form's answers as its task row kept them (`values_json`), or else
    its remark (kept as the opinion, as `runner.complete` does)."""
    if form is not None and form.is_review:
        return {"decision": event.decision, "opinion": event.opinion or ""}
    kept = json.loads(saved.get(event.task_id) or "{}")
    values = {k: v for k, v in kept.items() if form is None or k in form.answers}
    if event.opinion and "remark" not in values:
        values["remark"] = event.opinion
    return values


def result_dict(outcome: Outcome) -> dict:
    return {"instance_id": outcome.instance_id, "version": outcome.version,
            "status": outcome.status, "ended_at": iso(outcome.ended_at),
            "result": outcome.result, "result_name": RESULT_NAMES[outcome.result],
            "message": outcome.message, "element_id": outcome.element_id,
            "path": outcome.path, "recorded": outcome.recorded}
