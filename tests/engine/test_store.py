"""What the engine stores and how it reads it back: the workflow without its spec and
without bulk data, Decimal and date in task data, the sandbox set again on every load,
parsed definitions cached per database, and the revision check on every write.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from engine import manifests, runner, store
from engine.actors import Actor
from engine.deploy import deploy
from engine.models import COMPLETED, READY, HumanTask, ProcessInstance
from engine.sandbox import ScriptRefused
from engine.script_engine import SCRIPT_ENGINE, HallScriptEngine
from engine.serializer import dump_workflow, load_workflow
from services import manifest_rows
from services.db import db, utcnow
from services.direct_sql import execute_direct, insert_rows
from services.errors import Conflict, NotFound
from services.models import BasePeriod, Operator, PersonAccount, Staff, UnitAccount
from services.models.person import ACTIVE
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
BASE_ADJUSTMENT = ROOT / "bpmn-diagrams" / "base_adjustment.bpmn"
MANIFEST_ROWS = 10_000


def unit_operator(demo: dict, unit: int = 0) -> Actor:
    account_no = demo["units"][unit]["unit_account"]
    unit_id = db.session.execute(select(UnitAccount.unit_id)
                                 .where(UnitAccount.account_no == account_no)).scalar_one()
    row = db.session.execute(select(Operator).where(Operator.unit_id == unit_id)
                             .order_by(Operator.id).limit(1)).scalar_one()
    return Actor(kind="operator", id=row.id, name=row.name, unit_id=unit_id)


def first_reviewer(demo: dict) -> Actor:
    login = demo["reviewers"][0]["login_name"]
    row = db.session.execute(select(Staff).where(Staff.login_name == login)).scalar_one()
    return Actor(kind="staff", id=row.id, name=row.name, groups=frozenset({row.group}))


def ready_task_id(instance_id: int) -> str:
    return db.session.execute(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.state == READY)).scalar_one()


def stored(instance_id: int) -> ProcessInstance:
    db.session.expire_all()
    return db.session.get(ProcessInstance, instance_id)


def loaded(instance: ProcessInstance):
    definition = store.definition(instance.definition_id)
    return load_workflow(instance.state, definition.spec, definition.subprocess_specs,
                         SCRIPT_ENGINE)


def all_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in all_keys(v)}
    return set()


@pytest.fixture
def started(ctx, demo) -> int:
    """A base adjustment waiting for the unit, with one row entered by hand; committed."""
    actor = unit_operator(demo)
    instance_id = runner.start("base_adjustment", actor.unit_id, actor).id
    account = db.session.execute(select(PersonAccount).where(
        PersonAccount.unit_id == actor.unit_id, PersonAccount.status == ACTIVE)
        .order_by(PersonAccount.id).limit(1)).scalar_one()
    manifests.add_row(instance_id, actor, {"person_account": account.account_no,
                                           "new_base": str(account.base + 1000)})
    db.session.commit()
    return instance_id


# -- what is stored -----------------------------------------------------------------------------


def test_an_adjustment_of_10000_rows_stores_a_small_state_without_spec(ctx, demo, started):
    """The 清册 lives in its own table: under review, the workflow state holds its totals
    only; once finished, no workflow state is kept at all (history holds the trail)."""
    actor = unit_operator(demo)
    model = manifest_rows.page(started, 1, 1)[0]
    persons = list(db.session.execute(select(PersonAccount.id).where(
        PersonAccount.unit_id == actor.unit_id, PersonAccount.status == ACTIVE)
        .order_by(PersonAccount.id)).scalars())
    assert len(persons) > 200
    manifest_rows.add_rows(started, "base_adjustment", [
        manifest_rows.NewRow(f"bench-{i}", persons[i % len(persons)], model.values, model.amount)
        for i in range(MANIFEST_ROWS - 1)])
    db.session.commit()

    runner.complete(ready_task_id(started), actor, {"remark": "一万人"})
    db.session.commit()
    instance = stored(started)
    state = json.loads(instance.state)
    keys = all_keys(state)
    assert not keys & {"spec", "subprocess_specs", "task_specs"}, keys
    assert len(instance.state.encode("utf-8")) < 50_000
    assert model.values["person_account"] not in instance.state  # rows live in their table
    review = ready_task_id(started)
    assert loaded(instance).get_task_from_id(UUID(review)).data["manifest_summary"]["rows"] \
        == MANIFEST_ROWS

    reviewer = first_reviewer(demo)
    runner.claim(review, reviewer)
    runner.complete(review, reviewer, {"decision": "approve", "opinion": "同意"})
    db.session.commit()
    instance = stored(started)
    assert instance.status == COMPLETED and instance.state == ""
    periods = select(func.count()).select_from(BasePeriod).where(BasePeriod.instance_id == started)
    assert db.session.execute(periods).scalar_one() == MANIFEST_ROWS


def test_decimal_and_date_in_task_data_come_back_as_they_went_in(ctx, started):
    workflow = loaded(stored(started))
    task = workflow.get_task_from_id(UUID(ready_task_id(started)))
    values = {"amount": Decimal("1234.50"), "rate": Decimal("0.12"), "month": date(2026, 7, 1),
              "nested": {"list": [Decimal("-0.01"), date(2024, 2, 29)]}}
    task.data.update(values)

    text = dump_workflow(workflow)
    json.loads(text)  # plain JSON, storable in a text column
    definition = store.definition(stored(started).definition_id)
    again = load_workflow(text, definition.spec, definition.subprocess_specs, SCRIPT_ENGINE)

    data = again.get_task_from_id(task.id).data
    assert {k: data[k] for k in values} == values
    assert str(data["amount"]) == "1234.50"  # the exponent (两位小数) survives
    assert type(data["month"]) is date and type(data["nested"]["list"][0]) is Decimal


def test_a_loaded_workflow_evaluates_in_the_sandbox(ctx, started, tmp_path):
    """The script engine is not serialized: every load sets the hall's sandboxed engine, so
    nothing in a stored application (its data included) can reach Python's builtins."""
    workflow = loaded(stored(started))
    assert isinstance(workflow.script_engine, HallScriptEngine)
    task = workflow.get_task_from_id(UUID(ready_task_id(started)))
    marker = tmp_path / "escaped"
    task.data["escape"] = f"__import__('os').system('touch {marker}')"
    engine = workflow.script_engine

    assert engine.evaluate(task, "escape") == task.data["escape"]  # data is only data
    for expression in ("__import__('os').getcwd()", "eval(escape)", "exec(escape)",
                       "open('/etc/passwd').read()"):
        with pytest.raises(WorkflowTaskException) as caught:
            engine.evaluate(task, expression)
        assert caught.value.error_type == ScriptRefused.__name__, expression
    with pytest.raises(WorkflowTaskException) as caught:
        engine.execute(task, "result = eval(escape)")
    assert caught.value.error_type == ScriptRefused.__name__
    assert not marker.exists()
    assert "result" not in task.data


# -- definitions ------------------------------------------------------------------------------


def test_the_definition_cache_hands_back_the_same_parsed_spec(ctx, started):
    definition_id = stored(started).definition_id
    first = store.definition(definition_id)
    second = store.definition(definition_id)
    assert second is first and second.spec is first.spec
    assert store.latest_definition("base_adjustment") is first
    assert loaded(stored(started)).spec is first.spec


def test_the_definition_cache_keeps_databases_apart(app, databases, tmp_path):
    """Two databases may hold different diagrams under the same definition id."""
    other_name = databases.clone()
    (tmp_path / "other").mkdir()
    other = make_app(databases.url(other_name), tmp_path / "other")
    xml = BASE_ADJUSTMENT.read_text(encoding="utf-8")
    review = '<bpmn:userTask id="review" name="中心审核">'
    try:
        ids = {}
        for application, title in ((app, "甲库审核"), (other, "乙库审核")):
            with application.app_context():
                store.definition(store.latest_definition("base_adjustment").id)  # warm the cache
                changed = xml.replace(review, f'<bpmn:userTask id="review" name="{title}">')
                deploy(changed.encode("utf-8"), "base_adjustment.bpmn", "test")
                db.session.commit()
                ids[title] = store.latest_definition("base_adjustment").id
        assert ids["甲库审核"] == ids["乙库审核"]  # same id, different diagrams
        for application, title in ((app, "甲库审核"), (other, "乙库审核")):
            with application.app_context():
                definition = store.definition(ids[title])
                assert definition.element("review")["name"] == title
                assert store.definition(ids[title]) is definition
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
        databases.drop(other_name)


def test_an_unknown_definition_or_instance_is_not_found(ctx):
    with pytest.raises(NotFound):
        store.definition(987654)
    with pytest.raises(NotFound):
        store.lock_instance(987654)


# -- the revision check -------------------------------------------------------------------------


def test_a_write_based_on_a_stale_read_is_refused(ctx, started):
    instance = store.lock_instance(started)
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == started)
                       .values(revision=ProcessInstance.revision + 1))  # someone else wrote

    with pytest.raises(Conflict):
        store.save(instance, {"updated_at": utcnow(), "title": "不应写入"})

    assert stored(started).title == "基数调整"


def test_every_write_moves_the_revision_on(ctx, started):
    instance = store.lock_instance(started)
    before = instance.revision
    store.save(instance, {"updated_at": utcnow()})
    store.save(instance, {"updated_at": utcnow()})
    db.session.commit()
    assert stored(started).revision == before + 2


# -- the direct write path ----------------------------------------------------------------------


def test_direct_writes_store_what_the_orm_reads_back(ctx, started):
    """Times, None and text written past SQLAlchemy's execute read back exactly."""
    task_id = ready_task_id(started)
    moment = utcnow().replace(microsecond=0)  # a whole second: the format must still match
    store.update_task(task_id, completed_at=moment, opinion="意见：同意", decision=None)
    db.session.commit()
    db.session.expire_all()
    task = db.session.get(HumanTask, task_id)
    assert (task.completed_at, task.opinion, task.decision) == (moment, "意见：同意", None)
    assert db.session.execute(select(func.count()).select_from(HumanTask).where(
        HumanTask.completed_at == moment)).scalar_one() == 1


def test_a_database_error_on_the_direct_path_is_sqlalchemys(ctx, started):
    task = db.session.get(HumanTask, ready_task_id(started))
    row = {column.key: getattr(task, column.key) for column in HumanTask.__table__.columns}
    with pytest.raises(IntegrityError):  # the same task id twice
        insert_rows(HumanTask, [row])
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(HumanTask).where(
        HumanTask.instance_id == started)).scalar_one() == 1


def test_rows_missing_a_column_are_refused_before_anything_is_written(ctx, started):
    task = db.session.get(HumanTask, ready_task_id(started))
    row = {column.key: getattr(task, column.key) for column in HumanTask.__table__.columns}
    complete = dict(row, id="00000000-0000-0000-0000-000000000001")
    partial = {k: v for k, v in row.items() if k != "state"}
    with pytest.raises(ValueError, match="state"):
        insert_rows(HumanTask, [complete, partial])
    assert db.session.get(HumanTask, complete["id"]) is None


def test_a_statement_with_values_baked_in_is_refused_on_the_direct_path(ctx, started):
    statement = update(HumanTask).where(HumanTask.id == bindparam("b_task_id")).values(
        opinion="写死的值")
    with pytest.raises(ValueError, match="not supported"):
        execute_direct(statement, {"b_task_id": ready_task_id(started)})
