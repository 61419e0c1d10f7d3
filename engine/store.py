"""Loading and saving: definitions cached per version, instances locked per action.

Definitions are immutable rows, so their parsed specs are cached for the life of the
process. An instance is read with a row lock (FOR UPDATE on PostgreSQL) and written back
only if its revision is still the one read: two actions on one instance, one wins.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import aliased

from services.db import db
from services.direct_sql import execute_direct, query_direct
from services.errors import Conflict, NotFound

from .models import HumanTask, ProcessDefinition, ProcessInstance
from .serializer import load_spec

CONFLICT_MESSAGE = "该业务刚刚已被他人办理或修改，请刷新页面后查看最新状态"


@dataclass(frozen=True)
class Definition:
    id: int
    key: str
    version: int
    name: str
    spec: object
    subprocess_specs: dict
    meta: dict

    def element(self, bpmn_id: str) -> dict:
        return self.meta["elements"].get(bpmn_id, {})


#: Parsed definitions by (database, id): rows never change once written.
_cache: dict[tuple[str, int], Definition] = {}
_lock = threading.Lock()


def definition(definition_id: int) -> Definition:
    key = (str(db.engine.url), definition_id)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    row = db.session.get(ProcessDefinition, definition_id)
    if row is None:
        raise NotFound("流程定义不存在")
    spec, subprocess_specs = load_spec(row.spec_json)
    loaded = Definition(id=row.id, key=row.key, version=row.version, name=row.name, spec=spec,
                        subprocess_specs=subprocess_specs, meta=json.loads(row.meta_json))
    with _lock:
        return _cache.setdefault(key, loaded)


def latest_definition(key: str) -> Definition:
    definition_id = db.session.execute(
        select(ProcessDefinition.id).where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc()).limit(1)).scalar_one_or_none()
    if definition_id is None:
        raise NotFound(f"业务 {key} 尚未部署流程图")
    return definition(definition_id)


@dataclass
class InstanceRow:
    """An instance as one action sees it: read under lock, written back once."""

    id: int
    definition_id: int
    process_key: str
    unit_id: int
    status: str
    title: str
    revision: int
    initiator: str = ""
    initiator_name: str = ""
    manifest_count: int = 0
    #: The 清册's kept totals (an edit adds to them without summing the rows).
    manifest_amount: object = None
    manifest_amount_before: object = None
    state: str | None = None
    ended_at: object = None


_COLUMNS = (ProcessInstance.id, ProcessInstance.definition_id, ProcessInstance.process_key,
            ProcessInstance.unit_id, ProcessInstance.status, ProcessInstance.title,
            ProcessInstance.revision, ProcessInstance.initiator, ProcessInstance.initiator_name,
            ProcessInstance.manifest_count, ProcessInstance.manifest_amount,
            ProcessInstance.manifest_amount_before)
_TASK_COLUMNS = tuple(HumanTask.__table__.c)
_TASK_NAMES = tuple(c.name for c in _TASK_COLUMNS)

# Statements are built once and reused: building SQLAlchemy constructs per call costs more
# than running them.
_LOCK = {
    with_state: select(*_COLUMNS, *((ProcessInstance.state,) if with_state else ()))
    .where(ProcessInstance.id == bindparam("instance_id")).with_for_update(of=ProcessInstance)
    for with_state in (True, False)
}
#: The instance again, not locked: its revision as the statement first saw it, beside the
#: locked row's (see `lock_by_task`).
_SEEN = aliased(ProcessInstance)
_LOCK_BY_TASK = (select(*_TASK_COLUMNS, *_COLUMNS, ProcessInstance.state, _SEEN.revision)
                 .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                 .join(_SEEN, _SEEN.id == HumanTask.instance_id)
                 .where(HumanTask.id == bindparam("task_id"))
                 .with_for_update(of=ProcessInstance))


_TASK_BY_ID = select(*_TASK_COLUMNS).where(HumanTask.id == bindparam("task_id"))


def lock_instance(instance_id: int, with_state: bool = True) -> InstanceRow:
    """The instance, freshly read and locked for this transaction (FOR UPDATE where the
    database has it; SQLite serializes writers and the revision check does the rest)."""
    rows = query_direct(_LOCK[with_state], {"instance_id": instance_id})
    if not rows:
        raise NotFound("业务申请不存在")
    return InstanceRow(*rows[0])


def lock_by_task(task_id: str):
    """A human task and its instance, the instance locked, in one round trip.

    Where a statement can wait for the lock (PostgreSQL), the locked row it returns is the
    newest, but the joined task row is as the statement first saw it. Every change to a
    task bumps its instance's revision under that lock, so the task row is current unless
    the locked revision differs from the one first seen; only then is it read again."""
    rows = query_direct(_LOCK_BY_TASK, {"task_id": str(task_id)})
    if not rows:
        raise NotFound("任务不存在")
    row = rows[0]
    split = len(_TASK_COLUMNS)
    task, instance = row[:split], InstanceRow(*row[split:-1])
    if instance.revision != row[-1]:
        task = query_direct(_TASK_BY_ID, {"task_id": str(task_id)})[0]
    return TaskRow(**dict(zip(_TASK_NAMES, task, strict=True))), instance


@dataclass
class TaskRow:
    """A human-task index row as read for an action (same fields as `HumanTask`)."""

    id: str
    instance_id: int
    process_key: str
    element_id: str
    title: str
    lane: str
    form_key: str
    unit_id: int
    candidate_group: str | None
    assignee: str | None
    assignee_name: str | None
    state: str
    created_at: object
    completed_at: object
    completed_by: str | None
    completed_by_name: str | None
    decision: str | None
    opinion: str | None
    values_json: str | None = None


@lru_cache(maxsize=64)
def _update_task_statement(names: tuple[str, ...]):
    return (update(HumanTask).where(HumanTask.id == bindparam("b_task_id"))
            .values({name: bindparam(f"b_{name}") for name in names}))


def update_task(task_id: str, **values) -> None:
    """Change a task row. Only under its instance's lock, in a transaction that also
    `save`s the instance (bumping its revision): `lock_by_task` trusts a task row read
    with an unchanged revision."""
    statement = _update_task_statement(tuple(sorted(values)))
    execute_direct(statement, {"b_task_id": task_id, **{f"b_{k}": v for k, v in values.items()}})


@lru_cache(maxsize=64)
def _save_statement(names: tuple[str, ...]):
    return (update(ProcessInstance)
            .where(ProcessInstance.id == bindparam("b_id"),
                   ProcessInstance.revision == bindparam("b_revision"))
            .values(revision=bindparam("b_new_revision"),
                    **{name: bindparam(f"b_{name}") for name in names}))


def save(instance: InstanceRow, values: dict) -> None:
    """Write the instance if nobody else did since we read it; else Conflict (409)."""
    statement = _save_statement(tuple(sorted(values)))
    rowcount = execute_direct(statement, {
        "b_id": instance.id, "b_revision": instance.revision,
        "b_new_revision": instance.revision + 1,
        **{f"b_{name}": value for name, value in values.items()}})
    if rowcount != 1:
        raise Conflict(CONFLICT_MESSAGE)
    instance.revision += 1
    for name in ("status", "ended_at", "state"):
        if name in values:
            setattr(instance, name, values[name])
