"""Celery on the broker (`HPF_BROKER_URL`, e.g. the machine's RabbitMQ): background jobs
(services/jobs.py) and the timer schedule (Celery beat).

    hpf worker      # celery worker on queue $HPF_JOB_QUEUE (default "hpf")
    hpf beat        # fires due BPMN timers every $HPF_TIMER_INTERVAL seconds (default 60)

Messages carry only a job id; the job row holds the rest. A message is acknowledged after
the job ran (`acks_late`), so a worker killed mid-job (even SIGKILL) leaves it with the
broker, which hands it to the next worker; the job's conditional `done` mark makes that
second run the only one that counts. No result backend: results live in the job row.
"""

from __future__ import annotations

import logging
import os
import threading

from celery import Celery
from sqlalchemy.exc import OperationalError

from services import jobs
from services.db import db

RUN_JOB = "hpf.run_job"
FIRE_TIMERS = "hpf.fire_timers"
log = logging.getLogger("hpf.worker")


def queue_name() -> str:
    return os.environ.get("HPF_JOB_QUEUE") or "hpf"


def timer_interval() -> float:
    return float(os.environ.get("HPF_TIMER_INTERVAL") or 60)


def make_celery(broker_url: str | None, queue: str) -> Celery:
    app = Celery("hpf", set_as_current=False)
    app.conf.update(
        broker_url=broker_url, task_default_queue=queue, task_ignore_result=True,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True, worker_enable_remote_control=False,
        worker_send_task_events=False, worker_hijack_root_logger=False,
        beat_schedule={"fire-timers": {
            "task": FIRE_TIMERS, "schedule": timer_interval(),
            # A round nobody picked up before the next one is worthless: drop it.
            "options": {"queue": queue, "expires": timer_interval()}}})
    return app


celery = make_celery(os.environ.get("HPF_BROKER_URL"), queue_name())


class CeleryBackend:
    """Where the web processes send jobs when a broker is configured."""

    def __init__(self, broker_url: str, queue: str):
        self.queue = queue
        self.client = make_celery(broker_url, queue)

    def enqueue(self, job_id: str) -> None:
        self.client.send_task(RUN_JOB, args=[job_id], queue=self.queue)


_flask_app = None
_app_lock = threading.Lock()


def flask_app():
    """The worker's Flask app, made on first use in each worker process."""
    global _flask_app
    with _app_lock:
        if _flask_app is None:
            from . import create_app
            _flask_app = create_app({"DEPLOY_ON_START": False})
    return _flask_app


@celery.task(name=RUN_JOB, bind=True, max_retries=5)
def run_job(self, job_id: str) -> None:
    with flask_app().app_context():
        try:
            jobs.run(job_id)
        except OperationalError as exc:
            db.session.rollback()
            if self.request.retries >= self.max_retries:
                jobs.fail(job_id, jobs.DATABASE_ERROR)
                return
            raise self.retry(exc=exc, countdown=2 ** self.request.retries) from exc
        finally:
            db.session.remove()


@celery.task(name=FIRE_TIMERS)
def fire_timers() -> int | None:
    from engine.jobs import fire_timers as fire
    with flask_app().app_context():
        try:
            fired = fire()
            log.info("timers: %s", "another scheduler is firing" if fired is None else fired)
            return fired
        finally:
            db.session.remove()
