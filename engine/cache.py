"""Workflows kept in memory between actions, so the next action on an instance this process
just handled skips deserializing it (the costliest step of an action after running it).

An entry is the workflow object together with the exact state string it was saved as. It
is used only when the row read under lock holds that same string, so a change made by any
other process, a rolled-back action or a hand edit simply misses. An entry is taken out
while in use (two threads never share one object) and put back only after the transaction
that saved it commits; a rollback drops it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import event
from sqlalchemy.orm import Session

from services.db import db

CAPACITY = 512
_STAGED = "hpf_staged_workflows"

_entries: OrderedDict[tuple[str, int], tuple[str, object]] = OrderedDict()
_lock = threading.Lock()


def _key(instance_id: int) -> tuple[str, int]:
    return (str(db.engine.url), instance_id)


def take(instance_id: int, state: str):
    """The cached workflow for this exact state, now owned by the caller; or None."""
    with _lock:
        entry = _entries.pop(_key(instance_id), None)
    if entry is not None and entry[0] == state:
        return entry[1]
    return None


def stage(instance_id: int, state: str, workflow) -> None:
    """Offer the workflow just saved as `state`; cached if and when the session commits."""
    db.session.info.setdefault(_STAGED, {})[_key(instance_id)] = (state, workflow)


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
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
    session.info.pop(_STAGED, None)


def clear() -> None:
    with _lock:
        _entries.clear()
