"""Prometheus metrics (`prometheus_client`), served at /metrics.

Per process, and summed over gunicorn's workers by the client's multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`, set by web/serving.py before any worker starts):
request latency per route, task completions per business, centre tasks' waiting time,
workflow-cache hits. From the database at each scrape, so every process reports the same
truth: queue length, oldest wait, overdue tasks and median time to decision per business
and group (engine/metrics.py, the 中心监控 page's own query), and jobs not yet finished.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from flask import Flask, g, has_request_context, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from engine import metrics as engine_metrics
from services.db import db, utcnow
from services.models import City, Job
from services.models.job import QUEUED, RUNNING
from services.policy import Policy

REQUEST_SECONDS = Histogram(
    "hpf_request_duration_seconds", "Time to answer a request, by route",
    ["route", "method"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
COMPLETIONS = Counter("hpf_task_completions_total", "Tasks completed (办理), by business",
                      ["business", "lane"])
TASK_WAIT = Histogram(
    "hpf_task_wait_seconds", "From a centre task's arrival to its decision, by group",
    ["business", "group"],
    buckets=(60, 300, 900, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400))
CACHE_LOOKUPS = Counter("hpf_workflow_cache_lookups_total",
                        "Actions that found their workflow in this process's cache",
                        ["result"])
#: The endpoints that complete a task, and the status that says they did.
COMPLETING = {"api_tasks.complete": 200, "views.task_detail": 302}


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def init_app(app: Flask) -> None:
    engine_metrics.count_cache_lookups(
        lambda hit: CACHE_LOOKUPS.labels("hit" if hit else "miss").inc())

    @app.before_request
    def _start_timer():
        g.hpf_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("hpf_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule else "<unmatched>"
            REQUEST_SECONDS.labels(route, request.method).observe(time.perf_counter() - started)
        task = g.pop("hpf_completed", None)
        if task is not None and COMPLETING.get(request.endpoint) == response.status_code \
                and request.method == "POST":
            _count_completion(task)
        return response

    engine_metrics.on_completion(_remember_completion)


def _remember_completion(task) -> None:
    """The task a request completes, counted once its answer says it succeeded (the view
    commits before answering): no second read of it after the commit."""
    if has_request_context():
        g.hpf_completed = task


def _count_completion(task) -> None:
    COMPLETIONS.labels(task.process_key, task.lane).inc()
    if task.candidate_group and task.completed_at:
        TASK_WAIT.labels(task.process_key, task.candidate_group).observe(
            (task.completed_at - task.created_at).total_seconds())


class DatabaseCollector:
    """Gauges read from the database at scrape time (one grouped query each)."""

    def collect(self):
        now = utcnow()
        policy = Policy.from_json(db.session.execute(select(City.policy_json).limit(1)).scalar())
        queues = engine_metrics.queues(timedelta(days=policy.service_days), now)
        labels = ["business", "group"]
        tasks = GaugeMetricFamily("hpf_queue_tasks", "Open centre tasks (waiting or claimed)",
                                  labels=[*labels, "state"])
        oldest = GaugeMetricFamily("hpf_queue_oldest_wait_seconds",
                                   "Age of the oldest unclaimed task", labels=labels)
        overdue = GaugeMetricFamily("hpf_queue_overdue_tasks",
                                    "Open tasks whose application is past the policy's "
                                    "service deadline", labels=labels)
        median = GaugeMetricFamily("hpf_decision_median_seconds",
                                   "Median arrival-to-decision time, last 30 days", labels=labels)
        for q in queues:
            tasks.add_metric([q.process_key, q.group, "waiting"], q.waiting)
            tasks.add_metric([q.process_key, q.group, "claimed"], q.claimed)
            oldest.add_metric([q.process_key, q.group], q.oldest_wait_seconds(now))
            overdue.add_metric([q.process_key, q.group], q.overdue)
            if q.median_decision_seconds is not None:
                median.add_metric([q.process_key, q.group], q.median_decision_seconds)
        jobs = GaugeMetricFamily("hpf_jobs_open", "Background jobs queued or running",
                                 labels=["state"])
        counts = dict(db.session.execute(select(Job.state, func.count()).where(
            Job.state.in_((QUEUED, RUNNING))).group_by(Job.state)).all())
        for state in (QUEUED, RUNNING):
            jobs.add_metric([state], counts.get(state, 0))
        yield from (tasks, oldest, overdue, median, jobs)


def exposition() -> bytes:
    """The text format: this process's (or all workers') metrics, then the database's."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        own = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY
        own = generate_latest(REGISTRY)
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())
    return own + generate_latest(database)
