"""The centre's queues in figures, from the task index (`HumanTask`): what waits for each
group in each business, what is claimed, how old the oldest is, how long decisions take
and how many applications are past the service deadline. The 中心监控 page and the Prometheus gauges
read the same two grouped queries, so people and dashboards never disagree.

Both queries are range scans of an index of their own (declared here, created by
migration scale01a): ready tasks by (state, group, business, arrival), decisions by
(group, completion time). Neither reads a finished application's rows beyond the window.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from services.db import db, utcnow

from . import cache
from .actors import EMPLOYER_LANE, ROLES
from .models import DONE, READY, HumanTask, ProcessDefinition

#: Decisions counted for the median time to decision.
DECISION_WINDOW = timedelta(days=30)


@dataclass
class Queue:
    """One business at one group."""

    process_key: str
    business: str
    group: str
    group_name: str
    waiting: int = 0
    claimed: int = 0
    oldest_waiting: datetime | None = None
    overdue: int = 0
    median_decision_seconds: float | None = None
    decisions: int = 0

    def oldest_wait_seconds(self, now: datetime) -> float:
        return (now - self.oldest_waiting).total_seconds() if self.oldest_waiting else 0.0


def queues(deadline: timedelta, now: datetime | None = None) -> list[Queue]:
    """Every (business, group) with work waiting now or decided in the window.

    `overdue` counts the group's open tasks (waiting or claimed) whose application is past
    `deadline` (the policy's 办结时限): its clock starts when the unit last submitted it
    (the latest completion of the unit's own task: a return for 补正 restarts it, as the
    application is accepted anew) and runs through every review step, so two steps of
    four days each are past a five-day limit. An application no unit task ever handled
    counts from its first arrival at the centre."""
    now = now or utcnow()
    cutoff = now - deadline
    unit_task = aliased(HumanTask)
    submitted = (select(func.max(unit_task.completed_at))
                 .where(unit_task.instance_id == HumanTask.instance_id,
                        unit_task.lane == EMPLOYER_LANE, unit_task.state == DONE)
                 .scalar_subquery())
    since = func.coalesce(submitted, HumanTask.created_at)
    found: dict[tuple[str, str], Queue] = {}
    names = _business_names()

    def queue(key: str, group: str) -> Queue:
        if (key, group) not in found:
            found[key, group] = Queue(key, names.get(key, key), group, ROLES.get(group, group))
        return found[key, group]

    unclaimed = HumanTask.assignee.is_(None)
    for key, group, waiting, claimed, oldest, overdue in db.session.execute(
            select(HumanTask.process_key, HumanTask.candidate_group,
                   func.sum(case((unclaimed, 1), else_=0)),
                   func.sum(case((unclaimed, 0), else_=1)),
                   func.min(case((unclaimed, HumanTask.created_at))),
                   func.sum(case((since < cutoff, 1), else_=0)))
            .where(HumanTask.state == READY, HumanTask.candidate_group.is_not(None))
            .group_by(HumanTask.process_key, HumanTask.candidate_group)):
        item = queue(key, group)
        item.waiting, item.claimed, item.overdue = int(waiting), int(claimed), int(overdue)
        item.oldest_waiting = oldest
    for (key, group), (median, count) in _decision_medians(now - DECISION_WINDOW).items():
        item = queue(key, group)
        item.median_decision_seconds, item.decisions = median, count
    return sorted(found.values(), key=lambda q: (q.group, q.business))


def _decision_medians(since: datetime) -> dict[tuple[str, str], tuple[float, int]]:
    """Median seconds from arrival to decision per (business, group) since `since`:
    computed by PostgreSQL itself; on SQLite (the embedded default, small) in Python."""
    conditions = (HumanTask.candidate_group.is_not(None), HumanTask.completed_at >= since,
                  HumanTask.state == DONE)
    if db.engine.dialect.name == "postgresql":
        seconds = func.extract("epoch", HumanTask.completed_at - HumanTask.created_at)
        rows = db.session.execute(
            select(HumanTask.process_key, HumanTask.candidate_group,
                   func.percentile_cont(0.5).within_group(seconds), func.count())
            .where(*conditions).group_by(HumanTask.process_key, HumanTask.candidate_group))
        return {(key, group): (float(median), int(count)) for key, group, median, count in rows}
    spans: dict[tuple[str, str], list[float]] = {}
    seconds = (func.julianday(HumanTask.completed_at) - func.julianday(HumanTask.created_at)) * 86400
    for key, group, span in db.session.execute(
            select(HumanTask.process_key, HumanTask.candidate_group, seconds).where(*conditions)):
        spans.setdefault((key, group), []).append(float(span))
    return {k: (statistics.median(v), len(v)) for k, v in spans.items()}


def _business_names() -> dict[str, str]:
    """The newest deployed name of each business (a small table)."""
    names: dict[str, str] = {}
    for key, name in db.session.execute(select(ProcessDefinition.key, ProcessDefinition.name)
                                        .order_by(ProcessDefinition.version)):
        names[key] = name
    return names


# -- workflow cache hits ---------------------------------------------------------------------

_cache_counts = {"hit": 0, "miss": 0}
_cache_lock = threading.Lock()
_listeners: list[Callable[[bool], None]] = []
_completion_listeners: list[Callable[[object], None]] = []


def on_completion(listener: Callable[[object], None]) -> None:
    """`listener(task)` hears every task `runner.complete` completes (the task row as it
    was written: process_key, lane, candidate_group, created_at, completed_at), before
    the caller commits: counting it is the caller's to decide."""
    if listener not in _completion_listeners:
        _completion_listeners.append(listener)


def completed(task) -> None:
    for notify in _completion_listeners:
        notify(task)


def count_cache_lookups(listener: Callable[[bool], None] | None = None) -> None:
    """Count whether each action found its workflow in this process's cache.

    `engine/cache.py` keeps no figures, so its `take` is wrapped once per process (the
    runner looks it up through the module on every action). `listener(hit)` is also told,
    e.g. a Prometheus counter."""
    if listener is not None and listener not in _listeners:
        _listeners.append(listener)
    if getattr(cache.take, "_counted", False):
        return
    original = cache.take

    def take(*args, **kwargs):
        workflow = original(*args, **kwargs)
        hit = workflow is not None
        with _cache_lock:
            _cache_counts["hit" if hit else "miss"] += 1
        for notify in _listeners:
            notify(hit)
        return workflow

    take._counted = True
    cache.take = take


def cache_counts() -> dict[str, int]:
    with _cache_lock:
        return dict(_cache_counts)
