"""The runner's rules for people acting on applications: one action at a time per application,
claims, 结束流程, version pinning, timers and messages.

Races are real: two threads, each with its own app context (so its own session and database
connection), released together by a barrier, with the step after the locked read slowed
down (`Run.load`, or the access check for claims) so both are inside the same action at
once; `race` checks that they overlapped. On PostgreSQL the row lock makes the second wait
and then find the work done; on SQLite the revision check on save turns the loser away.
Either way the loser gets a 409 and the action happens once.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import access, history, manifests, queries, runner, store
from engine.actors import Actor
from engine.deploy import deploy
from engine.models import CANCELLED, COMPLETED, DONE, READY, RUNNING, TERMINATED, HumanTask, ProcessInstance
from engine.run import DiagramError
from engine.tasks import list_tasks
from services import manifest_rows
from services.db import db, utcnow
from services.errors import Conflict, NotFound
from services.models import BasePeriod, ChangeRecord, Message, Operator, PersonAccount, Staff, UnitAccount
from services.models.person import ACTIVE

ROOT = Path(__file__).resolve().parents[2]
BASE_ADJUSTMENT = ROOT / "bpmn-diagrams" / "base_adjustment.bpmn"
FIXTURES = ROOT / "tests" / "diagrams"
HPF = ROOT / ".venv" / "bin" / "hpf"
API = "/api/v1"
#: How long the slowed-down steps sleep: long enough for the other thread to catch up.
OVERLAP = 0.3


# -- helpers ---------------------------------------------------------------------------------


def unit_id(demo: dict, unit: int = 0) -> int:
    account_no = demo["units"][unit]["unit_account"]
    return db.session.execute(select(UnitAccount.unit_id)
                              .where(UnitAccount.account_no == account_no)).scalar_one()


def operator(demo: dict, unit: int = 0, index: int = 0) -> Actor:
    login = demo["units"][unit]["operators"][index]["login_name"]
    row = db.session.execute(select(Operator).where(Operator.unit_id == unit_id(demo, unit),
                                                    Operator.login_name == login)).scalar_one()
    return Actor(kind="operator", id=row.id, name=row.name, unit_id=row.unit_id)


def reviewer(demo: dict, index: int = 0) -> Actor:
    login = demo["reviewers"][index]["login_name"]
    row = db.session.execute(select(Staff).where(Staff.login_name == login)).scalar_one()
    return Actor(kind="staff", id=row.id, name=row.name, groups=frozenset({row.group}),
                 role=row.role)


def active_accounts(unit: int, count: int) -> list[PersonAccount]:
    return list(db.session.execute(select(PersonAccount).where(
        PersonAccount.unit_id == unit, PersonAccount.status == ACTIVE)
        .order_by(PersonAccount.id).limit(count)).scalars())


def ready_task(instance_id: int, element_id: str | None = None) -> HumanTask:
    query = select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == READY)
    if element_id:
        query = query.where(HumanTask.element_id == element_id)
    return db.session.execute(query).scalar_one()


def task_rows(instance_id: int) -> list[HumanTask]:
    return list(db.session.execute(select(HumanTask).where(HumanTask.instance_id == instance_id)
                                   .order_by(HumanTask.created_at)).scalars())


def event_types(instance_id: int, element_id: str | None = None) -> list[str]:
    return [e.type for e in history.events(instance_id)
            if element_id is None or e.element_id == element_id]


def fresh(instance_id: int) -> ProcessInstance:
    """The instance row as stored now (actions write it through Core, past the ORM)."""
    db.session.expire_all()
    return db.session.get(ProcessInstance, instance_id)


def count(model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.execute(query).scalar_one()


def adjustment_with_rows(demo: dict, persons: int = 2, unit: int = 0) -> tuple[int, str]:
    """A base adjustment started by the unit's first operator with `persons` rows; committed."""
    actor = operator(demo, unit)
    instance = runner.start("base_adjustment", actor.unit_id, actor)
    for account in active_accounts(actor.unit_id, persons):
        manifests.add_row(instance.id, actor, {"person_account": account.account_no,
                                               "new_base": str(account.base + 1000)})
    task_id = ready_task(instance.id).id
    db.session.commit()
    return instance.id, task_id


def submitted_adjustment(demo: dict, persons: int = 2, claimed_by: Actor | None = None
                         ) -> tuple[int, str]:
    """An adjustment waiting for the centre (claimed if asked); returns it and the review task."""
    instance_id, task_id = adjustment_with_rows(demo, persons)
    runner.complete(task_id, operator(demo), {"remark": ""})
    review_id = ready_task(instance_id, "review").id
    if claimed_by is not None:
        runner.claim(review_id, claimed_by)
    db.session.commit()
    return instance_id, review_id


def deploy_fixture(name: str) -> None:
    path = FIXTURES / f"{name}.bpmn"
    deploy(path.read_bytes(), path.name, "test")
    db.session.commit()


def race(app, *actions):
    """Run each action in its own thread and app context, all released at the same moment.
    Returns, per action, what it returned or the exception it raised (then rolled back).
    Checks that the actions really overlapped: each started before any of them ended."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)
    spans: list[tuple[float, float]] = [(0.0, 0.0)] * len(actions)

    def run(index, action):
        with app.app_context():
            barrier.wait()
            began = time.monotonic()
            try:
                results[index] = action()
            except Exception as exc:  # the loser's error is the result under test
                db.session.rollback()
                results[index] = exc
            spans[index] = (began, time.monotonic())

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    assert max(b for b, _ in spans) < min(e for _, e in spans), f"no overlap: {spans}"
    return results


@pytest.fixture
def slow_load(monkeypatch):
    """Every action sleeps right after loading the workflow (after taking the row lock)."""
    original = runner.Run.load.__func__

    def load(cls, instance, actor):
        loaded = original(cls, instance, actor)
        time.sleep(OVERLAP)
        return loaded

    monkeypatch.setattr(runner.Run, "load", classmethod(load))


# -- one action at a time per application ----------------------------------------------------


def test_the_same_review_submitted_twice_at_once_is_done_once(app, make_api, demo, slow_load):
    """One reviewer, two browser tabs, both press 提交审批结果 at the same moment."""
    with app.app_context():
        instance_id, review_id = submitted_adjustment(demo, persons=2, claimed_by=reviewer(demo))
    tabs = [make_api().login_reviewer(), make_api().login_reviewer()]

    def press(tab, decision):
        return lambda: tab.post(f"{API}/tasks/{review_id}/complete", {"data": {
            "decision": decision, "opinion": "同意" if decision == "approve" else "请核实"}})

    results = race(app, press(tabs[0], "approve"), press(tabs[1], "reject"))

    assert sorted(r.status_code for r in results) == [200, 409], [r.json for r in results]
    winner = next(r for r in results if r.status_code == 200)
    with app.app_context():
        instance = fresh(instance_id)
        reviews = [t for t in task_rows(instance_id) if t.element_id == "review"]
        assert len(reviews) == 1 and reviews[0].state == DONE
        assert event_types(instance_id, "review") == ["task_ready", "claimed", "task_completed"]
        assert count(Message, instance_id=instance_id) == 1
        if winner.json["status"] == COMPLETED:  # approve won: the manifest applied once
            assert reviews[0].decision == "approve"
            assert count(ChangeRecord, instance_id=instance_id, field="base") == 2
            assert count(BasePeriod, instance_id=instance_id) == 2
        else:  # reject won: back with the unit, one new employer task, nothing applied
            assert instance.status == RUNNING and reviews[0].decision == "reject"
            assert ready_task(instance_id).element_id == "edit_manifest"
            assert count(BasePeriod, instance_id=instance_id) == 0


def test_two_operators_submitting_one_application_at_once_submit_it_once(app, make_api, demo,
                                                                         slow_load):
    with app.app_context():
        instance_id, task_id = adjustment_with_rows(demo, persons=2)
    first, second = make_api().login_operator(0, 0), make_api().login_operator(0, 1)

    def submit(client):
        return lambda: client.post(f"{API}/tasks/{task_id}/complete", {"data": {"remark": ""}})

    results = race(app, submit(first), submit(second))

    assert sorted(r.status_code for r in results) == [200, 409], [r.json for r in results]
    with app.app_context():
        rows = task_rows(instance_id)
        assert [(t.element_id, t.state) for t in rows] == [("edit_manifest", DONE),
                                                           ("review", READY)]
        assert event_types(instance_id, "validate_manifest") == ["completed"]
        assert event_types(instance_id, "edit_manifest") == ["task_ready", "task_completed"]


def test_two_reviewers_claiming_one_task_at_once_one_wins(app, make_api, demo, monkeypatch):
    with app.app_context():
        instance_id, review_id = submitted_adjustment(demo)
    original = access.check_can_view_task

    def slow_check(row, actor):  # runs right after the task and its instance were read
        time.sleep(OVERLAP)
        return original(row, actor)

    monkeypatch.setattr(access, "check_can_view_task", slow_check)
    reviewers = [make_api().login_reviewer(0), make_api().login_reviewer(1)]

    results = race(app, *[lambda r=r: r.post(f"{API}/tasks/{review_id}/claim") for r in reviewers])

    assert sorted(r.status_code for r in results) == [200, 409], [r.json for r in results]
    winner = next(r for r in results if r.status_code == 200).json["assignee"]
    with app.app_context():
        assert db.session.get(HumanTask, review_id).assignee_name == winner
        assert event_types(instance_id, "review") == ["task_ready", "claimed"]


@pytest.mark.parametrize("first", ["submission", "edit"])
def test_a_manifest_edit_racing_the_submission_is_validated_with_it_or_refused(
        app, demo, monkeypatch, slow_load, first):
    """录入清册 while 提交审批 runs (and the other way round): the row is either among the rows
    the validation saw, or the edit fails with a conflict. Never a row added after submitting."""
    with app.app_context():
        instance_id, task_id = adjustment_with_rows(demo, persons=1)
        actor = operator(demo)
        late = active_accounts(actor.unit_id, 2)[1]
    original_add = manifest_rows.add_row

    def slow_add(*args, **kwargs):
        added = original_add(*args, **kwargs)
        time.sleep(OVERLAP)
        return added

    monkeypatch.setattr(manifest_rows, "add_row", slow_add)

    def submit():
        if first == "edit":
            time.sleep(OVERLAP / 3)
        runner.complete(task_id, actor, {"remark": ""})
        db.session.commit()
        return "submitted"

    def edit():
        if first == "submission":
            time.sleep(OVERLAP / 3)
        manifests.add_row(instance_id, actor, {"person_account": late.account_no,
                                               "new_base": str(late.base + 500)})
        db.session.commit()
        return "added"

    submitted, added = race(app, submit, edit)

    for outcome in (submitted, added):
        assert outcome in ("submitted", "added") or isinstance(outcome, Conflict), outcome
    assert submitted == "submitted" or added == "added"
    with app.app_context():
        in_manifest = manifest_rows.aggregate(instance_id).count
        assert in_manifest == (2 if added == "added" else 1)
        instance = db.session.get(ProcessInstance, instance_id)
        if submitted == "submitted":
            review = ready_task(instance_id, "review")
            validated = queries.task_data(instance, review.id)["manifest_summary"]["rows"]
            assert validated == in_manifest
        else:
            assert ready_task(instance_id).id == task_id  # still with the unit, nothing moved


# -- claiming and who may act -----------------------------------------------------------------


@pytest.fixture
def in_review(app, demo):
    """An adjustment waiting in the centre's group queue: (instance id, review task id)."""
    with app.app_context():
        return submitted_adjustment(demo)


def test_a_review_task_must_be_claimed_before_it_is_completed(make_api, in_review):
    _, review_id = in_review
    response = make_api().login_reviewer().post(f"{API}/tasks/{review_id}/complete",
                                                {"data": {"decision": "approve"}})
    assert response.status_code == 409
    assert "请先认领" in response.json["message"]


def test_a_task_claimed_by_one_reviewer_cannot_be_completed_by_another(make_api, in_review):
    _, review_id = in_review
    mine, theirs = make_api().login_reviewer(0), make_api().login_reviewer(1)
    assert mine.post(f"{API}/tasks/{review_id}/claim").status_code == 200
    response = theirs.post(f"{API}/tasks/{review_id}/complete", {"data": {"decision": "approve"}})
    assert response.status_code == 409
    assert "认领" in response.json["message"]
    assert theirs.post(f"{API}/tasks/{review_id}/claim").status_code == 409
    assert theirs.post(f"{API}/tasks/{review_id}/unclaim").status_code == 409


def test_unclaiming_returns_the_task_to_the_group_queue(make_api, in_review):
    _, review_id = in_review
    me = make_api().login_reviewer()

    def listed(which):
        return [t["task_id"] for t in me.get(f"{API}/tasks?list={which}").json["items"]]

    assert review_id in listed("group") and review_id not in listed("todo")
    assert me.post(f"{API}/tasks/{review_id}/claim").json["assignee"] is not None
    assert review_id not in listed("group") and review_id in listed("todo")
    unclaimed = me.post(f"{API}/tasks/{review_id}/unclaim")
    assert unclaimed.status_code == 200 and unclaimed.json["assignee"] is None
    assert review_id in listed("group") and review_id not in listed("todo")


def test_an_operator_cannot_claim_or_complete_the_centre_review(make_api, in_review):
    _, review_id = in_review
    unit = make_api().login_operator()
    assert unit.post(f"{API}/tasks/{review_id}/claim").status_code == 403
    response = unit.post(f"{API}/tasks/{review_id}/complete", {"data": {"decision": "approve"}})
    assert response.status_code == 403


def test_a_reviewer_cannot_complete_the_employer_task(app, make_api, demo):
    with app.app_context():
        _, unsent = adjustment_with_rows(demo, unit=1)  # never sent to the centre
        db.session.commit()
        instance_id, review_id = submitted_adjustment(demo, 1, claimed_by=reviewer(demo))
        runner.complete(review_id, reviewer(demo), {"decision": "reject", "opinion": "请核对"})
        returned = ready_task(instance_id, "edit_manifest").id
        db.session.commit()
    centre = make_api().login_reviewer()
    assert centre.post(f"{API}/tasks/{unsent}/complete", {"data": {}}).status_code == 404
    response = centre.post(f"{API}/tasks/{returned}/complete", {"data": {"remark": ""}})
    assert response.status_code == 403
    assert response.json["message"] == "该任务由缴存单位办理"
    assert centre.post(f"{API}/tasks/{returned}/claim").status_code == 403


def test_the_review_is_refused_to_actors_outside_the_group(ctx, demo, in_review):
    _, review_id = in_review
    analyst = Actor(kind="staff", id=999, name="分析员", groups=frozenset({"analyst"}))
    with pytest.raises(NotFound):  # not their group's: to them it does not exist
        runner.claim(review_id, analyst)
    stranger = operator(demo, unit=1)
    with pytest.raises(NotFound):
        runner.claim(review_id, stranger)


# -- 结束流程 ---------------------------------------------------------------------------------


def test_terminating_while_the_unit_holds_the_application_cancels_it(app, make_api, demo):
    with app.app_context():
        instance_id, task_id = adjustment_with_rows(demo)
    unit = make_api().login_operator()

    response = unit.post(f"{API}/instances/{instance_id}/terminate", {"reason": "不再调整"})

    assert response.status_code == 200, response.json
    assert response.json["status"] == TERMINATED and response.json["tasks"] == []
    with app.app_context():
        row = db.session.get(HumanTask, task_id)
        assert row.state == CANCELLED and row.completed_at is not None
        assert {"terminated", "cancelled"} <= set(event_types(instance_id))
        terminated = next(e for e in history.events(instance_id) if e.type == "terminated")
        assert terminated.opinion == "不再调整"
        assert db.session.get(ProcessInstance, instance_id).ended_at is not None
    chart = unit.get(f"{API}/instances/{instance_id}/diagram").json
    assert "edit_manifest" in chart["cancelled"] and chart["active"] == []
    assert unit.get(f"{API}/tasks?list=todo").json["total"] == 0
    again = unit.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
    assert again.status_code == 201, again.json  # the single-open rule no longer blocks
    assert unit.post(f"{API}/instances/{instance_id}/terminate", {}).status_code == 409


def test_an_application_under_centre_review_cannot_be_terminated(make_api, in_review):
    instance_id, _ = in_review
    response = make_api().login_operator().post(f"{API}/instances/{instance_id}/terminate", {})
    assert response.status_code == 409
    assert "中心审核" in response.json["message"]


def test_only_an_operator_of_the_unit_may_terminate(app, make_api, demo):
    with app.app_context():
        instance_id, _ = adjustment_with_rows(demo)
    url = f"{API}/instances/{instance_id}/terminate"
    assert make_api().login_reviewer().post(url, {}).status_code == 404  # not sent to them
    assert make_api().login_operator(unit=1).post(url, {}).status_code == 404
    with app.app_context():
        assert db.session.get(ProcessInstance, instance_id).status == RUNNING


def test_a_second_application_cannot_start_while_one_is_open(app, make_api, demo):
    with app.app_context():
        instance_id, _ = adjustment_with_rows(demo)
    response = make_api().login_operator().post(f"{API}/processes/base_adjustment/instances",
                                                {"data": {}})
    assert response.status_code == 409
    assert response.json["instance_id"] == instance_id


# -- version pinning --------------------------------------------------------------------------


def version_2() -> bytes:
    """base_adjustment with the review renamed and a different approval message."""
    xml = BASE_ADJUSTMENT.read_text(encoding="utf-8")
    old_task = '<bpmn:userTask id="review" name="中心审核">'
    old_text = "已审核通过，自"
    assert xml.count(old_task) == 1 and xml.count(old_text) == 1
    return xml.replace(old_task, '<bpmn:userTask id="review" name="中心复核">') \
        .replace(old_text, "已复核通过（第二版），自").encode("utf-8")


def test_an_application_finishes_on_the_version_it_started_on(app, make_api, demo):
    with app.app_context():
        old_id, task_id = adjustment_with_rows(demo)
        assert deploy(version_2(), "base_adjustment.bpmn", "analyst").version == 2
        db.session.commit()
    unit, centre = make_api().login_operator(), make_api().login_reviewer()

    assert unit.get(f"{API}/instances/{old_id}").json["version"] == 1
    submitted = unit.post(f"{API}/tasks/{task_id}/complete", {"data": {"remark": ""}})
    assert submitted.status_code == 200, submitted.json
    review = submitted.json["tasks"][0]
    assert review["title"] == "中心审核"
    queue = centre.get(f"{API}/tasks?list=group").json["items"]
    assert [t["title"] for t in queue if t["instance_id"] == old_id] == ["中心审核"]

    other = make_api().login_operator(unit=1)
    started = other.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
    assert other.get(f"{API}/instances/{started.json['instance_id']}").json["version"] == 2

    assert centre.post(f"{API}/tasks/{review['task_id']}/claim").status_code == 200
    approved = centre.post(f"{API}/tasks/{review['task_id']}/complete",
                           {"data": {"decision": "approve"}})
    assert approved.status_code == 200 and approved.json["status"] == COMPLETED
    assert approved.json["version"] == 1
    message = unit.get(f"{API}/messages").json["items"][0]["content"]
    assert "已审核通过" in message and "第二版" not in message

    chart = unit.get(f"{API}/instances/{old_id}/diagram").json
    assert chart["version"] == 1
    assert '<bpmn:userTask id="review" name="中心审核">' in chart["bpmn_xml"]
    assert "中心复核" not in chart["bpmn_xml"]
    trail = unit.get(f"{API}/instances/{old_id}/trail").json["items"]
    assert [t["title"] for t in trail] == ["编辑清册并提交审批", "中心审核"]
    names = {e["element_name"] for e in unit.get(f"{API}/instances/{old_id}/history").json["items"]
             if e["element_id"] == "review"}
    assert names == {"中心审核"}


# -- timers -----------------------------------------------------------------------------------


def test_an_overdue_task_is_ended_by_its_boundary_timer(ctx, demo):
    deploy_fixture("timer_reminder")
    actor = operator(demo)
    before = utcnow()
    instance = fresh(runner.start("timer_reminder", actor.unit_id, actor).id)
    db.session.commit()
    task = ready_task(instance.id)
    assert task.element_id == "fill_in" and task.title == "填写并提交"
    assert timedelta(seconds=0.5) < instance.next_timer_at - before < timedelta(seconds=2)
    assert runner.run_timers() == 0  # not due yet: nothing runs

    time.sleep(1.1)
    assert runner.run_timers() == 1

    instance = fresh(instance.id)
    assert instance.status == COMPLETED and instance.next_timer_at is None
    assert db.session.get(HumanTask, task.id).state == CANCELLED
    events = history.events(instance.id)
    timer = next(e for e in events if e.type == "timer")
    assert timer.element_id == "overdue" and timer.actor == "system:0"
    assert ("cancelled", "fill_in") in {(e.type, e.element_id) for e in events}
    assert [e.element_id for e in events if e.type == "ended"] == ["EndEvent_overdue"]
    notices = db.session.execute(select(Message).where(Message.instance_id == instance.id)).scalars()
    assert [m.content for m in notices] == ["您单位的申请超过办理时限，已自动结束。"]
    assert runner.run_timers() == 0  # fired once, never again


def test_a_task_completed_in_time_leaves_no_timer(ctx, demo):
    deploy_fixture("timer_reminder")
    actor = operator(demo)
    instance = runner.start("timer_reminder", actor.unit_id, actor)
    runner.complete(ready_task(instance.id).id, actor, {"remark": "按时提交"})
    db.session.commit()
    instance = fresh(instance.id)
    assert instance.status == COMPLETED and instance.next_timer_at is None
    assert "timer" not in event_types(instance.id)


def test_hpf_run_timers_fires_due_timers_and_prints_how_many(ctx, demo, tmp_path):
    deploy_fixture("timer_reminder")
    actor = operator(demo)
    instance = runner.start("timer_reminder", actor.unit_id, actor)
    db.session.commit()
    time.sleep(1.1)
    env = {**os.environ, "HPF_DATABASE_URL": ctx.config["SQLALCHEMY_DATABASE_URI"],
           "HPF_INSTANCE_DIR": str(tmp_path)}

    done = subprocess.run([str(HPF), "run-timers"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "已处理 1 个到期定时器的流程"
    assert fresh(instance.id).status == COMPLETED


# -- messages ---------------------------------------------------------------------------------


@pytest.fixture
def awaiting_payment(ctx, demo):
    """A payment_arrival application submitted by the unit, waiting for 缴款到账."""
    deploy_fixture("payment_arrival")
    actor = operator(demo)
    instance = runner.start("payment_arrival", actor.unit_id, actor)
    db.session.commit()
    with pytest.raises(Conflict, match="还不在等待「缴款到账」"):  # not waiting for it yet
        runner.send_message(instance.id, "payment_arrived", {"amount": "1.00"})
    db.session.rollback()
    runner.complete(ready_task(instance.id).id, actor, {"remark": ""})
    db.session.commit()
    instance = fresh(instance.id)
    assert json.loads(instance.active_elements) == ["wait_payment"]
    return instance


def test_a_message_delivers_its_payload_and_moves_the_application_on(ctx, awaiting_payment):
    instance = awaiting_payment
    runner.send_message(instance.id, "payment_arrived", {"amount": "100.00"})
    db.session.commit()

    instance = fresh(instance.id)
    assert instance.status == COMPLETED
    event = next(e for e in history.events(instance.id) if e.type == "message")
    assert event.element_id == "wait_payment"
    assert next(e for e in queries.history_rows(instance) if e["type"] == "message")[
        "element_name"] == "等待缴款到账"
    assert event.actor == "system:0"
    assert instance.state == ""  # finished: the payload reached the diagram's notice below
    notices = db.session.execute(select(Message.content).where(
        Message.instance_id == instance.id)).scalars().all()
    assert notices == ["您单位的缴款 100.00 元已到账。"]
    chart = queries.diagram(instance)
    assert "wait_payment" in chart["completed"]


def test_a_message_the_application_is_not_waiting_for_is_refused(ctx, awaiting_payment):
    instance = awaiting_payment
    revision = instance.revision
    with pytest.raises(Conflict, match="refund_arrived"):
        runner.send_message(instance.id, "refund_arrived", {"amount": "100.00"})
    db.session.rollback()
    instance = fresh(instance.id)
    assert instance.revision == revision and instance.status == RUNNING
    assert "message" not in event_types(instance.id)

    runner.send_message(instance.id, "payment_arrived", {"amount": "100.00"})
    db.session.commit()
    with pytest.raises(Conflict):  # finished: nothing waits any more
        runner.send_message(instance.id, "payment_arrived", {"amount": "100.00"})


def test_the_task_lists_show_an_application_waiting_for_a_message_as_initiated(ctx, demo,
                                                                              awaiting_payment):
    actor = operator(demo)
    todo, _ = list_tasks(actor, "todo")
    assert awaiting_payment.id not in [t["instance_id"] for t in todo]
    initiated, _ = list_tasks(actor, "initiated")
    mine = next(t for t in initiated if t["instance_id"] == awaiting_payment.id)
    assert mine["state"] == RUNNING and mine["current"] is None


@pytest.mark.parametrize("meanwhile", ["terminated", "completed"])
def test_a_timer_due_on_an_application_finished_meanwhile_leaves_it_as_it_was(app, demo,
                                                                             monkeypatch, meanwhile):
    """run_timers reads the due applications first and then takes them one by one: one the
    unit terminates or completes in between stays as the unit left it."""
    with app.app_context():
        deploy_fixture("timer_reminder")
        actor = operator(demo)
        instance_id = runner.start("timer_reminder", actor.unit_id, actor).id
        task_id = ready_task(instance_id).id
        db.session.commit()
    original = store.lock_instance
    interrupted = []

    def unit_acts_first(locked_id, *args, **kwargs):
        if not interrupted:  # the unit's action lands between the due query and the lock
            interrupted.append(locked_id)
            with app.app_context():  # another session, as another request would be
                if meanwhile == "terminated":
                    runner.terminate(locked_id, actor, "不办了")
                else:
                    runner.complete(task_id, actor, {"remark": ""})
                db.session.commit()
        return original(locked_id, *args, **kwargs)

    monkeypatch.setattr(store, "lock_instance", unit_acts_first)
    with app.app_context():
        runner.run_timers(now=utcnow() + timedelta(seconds=5))  # a run when the timer is due
        db.session.commit()
        assert interrupted == [instance_id]
        instance = fresh(instance_id)
        types = event_types(instance_id)
        assert "timer" not in types and count(Message, instance_id=instance_id) == 0
        ended_at = next(e.at for e in history.events(instance_id)
                        if e.type in ("terminated", "ended"))
        assert (instance.status, instance.ended_at) == (meanwhile, ended_at), types


def test_a_failing_timer_does_not_hold_up_the_other_applications(ctx, demo):
    deploy_fixture("timer_broken")
    deploy_fixture("timer_reminder")
    actor, other = operator(demo, 0), operator(demo, 1)
    broken = runner.start("timer_broken", actor.unit_id, actor).id
    db.session.commit()
    time.sleep(0.05)
    good = runner.start("timer_reminder", other.unit_id, other).id
    db.session.commit()
    time.sleep(1.1)

    assert runner.run_timers() == 1

    assert fresh(good).status == COMPLETED
    assert fresh(broken).status == RUNNING


def test_spiffworkflows_depth_bound_is_lifted_for_long_loops():
    """Each round of a loop deepens SpiffWorkflow's task tree (about 3 levels a round);
    its iterators stop at `max_depth`, 1,000 by default, which would strand an
    application after some 330 returns (engine/spiff_limits.py lifts it)."""
    from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
    from SpiffWorkflow.util.task import TaskIterator

    for cls in (TaskIterator, BpmnTaskIterator):
        assert cls.__init__.__defaults__[1] >= 10**6


def test_a_stranded_application_is_not_saved(ctx, demo, monkeypatch):
    """Should the engine lose sight of the next task (here: the depth bound put back at
    8 levels), the action fails and changes nothing, rather than saving an application
    that is running with nothing to do."""
    from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
    from SpiffWorkflow.util.task import TaskIterator

    path = ROOT / "bench" / "diagrams" / "bench_loop.bpmn"
    deploy(path.read_bytes(), path.name, "test")
    db.session.commit()
    actor = operator(demo)
    instance_id = runner.start("bench_loop", actor.unit_id, actor).id
    db.session.commit()
    for cls in (TaskIterator, BpmnTaskIterator):
        defaults = list(cls.__init__.__defaults__)
        defaults[1] = 8
        monkeypatch.setattr(cls.__init__, "__defaults__", tuple(defaults))
    with pytest.raises(DiagramError, match="流程无法继续"):
        for _ in range(10):
            task = ready_task(instance_id)
            runner.complete(task.id, actor, {"decision": "reject", "opinion": "再核对"}
                            if task.element_id == "confirm" else {"remark": "r"})
            db.session.commit()
    db.session.rollback()
    assert fresh(instance_id).status == RUNNING and ready_task(instance_id) is not None
