"""Workflows kept in memory between actions, so the next action on an instance this process
just handled skips deserializing it (the costliest step of an action after running it).

An entry is the workflow object with the definition it runs and the exact state string it
was saved as. It is used only when the row read under lock holds that same string and
definition, so a change made by any other process, a rolled-back action or a hand edit
simply misses. An entry is taken out while in use (two threads never share one object)
and put back only when the outermost transaction that saved it commits; a rollback drops
it. Finished applications are not kept.

A cached workflow must behave as the one its state string loads to. Task data therefore
holds only what the serializer round-trips unchanged (str, int, bool, None, Decimal, date,
lists and str-keyed dicts of these); with `VERIFY` on (the test suite turns it on) every
hit is compared with a fresh load, types included.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

from sqlalchemy import event
from sqlalchemy.orm import Session

from services.db import db

CAPACITY = 512
VERIFY = False
_STAGED = "hpf_staged_workflows"


class _Entry(NamedTuple):
    definition_id: int
    state: str
    workflow: object


_entries: OrderedDict[tuple[str, int], _Entry] = OrderedDict()
_lock = threading.Lock()


def _key(instance_id: int) -> tuple[str, int]:
    return (str(db.engine.url), instance_id)


def take(instance_id: int, definition_id: int, state: str, load):
    """The cached workflow for exactly this state, now owned by the caller; or None.
    `load(state)` deserializes; it is called here only to verify a hit when VERIFY is on."""
    with _lock:
        entry = _entries.pop(_key(instance_id), None)
    if entry is None or entry.state != state or entry.definition_id != definition_id:
        return None
    if VERIFY:
        _check_same(entry.workflow, load(state))
    return entry.workflow


def stage(instance_id: int, definition_id: int, state: str, workflow) -> None:
    """Offer the workflow just saved as `state`; cached if and when the session commits."""
    db.session.info.setdefault(_STAGED, {})[_key(instance_id)] = _Entry(
        definition_id, state, workflow)


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    if session.in_nested_transaction():
        return
    staged = session.info.pop(_STAGED, None)
    if staged:
        with _lock:
            for key, entry in staged.items():
                _entries[key] = entry
                _entries.move_to_end(key)
            while len(_entries) > CAPACITY:
                _entries.popitem(last=False)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_STAGED, None)


def clear() -> None:
    with _lock:
        _entries.clear()


def _check_same(cached, loaded) -> None:
    mine = {task.id: task for task in cached.get_tasks()}
    theirs = {task.id: task for task in loaded.get_tasks()}
    if mine.keys() != theirs.keys():
        raise AssertionError("cached workflow has other tasks than its stored state")
    for task_id, task in mine.items():
        other = theirs[task_id]
        if task.state != other.state or not _same(task.data, other.data) \
                or not _same(task.internal_data, other.internal_data):
            raise AssertionError(f"cached task {task.task_spec.bpmn_id} differs from its "
                                 f"stored state: {task.data!r} != {other.data!r}")


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dict__") and not isinstance(a, type) and a.__eq__(b) is NotImplemented:
        # An object the serializer restores (an event an event-based gateway has seen,
        # kept in its internal data): the same if its attributes are.
        return _same(vars(a), vars(b))
    return a == b
