"""试运行: finished base adjustments replayed from their history against an edited diagram
(a second review when the 月缴存额 rises by more than 1,000), with nothing written."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.dryrun import DIFFERENT, FAILED, SAME, dry_run
from services.db import db
from services.errors import InvalidInput
from services.models import ChangeRecord, Message
from tests.business.helpers import decide, resubmit, submitted_adjustment

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL = (ROOT / "bpmn-diagrams" / "base_adjustment.bpmn").read_bytes()
TWO_REVIEWS = (ROOT / "tests" / "diagrams" / "base_adjustment_two_reviews.bpmn").read_bytes()


@pytest.fixture
def recorded(make_api):
    """Three finished applications of the first unit: a big change approved, a small one
    approved after a rejection, a small one terminated while back with the unit."""
    operator, reviewer = make_api().login_operator(), make_api().login_reviewer()
    big = submitted_adjustment(operator, Decimal("1500"))
    decide(reviewer, big)
    small = submitted_adjustment(operator, Decimal("200"), person=1)
    decide(reviewer, small, "reject", "请核实")
    resubmit(operator, small)
    decide(reviewer, small)
    ended = submitted_adjustment(operator, Decimal("200"), person=2)
    decide(reviewer, ended, "reject", "请核实")
    assert operator.post(f"/api/v1/instances/{ended}/terminate",
                         {"reason": "不办了"}).status_code == 200
    return {"big": big, "small": small, "ended": ended}


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(Message)),
            db.session.scalar(select(func.count()).select_from(ChangeRecord)))


def test_a_second_review_changes_the_path_of_big_changes_only(app, recorded):
    with app.app_context():
        before = counts()
        outcomes = {o.instance_id: o for o in dry_run("base_adjustment", TWO_REVIEWS)}
        assert counts() == before  # the handlers ran (messages, change records) and were undone

    big = outcomes[recorded["big"]]
    assert big.result == DIFFERENT and big.element_id == "second_review"
    assert "中心复核" in big.message and "已办结" in big.message
    assert big.path[-1] == "review" and big.recorded[-1] == "EndEvent_done"
    for key in ("small", "ended"):
        assert outcomes[recorded[key]].result == SAME, outcomes[recorded[key]].message
    assert outcomes[recorded["small"]].path.count("review") == 2


def test_the_deployed_diagram_replays_every_application_the_same(app, recorded):
    with app.app_context():
        outcomes = dry_run("base_adjustment", ORIGINAL)
    assert [o.result for o in outcomes] == [SAME, SAME, SAME]
    assert [o.instance_id for o in outcomes] == [recorded["ended"], recorded["small"],
                                                  recorded["big"]]  # newest first


def test_a_step_added_for_everyone_is_where_paths_part(app, recorded):
    extra = ORIGINAL.replace(b'targetRef="apply">', b'targetRef="second_review">').replace(
        b'<bpmn:serviceTask id="apply"',
        '<bpmn:userTask id="second_review" name="中心复核"><bpmn:extensionElements>'
        '<spiffworkflow:properties><spiffworkflow:property name="form" value="review" />'
        '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>'
        '<bpmn:sequenceFlow id="Flow_x" sourceRef="second_review" targetRef="apply" />'
        '<bpmn:serviceTask id="apply"'.encode()).replace(
        b"<bpmn:flowNodeRef>apply</bpmn:flowNodeRef>",
        b"<bpmn:flowNodeRef>apply</bpmn:flowNodeRef><bpmn:flowNodeRef>second_review</bpmn:flowNodeRef>")
    with app.app_context():
        outcomes = {o.instance_id: o for o in dry_run("base_adjustment", extra)}
    small = outcomes[recorded["small"]]
    assert small.result == DIFFERENT and small.element_id == "second_review"


def test_a_condition_that_fails_at_run_time_is_reported_with_its_element(app, recorded):
    broken = TWO_REVIEWS.replace(b'manifest_summary["difference"]', b'no_such_summary["x"]')
    with app.app_context():
        outcomes = {o.instance_id: o for o in dry_run("base_adjustment", broken, limit=3)}
    outcome = outcomes[recorded["big"]]
    assert outcome.result == FAILED and outcome.element_id == "Gateway_amount"
    assert "no_such_summary" in outcome.message


def test_an_invalid_diagram_is_not_replayed(app, recorded):
    with app.app_context(), pytest.raises(InvalidInput) as refused:
        dry_run("base_adjustment", ORIGINAL.replace(b'value="review"', b'value="nope"'))
    assert "review" in refused.value.errors["bpmn_xml"][0]
