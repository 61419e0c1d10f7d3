"""History events: the approval trail and the flowchart state, written in bulk per action."""

from __future__ import annotations

import json

from sqlalchemy import select

from services.db import db
from services.direct_sql import insert_rows

from .models import CANCELLED, HistoryEvent, HumanTask, ProcessInstance
from .store import Definition

#: Event types. The trail shows the human ones; the viewer uses all.
STARTED, TASK_READY, TASK_COMPLETED, CLAIMED, UNCLAIMED = (
    "started", "task_ready", "task_completed", "claimed", "unclaimed")
COMPLETED, CANCELLED_EVENT, TERMINATED, MESSAGE, TIMER, ENDED = (
    "completed", "cancelled", "terminated", "message", "timer", "ended")
#: A move to another version of the diagram (迁移), by an analyst.
MIGRATED = "migrated"
TYPE_NAMES = {STARTED: "发起", TASK_READY: "待办理", TASK_COMPLETED: "办理", CLAIMED: "认领",
              UNCLAIMED: "退回任务池", COMPLETED: "自动完成", CANCELLED_EVENT: "取消",
              TERMINATED: "结束流程", MESSAGE: "收到消息", TIMER: "定时触发", ENDED: "办结",
              MIGRATED: "迁移流程版本"}


def row(instance_id: int, type_: str, element_id: str | None, actor, at, *,
        source: str | None = None, lane: str | None = None, task_id: str | None = None,
        decision: str | None = None, opinion: str | None = None) -> dict:
    """One history row, as `write` inserts it. An element's name is not kept: the
    application's pinned definition has it (engine.queries.history_rows); `task_id` is
    kept for human tasks only (a service task's id says nothing to anyone)."""
    return {"instance_id": instance_id, "type": type_, "element_id": element_id,
            "source_element_id": source, "lane": lane,
            "task_id": task_id, "actor": actor.key, "actor_name": actor.name,
            "decision": decision, "opinion": opinion, "at": at}


def write(rows: list[dict]) -> None:
    insert_rows(HistoryEvent, rows)


def events(instance_id: int) -> list[HistoryEvent]:
    return list(db.session.execute(select(HistoryEvent).where(
        HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.id)).scalars())


def diagram_state(instance: ProcessInstance, definition: Definition) -> dict:
    """Elements completed, active and cancelled (each by its latest event; active wins),
    and the sequence flows taken."""
    last: dict[str, str] = {}
    pairs: set[tuple[str, str]] = set()
    for event in events(instance.id):
        if not event.element_id:
            continue
        if event.type in (STARTED, COMPLETED, TASK_COMPLETED, MESSAGE, TIMER, ENDED):
            last[event.element_id] = "completed"
        elif event.type == CANCELLED_EVENT:
            last[event.element_id] = "cancelled"
        if event.source_element_id:
            pairs.add((event.source_element_id, event.element_id))
    active = json.loads(instance.active_elements or "[]")
    return {
        "completed": [e for e, state in last.items() if state == "completed" and e not in active],
        "active": active,
        "cancelled": [e for e, state in last.items() if state == "cancelled" and e not in active],
        "flows": [flow_id for flow_id, source, target in definition.meta["flows"]
                  if (source, target) in pairs],
    }


def terminations(instance_id: int) -> list[HistoryEvent]:
    """结束流程 events (at most one), with the reason the unit gave as `opinion`."""
    return list(db.session.execute(select(HistoryEvent).where(
        HistoryEvent.instance_id == instance_id, HistoryEvent.type == TERMINATED)).scalars())


def trail(instance_id: int) -> list[HumanTask]:
    """The approval trail: every human task completed or cancelled, in order."""
    return list(db.session.execute(
        select(HumanTask).where(HumanTask.instance_id == instance_id,
                                HumanTask.completed_at.is_not(None) | (HumanTask.state == CANCELLED))
        .order_by(HumanTask.completed_at, HumanTask.created_at)).scalars())
