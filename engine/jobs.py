"""The engine's long work, run through the job interface (services/jobs.py), and the timer
scheduler's entry point.

- `manifest_import`: a large 清册 import (批量导入) off the request. The job calls
  `manifests.import_file` with the submitter as actor, in the job's one transaction, so
  a file with one bad row imports nothing and the job lists the bad rows.
- `task_complete`: completing a task of an application whose 清册 holds more than
  ASYNC_ROWS rows (an approval applying them, a submission checking them). What
  `complete` would refuse (not the actor's task, already done, an invalid form) is
  refused before queueing; the job then runs `runner.complete` in its one transaction,
  so it applies every row or none, and a task completed meanwhile by someone else fails
  the job with the conflict, changing nothing.
- `fire_timers`: what every scheduler calls (Celery beat, `hpf run-timers`, the embedded
  server's timer thread). Only one scheduler fires at a time (a PostgreSQL advisory lock,
  a file lock beside a SQLite database); the others skip the round. The runner's own row
  lock and revision check would keep a timer from firing twice anyway; the lock just
  keeps schedulers from doing the same work twice and racing to the same conflict.
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import make_url

from services import jobs
from services.db import db

from . import manifests, runner
from .actors import Actor
from .models import COMPLETED, HumanTask, ProcessInstance

IMPORT = "manifest_import"
COMPLETE = "task_complete"
#: pg_advisory_lock key of the timer scheduler ("hpf timers").
TIMER_LOCK_KEY = 0x6870_6674_696D


def actor_payload(actor: Actor) -> dict:
    """An actor as a job's payload carries it (who submitted acts when the job runs)."""
    return {"kind": actor.kind, "id": actor.id, "name": actor.name, "unit_id": actor.unit_id,
            "groups": sorted(actor.groups), "role": actor.role}


def actor_from(payload: dict) -> Actor:
    return Actor(kind=payload["kind"], id=payload["id"], name=payload["name"],
                 unit_id=payload.get("unit_id"), groups=frozenset(payload.get("groups", ())),
                 role=payload.get("role", ""))


def submit_import(instance_id: int, actor: Actor, content: bytes, change_type: str | None,
                  rows: int = 0, task_id: str | None = None) -> str:
    """Queue a 清册 import; the caller commits. `task_id`: the task page it came from (the
    job's page leads back there)."""
    return jobs.submit(IMPORT, {"instance_id": instance_id, "change_type": change_type,
                                "actor": actor_payload(actor), "task_id": task_id},
                       owner=actor.key, unit_id=actor.unit_id, blob=content, total=rows)


@jobs.handler(IMPORT, "清册导入")
def import_manifest(ctx: jobs.JobContext) -> dict:
    payload = ctx.payload
    ctx.progress(0)
    result = manifests.import_file(payload["instance_id"], actor_from(payload["actor"]),
                                   ctx.blob(), payload.get("change_type"),
                                   progress=ctx.progress)
    ctx.progress(result["imported"], result["imported"])
    return {**result, "instance_id": payload["instance_id"]}


#: The work a queued completion will do, for its progress: built once, bound per call.
_SIZE = (select(ProcessInstance.process_key, ProcessInstance.unit_id,
                ProcessInstance.manifest_count)
         .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
         .where(HumanTask.id == bindparam("task_id")))


def _work_size(task_id: str) -> int:
    found = db.session.execute(_SIZE, {"task_id": str(task_id)}).first()
    if found is None:
        return 0
    return runner.work_size(*found)


def submit_completion(task_id: str, actor: Actor, data: dict, message: str | None = None,
                      back: str | None = None) -> str:
    """Queue a completion once `complete` would accept it; the caller commits. `message`:
    what the job's page says when it is done (else what the task page would); `back`:
    where that page leads (else home or the reviewers' desk)."""
    runner.check_completion(task_id, actor, data)
    title = db.session.execute(
        select(ProcessInstance.title).join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
        .where(HumanTask.id == task_id)).scalar_one()
    return jobs.submit(COMPLETE, {"task_id": task_id, "data": data, "title": title,
                                  "actor": actor_payload(actor), "message": message,
                                  "back": back},
                       owner=actor.key, unit_id=actor.unit_id, total=_work_size(task_id))


@jobs.handler(COMPLETE, "业务办理")
def complete_task(ctx: jobs.JobContext) -> dict:
    payload = ctx.payload
    actor = actor_from(payload["actor"])
    instance = runner.complete(payload["task_id"], actor, payload["data"])
    done = payload.get("message") or ("审批结果已提交" if not actor.is_operator
            else f"{payload['title']}已办结" if instance.status == COMPLETED
            else "已提交审批，可在「我发起的」中查看进度")
    return {"instance_id": instance.id, "status": instance.status, "message": done}


def fire_timers() -> int | None:
    """Fire due timers unless another scheduler is doing so now (then None)."""
    with _scheduler_lock() as acquired:
        if not acquired:
            return None
        return runner.run_timers()


@contextmanager
def _scheduler_lock():
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            acquired = connection.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                          {"k": TIMER_LOCK_KEY}).scalar()
            connection.commit()
            try:
                yield acquired
            finally:
                if acquired:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"),
                                       {"k": TIMER_LOCK_KEY})
                    connection.commit()
        return
    database = make_url(str(db.engine.url)).database or "memory"
    path = Path(f"{database}.timers-lock")
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
