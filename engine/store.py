"""Loading and saving: definitions cached per version, instances locked per action.

Definitions are immutable rows, so their parsed specs are cached for the life of the
process. An instance is read with a row lock (FOR UPDATE on PostgreSQL) and written back
only if its revision is still the one read: two actions on one instance, one wins.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from services.db import db
from services.errors import Conflict, NotFound

from .models import ProcessDefinition, ProcessInstance
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


def lock_instance(instance_id: int) -> ProcessInstance:
    """The instance, freshly read and locked for this transaction where the database can."""
    instance = db.session.execute(
        select(ProcessInstance).where(ProcessInstance.id == instance_id)
        .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()
    if instance is None:
        raise NotFound("业务申请不存在")
    return instance


def save(instance: ProcessInstance, values: dict) -> None:
    """Write the instance if nobody else did since we read it; else Conflict (409)."""
    result = db.session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance.id, ProcessInstance.revision == instance.revision)
        .values(revision=instance.revision + 1, **values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(CONFLICT_MESSAGE)
    # Keep the object in step without marking it dirty (the ORM must not write it again).
    set_committed_value(instance, "revision", instance.revision + 1)
    for name, value in values.items():
        set_committed_value(instance, name, value)
