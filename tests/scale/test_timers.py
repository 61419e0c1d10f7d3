"""A timer fires once even with several schedulers running: two `run_timers` at the same
moment (real threads, each its own connection) fire each due timer exactly once; and the
schedulers' entry point lets only one of them work at a time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from engine import runner
from engine.deploy import deploy
from engine.jobs import _scheduler_lock, fire_timers
from engine.models import COMPLETED, HistoryEvent, ProcessInstance
from services.db import db

from .helpers import operator

FIXTURE = Path(__file__).resolve().parents[1] / "diagrams" / "timer_reminder.bpmn"
DUE = 12


def due_instances(demo) -> list[int]:
    deploy(FIXTURE.read_bytes(), FIXTURE.name, "test")
    actor = operator(demo)
    ids = [runner.start("timer_reminder", actor.unit_id, actor).id for _ in range(DUE)]
    db.session.commit()
    time.sleep(1.1)  # the diagram's timer: PT1S
    return ids


def together(app, action, count: int = 2) -> list:
    barrier = threading.Barrier(count)
    results = []

    def run():
        with app.app_context():
            barrier.wait(timeout=10)
            try:
                results.append(action())
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_run_timers_at_once_fire_each_timer_once(ctx, demo):
    ids = due_instances(demo)

    fired = together(ctx, runner.run_timers)

    assert sum(fired) == DUE
    db.session.expire_all()
    timer_events = dict(db.session.execute(
        select(HistoryEvent.instance_id, func.count()).where(
            HistoryEvent.instance_id.in_(ids), HistoryEvent.type == "timer")
        .group_by(HistoryEvent.instance_id)).all())
    assert timer_events == {instance_id: 1 for instance_id in ids}
    statuses = set(db.session.execute(select(ProcessInstance.status)
                                      .where(ProcessInstance.id.in_(ids))).scalars())
    assert statuses == {COMPLETED}
    assert runner.run_timers() == 0


def test_only_one_scheduler_fires_at_a_time(ctx, demo):
    ids = due_instances(demo)
    with _scheduler_lock() as first:
        assert first
        assert together(ctx, fire_timers, count=1) == [None]  # another scheduler: skips
    assert fire_timers() == DUE
    assert fire_timers() == 0
    assert len(ids) == DUE
