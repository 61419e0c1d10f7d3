"""迁移: running base adjustments move from v1 to a v2 with a second review when every step
they wait at is still there with the same form; a moved one then needs both reviews, one
left behind finishes on v1 with one; refusals say why; history says who moved it, when."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from engine import migrate, store
from engine.actors import STAFF, Actor
from engine.deploy import deploy
from engine.models import HistoryEvent, HumanTask, ProcessInstance
from services.db import db
from tests.business.helpers import decide, resubmit, submitted_adjustment

ROOT = Path(__file__).resolve().parents[2]
TWO_REVIEWS = (ROOT / "tests" / "diagrams" / "base_adjustment_two_reviews.bpmn").read_bytes()
ANALYST = Actor(kind=STAFF, id=99, name="张博文", role="analyst")


def deploy_v2(app, xml: bytes = TWO_REVIEWS) -> int:
    with app.app_context():
        result = deploy(xml, "base_adjustment.bpmn", "test")
        db.session.commit()
        return result.version


def version_of(app, instance_id: int) -> int:
    with app.app_context():
        row = db.session.get(ProcessInstance, instance_id)
        return store.definition(row.definition_id).version


def test_a_moved_application_needs_both_reviews_one_left_behind_needs_one(app, make_api):
    first, second = make_api().login_operator(0), make_api().login_operator(1)
    reviewer = make_api().login_reviewer()
    moved = submitted_adjustment(first, Decimal("1500"))
    stays = submitted_adjustment(second, Decimal("1500"))
    assert deploy_v2(app) == 2

    with app.app_context():
        plans = migrate.preview("base_adjustment", [moved, stays])
        assert [(p.movable, p.version, [w["id"] for w in p.waiting]) for p in plans] == [
            (True, 1, ["review"]), (True, 1, ["review"])]
        listed = migrate.running("base_adjustment", 1)
        assert [r["instance_id"] for r in listed] == [moved, stays]
        [plan] = migrate.migrate("base_adjustment", [moved], ANALYST)
        db.session.commit()
        assert plan.migrated and plan.reason == "已迁移到 v2"
        event = db.session.execute(select(HistoryEvent).where(
            HistoryEvent.instance_id == moved, HistoryEvent.type == "migrated")).scalar_one()
        assert (event.actor_name, event.opinion) == ("张博文", "流程版本由 v1 迁移到 v2")
        assert event.at is not None
    assert (version_of(app, moved), version_of(app, stays)) == (2, 1)

    after_first = decide(reviewer, moved)
    assert after_first["status"] == "running"
    assert [t["title"] for t in after_first["tasks"]] == ["中心复核"]
    assert decide(reviewer, moved)["status"] == "completed"
    assert decide(reviewer, stays)["status"] == "completed"


def test_an_application_back_with_the_unit_moves_and_then_takes_the_new_path(app, make_api):
    operator, reviewer = make_api().login_operator(), make_api().login_reviewer()
    instance_id = submitted_adjustment(operator, Decimal("1500"))
    decide(reviewer, instance_id, "reject", "请核实")
    deploy_v2(app)
    with app.app_context():
        [plan] = migrate.migrate("base_adjustment", [instance_id], ANALYST)
        db.session.commit()
        assert plan.migrated and [w["id"] for w in plan.waiting] == ["edit_manifest"]
    resubmit(operator, instance_id)
    assert decide(reviewer, instance_id)["status"] == "running"
    assert decide(reviewer, instance_id)["status"] == "completed"


def test_refusals_say_why_and_change_nothing(app, make_api):
    operator, reviewer = make_api().login_operator(), make_api().login_reviewer()
    waiting = submitted_adjustment(operator, Decimal("200"))
    other_form = TWO_REVIEWS.replace(
        b'<bpmn:userTask id="review" name="\xe4\xb8\xad\xe5\xbf\x83\xe5\xae\xa1\xe6\xa0\xb8">\n'
        b'      <bpmn:extensionElements>\n        <spiffworkflow:properties>\n'
        b'          <spiffworkflow:property name="form" value="review" />',
        b'<bpmn:userTask id="review" name="\xe4\xb8\xad\xe5\xbf\x83\xe5\xae\xa1\xe6\xa0\xb8">\n'
        b'      <bpmn:extensionElements>\n        <spiffworkflow:properties>\n'
        b'          <spiffworkflow:property name="form" value="base_adjustment.edit" />')
    assert other_form != TWO_REVIEWS
    deploy_v2(app, other_form)
    with app.app_context():
        state_before = db.session.get(ProcessInstance, waiting).state
        [plan] = migrate.migrate("base_adjustment", [waiting], ANALYST)
        db.session.commit()
        assert not plan.movable and not plan.migrated
        assert "表单由 review 改为 base_adjustment.edit" in plan.reason
        assert db.session.get(ProcessInstance, waiting).state == state_before
        assert db.session.execute(select(HistoryEvent).where(
            HistoryEvent.type == "migrated")).first() is None
    assert decide(reviewer, waiting)["status"] == "completed"  # finishes on v1
    with app.app_context():
        [done] = migrate.preview("base_adjustment", [waiting])
        assert done.reason == "申请已办结或已结束，无需迁移"


def test_a_renamed_waiting_step_is_renamed_in_the_task_lists(app, make_api):
    operator = make_api().login_operator()
    instance_id = submitted_adjustment(operator, Decimal("200"))
    renamed = TWO_REVIEWS.replace('<bpmn:userTask id="review" name="中心审核">'.encode(),
                                  '<bpmn:userTask id="review" name="中心初审">'.encode())
    deploy_v2(app, renamed)
    with app.app_context():
        migrate.migrate("base_adjustment", [instance_id], ANALYST)
        db.session.commit()
        title = db.session.execute(select(HumanTask.title).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "ready")).scalar_one()
        assert title == "中心初审"
        [again] = migrate.preview("base_adjustment", [instance_id])
        assert again.reason == "已在最新版本 v2 上"
