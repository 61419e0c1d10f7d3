"""The in-memory workflow cache: it saves the deserialize step and never changes an outcome.
An entry is used only for the exact state stored in the row, and only once its transaction
has committed."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine import cache, history, run, runner
from engine.models import ProcessInstance
from engine.script_engine import SCRIPT_ENGINE
from engine.serializer import dump_workflow, load_workflow
from engine.store import definition
from services.db import db

from .test_runner import adjustment_with_rows, event_types, operator, ready_task


@pytest.fixture
def loads(monkeypatch):
    """Counts how often an action deserializes the workflow from the database (with the
    suite's check of each cache hit, itself a load, turned off)."""
    monkeypatch.setattr(cache, "VERIFY", False)
    calls = []

    def counting(*args, **kwargs):
        calls.append(args[0])
        return load_workflow(*args, **kwargs)

    monkeypatch.setattr(run, "load_workflow", counting)
    return calls


def stored_state(instance_id: int) -> str:
    return db.session.execute(select(ProcessInstance.state)
                              .where(ProcessInstance.id == instance_id)).scalar_one()


def load_stored(instance_id: int, state: str | None = None):
    row = db.session.get(ProcessInstance, instance_id)
    spec = definition(row.definition_id)
    return load_workflow(state or stored_state(instance_id), spec.spec, spec.subprocess_specs,
                         SCRIPT_ENGINE)


def taken(instance_id: int, state: str | None = None):
    """What the next action would get from the cache for the row as stored (or `state`)."""
    row = db.session.get(ProcessInstance, instance_id)
    state = state or stored_state(instance_id)
    return cache.take(instance_id, row.definition_id, state,
                      lambda text: load_stored(instance_id, text))


def test_the_next_action_reuses_the_workflow_the_last_one_saved(ctx, demo, loads):
    instance_id, task_id = adjustment_with_rows(demo)
    runner.complete(task_id, operator(demo), {"remark": ""})
    db.session.commit()
    assert loads == []
    assert ready_task(instance_id, "review")


def test_a_state_written_by_another_process_is_read_from_the_database(ctx, demo, loads):
    instance_id, task_id = adjustment_with_rows(demo)
    # Another server process acted meanwhile: same revision path, different state.
    row = db.session.get(ProcessInstance, instance_id)
    workflow = load_stored(instance_id)
    for task in workflow.get_tasks():
        task.data["written_elsewhere"] = "是"
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                       .values(state=dump_workflow(workflow), revision=row.revision + 1))
    db.session.commit()
    loads.clear()

    runner.complete(task_id, operator(demo), {"remark": ""})
    db.session.commit()

    assert len(loads) == 1
    saved = load_stored(instance_id)
    review = next(t for t in saved.get_tasks() if t.task_spec.bpmn_id == "review")
    assert review.data["written_elsewhere"] == "是"


def test_a_rolled_back_action_leaves_no_trace_in_memory(ctx, demo, loads):
    instance_id, task_id = adjustment_with_rows(demo)
    runner.complete(task_id, operator(demo), {"remark": "第一次，未提交"})
    db.session.rollback()
    assert taken(instance_id) is None

    runner.complete(task_id, operator(demo), {"remark": "第二次"})
    db.session.commit()

    assert len(loads) == 1  # read back from the database, not from the abandoned action
    completed = [e for e in history.events(instance_id) if e.type == history.TASK_COMPLETED]
    assert [(e.element_id, e.opinion) for e in completed] == [("edit_manifest", "第二次")]
    assert event_types(instance_id, "review") == [history.TASK_READY]


def test_an_entry_is_offered_only_for_the_state_it_was_saved_as(ctx, demo):
    instance_id, _ = adjustment_with_rows(demo)
    state = stored_state(instance_id)
    assert taken(instance_id, state + " ") is None  # taking also evicts it
    assert taken(instance_id, state) is None


def test_the_cache_keeps_only_the_most_recent_instances(ctx, demo, monkeypatch):
    monkeypatch.setattr(cache, "CAPACITY", 1)
    first, _ = adjustment_with_rows(demo, unit=0)
    second, _ = adjustment_with_rows(demo, unit=1)
    assert taken(first) is None
    assert taken(second) is not None


def test_a_finished_application_is_not_kept(ctx, demo):
    instance_id, _ = adjustment_with_rows(demo)
    runner.terminate(instance_id, operator(demo))
    db.session.commit()
    assert taken(instance_id) is None


def test_verification_catches_data_a_load_would_change(ctx, demo, monkeypatch):
    """The suite runs with VERIFY on: a cached workflow holding data that JSON would not
    keep as it is (here a tuple) is caught on its next use instead of acting differently
    from a cold load."""
    monkeypatch.setattr(cache, "VERIFY", True)
    instance_id, _ = adjustment_with_rows(demo)
    workflow = taken(instance_id)
    next(iter(workflow.get_tasks())).data["pair"] = (1, 2)
    cache.stage(instance_id, db.session.get(ProcessInstance, instance_id).definition_id,
                stored_state(instance_id), workflow)
    db.session.commit()
    with pytest.raises(AssertionError, match="differs from its stored state"):
        taken(instance_id)
