"""Long work off the request (后台任务), through one interface for every kind of work.

Submitting, from a view or a command (the job is queued when the caller commits; a
rollback queues nothing):

    job_id = jobs.submit("manifest_import", {"instance_id": 7}, owner=actor.key,
                         unit_id=actor.unit_id, blob=content)
    db.session.commit()

Doing, registered once per kind at import time (engine/jobs.py, web/views/queries.py):

    @jobs.handler("manifest_import", "清册导入")
    def import_manifest(ctx: jobs.JobContext) -> dict | jobs.Outcome:
        ctx.progress(done, total)           # or jobs.report_progress() from deeper code
        return {"imported": 5000}           # the result the page shows

Guarantees, whatever runs it:
- One transaction. The handler's writes and the job's `done` mark commit together; a
  handler that raises leaves nothing and the job says why (a `HallError`'s Chinese
  message and its row errors; anything else as an internal error).
- Idempotent by job id. The `done` mark is a conditional UPDATE (`state = 'running'`), so
  of two deliveries of one job (a retry after a worker was killed, a duplicate message)
  exactly one commits its work; the other rolls back, and a delivery that arrives after
  the job finished does nothing at all.
- Progress and state live in the job row (written on a separate connection), so any
  process can show them: `GET /api/v1/jobs/<id>` polled by the page, `hpf job ID`.

Where it runs: on Celery workers through the broker when `HPF_BROKER_URL` is set
(web/worker.py), else on a small thread pool inside the web process (the embedded
default keeps one process and no broker). Only the backend differs.
"""

from __future__ import annotations

import contextvars
import json
import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .clock import iso
from .db import db, utcnow
from .errors import HallError, NotFound
from .models.job import DONE, FAILED, JOB_STATES, QUEUED, RUNNING, Job

log = logging.getLogger("hpf.jobs")
INTERNAL_ERROR = "系统内部错误，本任务未做任何更改，请稍后重新提交"
DATABASE_ERROR = "数据库暂时不可用，本任务未做任何更改，请稍后重新提交"
QUEUE_ERROR = "任务队列暂时不可用，本任务未执行，请稍后重新提交"
#: Progress is written at most this often (seconds), and always at the end.
PROGRESS_INTERVAL = 0.2
_STAGED = "hpf_staged_jobs"
_EXTENSION = "hpf_jobs"


@dataclass
class Outcome:
    """What a handler returns when it produces a file besides its result."""

    result: dict = field(default_factory=dict)
    output: bytes | None = None
    output_name: str | None = None


@dataclass
class JobContext:
    """What a running handler sees: its payload, its input bytes and a progress reporter."""

    id: str
    kind: str
    payload: dict
    owner: str
    unit_id: int | None
    total: int = 0
    done: int = 0
    _written_at: float = 0.0

    def blob(self) -> bytes:
        """The input stored with the job (e.g. the uploaded .xlsx)."""
        return db.session.execute(select(Job.input_blob).where(Job.id == self.id)).scalar() or b""

    def progress(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        now = time.monotonic()
        if now - self._written_at < PROGRESS_INTERVAL and done < self.total:
            return
        self._written_at = now
        _write_progress(self.id, self.done, self.total)


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    run: Callable[[JobContext], dict | Outcome | None]


class Backend(Protocol):
    def enqueue(self, job_id: str) -> None: ...


_kinds: dict[str, Kind] = {}
_current: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar("hpf_job",
                                                                              default=None)


def handler(name: str, title: str):
    """Register the function that does a kind of job; `title` is what the page calls it."""
    def register(fn: Callable[[JobContext], dict | Outcome | None]):
        _kinds[name] = Kind(name, title, fn)
        return fn
    return register


def report_progress(done: int, total: int | None = None) -> None:
    """Progress from code that does not hold the context (a no-op outside a job). It only
    moves forward: code reading a 清册 twice in one job does not send the bar back."""
    ctx = _current.get()
    if ctx is not None and (done > ctx.done or total is not None):
        ctx.progress(done, total)


# -- submitting ------------------------------------------------------------------------------


def submit(kind: str, payload: dict, *, owner: str, unit_id: int | None = None,
           blob: bytes | None = None, total: int = 0) -> str:
    """Record a job in the caller's transaction; it is queued once that commits."""
    if kind not in _kinds:
        raise ValueError(f"unknown job kind {kind!r}")
    job_id = secrets.token_hex(16)
    db.session.add(Job(id=job_id, kind=kind, title=_kinds[kind].title, owner=owner,
                       unit_id=unit_id, state=QUEUED, total=total, created_at=utcnow(),
                       payload_json=json.dumps(payload, ensure_ascii=False), input_blob=blob))
    db.session.info.setdefault(_STAGED, []).append(job_id)
    return job_id


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return
    staged = session.info.pop(_STAGED, None)
    if not staged:
        return
    backend = backend_of(current_app)
    for job_id in staged:
        try:
            backend.enqueue(job_id)
        except Exception:
            log.exception("job %s could not be queued", job_id)
            with db.engine.begin() as connection:
                connection.execute(_fail_statement(job_id, QUEUE_ERROR, None))


@event.listens_for(Session, "after_rollback")
def _discard_staged(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_STAGED, None)


# -- running ---------------------------------------------------------------------------------


def run(job_id: str) -> str | None:
    """Run a job to its end in the current app context; returns its final state.

    Safe to call any number of times for one job, also concurrently (see the module's
    docstring). Database errors that may pass (a lost connection, a deadlock) propagate
    after the rollback, so a queue can deliver the job again."""
    job = db.session.get(Job, job_id)
    if job is None:
        log.warning("job %s does not exist", job_id)
        db.session.rollback()
        return None
    if job.state in (DONE, FAILED):
        db.session.rollback()
        return job.state
    kind = _kinds.get(job.kind)
    ctx = JobContext(id=job.id, kind=job.kind, payload=json.loads(job.payload_json),
                     owner=job.owner, unit_id=job.unit_id, total=job.total)
    db.session.execute(update(Job).where(Job.id == job_id, Job.state.in_((QUEUED, RUNNING)))
                       .values(state=RUNNING, attempts=Job.attempts + 1, started_at=utcnow()))
    db.session.commit()
    if kind is None:
        fail(job_id, f"系统不认识该任务类型（{job.kind}），未做任何更改")
        return FAILED
    token = _current.set(ctx)
    try:
        returned = kind.run(ctx)
        outcome = returned if isinstance(returned, Outcome) else Outcome(returned or {})
        finished = db.session.execute(
            update(Job).where(Job.id == job_id, Job.state == RUNNING).values(
                state=DONE, result_json=json.dumps(outcome.result, ensure_ascii=False,
                                                   default=str),
                output_blob=outcome.output, output_name=outcome.output_name,
                done=max(ctx.done, ctx.total), total=ctx.total, finished_at=utcnow()))
        if finished.rowcount != 1:  # another delivery finished it first: ours is void
            db.session.rollback()
            return state_of(job_id)
        db.session.commit()
        return DONE
    except HallError as exc:
        db.session.rollback()
        fail(job_id, exc.message, exc.errors)
    except OperationalError:
        db.session.rollback()
        raise
    except Exception:
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, job.kind)
        fail(job_id, INTERNAL_ERROR)
    finally:
        _current.reset(token)
    return state_of(job_id)


def fail(job_id: str, message: str, errors: object = None) -> None:
    """Mark a job failed with why, unless some delivery of it already finished it."""
    db.session.execute(_fail_statement(job_id, message, errors))
    db.session.commit()


def _fail_statement(job_id: str, message: str, errors: object):
    result = json.dumps({"errors": errors}, ensure_ascii=False, default=str) if errors else None
    return (update(Job).where(Job.id == job_id, Job.state != DONE)
            .values(state=FAILED, error=message, result_json=result, finished_at=utcnow()))


def state_of(job_id: str) -> str | None:
    return db.session.execute(select(Job.state).where(Job.id == job_id)).scalar()


def _write_progress(job_id: str, done: int, total: int) -> None:
    """On its own short transaction, so the page sees progress while the job's own
    transaction is still open. Best effort: on SQLite, while the job itself holds the
    write lock, the figure is skipped rather than waited for."""
    statement = (update(Job).where(Job.id == job_id, Job.state == RUNNING)
                 .values(done=done, total=total))
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        try:
            if sqlite:
                connection.exec_driver_sql("PRAGMA busy_timeout=20")
            connection.execute(statement)
            connection.commit()
        except OperationalError:
            connection.rollback()
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA busy_timeout=30000")


# -- reading ---------------------------------------------------------------------------------


def job_for(job_id: str, owner: str) -> Job:
    """A job as its owner sees it; anyone else is told it does not exist."""
    job = db.session.get(Job, job_id) if isinstance(job_id, str) and len(job_id) <= 32 else None
    if job is None or job.owner != owner:
        raise NotFound("任务不存在")
    return job


def describe(job: Job) -> dict:
    """The job as the status endpoint and the page show it."""
    result = json.loads(job.result_json) if job.result_json else None
    percent = 100 if job.state == DONE else (
        min(99, job.done * 100 // job.total) if job.total else 0)
    return {"job_id": job.id, "kind": job.kind, "title": job.title, "state": job.state,
            "state_name": JOB_STATES.get(job.state, job.state), "done": job.done,
            "total": job.total, "percent": percent,
            "result": result if job.state == DONE else None,
            "error": job.error, "errors": (result or {}).get("errors") if job.state == FAILED
            else None, "download": job.output_name, "attempts": job.attempts,
            "created_at": iso(job.created_at), "finished_at": iso(job.finished_at)}


# -- backends --------------------------------------------------------------------------------


class ThreadBackend:
    """The embedded default: a few threads in the web process, each job in its own app
    context. Jobs a stopped process left behind are queued again by `recover`."""

    def __init__(self, app: Flask, threads: int = 2):
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hpf-job")

    def enqueue(self, job_id: str) -> None:
        self.pool.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        with self.app.app_context():
            try:
                run(job_id)
            except OperationalError:
                db.session.rollback()
                log.exception("job %s: database error", job_id)
                fail(job_id, DATABASE_ERROR)
            except Exception:
                log.exception("job %s crashed", job_id)
            finally:
                db.session.remove()


def init_app(app: Flask, backend: Backend | None = None) -> None:
    app.extensions[_EXTENSION] = backend or ThreadBackend(app, app.config.get("JOB_THREADS", 2))


def backend_of(app: Flask) -> Backend:
    return app.extensions[_EXTENSION]


def recover() -> int:
    """Queue again the jobs a stopped process left queued or running (embedded default)."""
    if not has_app_context():
        raise RuntimeError("recover() needs an app context")
    waiting = list(db.session.execute(select(Job.id).where(Job.state.in_((QUEUED, RUNNING)))
                                      .order_by(Job.created_at)).scalars())
    db.session.rollback()
    backend = backend_of(current_app)
    for job_id in waiting:
        backend.enqueue(job_id)
    return len(waiting)
