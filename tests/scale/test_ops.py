"""For operators: /healthz says whether the database answers at this code's schema;
/metrics has request latency per route, completions per business and the queues per
group; centre staff see the same queues on 中心监控, past-deadline ones marked."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import delete, select, text, update

from engine import runner
from engine.actors import EMPLOYER_LANE
from engine.metrics import cache_counts, queues
from engine.models import HumanTask
from services.db import db, utcnow
from tests.conftest import make_app

from .helpers import reviewer, submitted


def test_healthz_answers_200_at_head_and_503_with_the_reason_otherwise(ctx):
    from alembic.script import ScriptDirectory

    from web.migrate import alembic_config
    heads = list(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    client = ctx.test_client()
    ok = client.get("/healthz")
    assert ok.status_code == 200 and ok.json["status"] == "ok"
    assert ok.json["revision"] == heads

    db.session.execute(text("UPDATE alembic_version SET version_num = 'b41d2e7a9c10'"))
    db.session.commit()
    behind = client.get("/healthz")
    assert behind.status_code == 503 and "hpf init-db" in behind.json["reason"]
    assert behind.json["expected"] == heads


def test_healthz_says_503_when_the_database_does_not_answer(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/missing/dir/hall.db", tmp_path)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["reason"] == "数据库无法连接"


def metric(body: str, name: str, **labels) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in body.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{{{wanted}}} in /metrics")


def test_metrics_count_completions_and_show_the_queues_per_group(ctx, demo, make_api):
    client = ctx.test_client()
    submitted(demo, claim=True)
    submitted(demo, unit=1)
    api = make_api().login_reviewer()
    review = db.session.execute(select(HumanTask.id).where(
        HumanTask.state == "ready", HumanTask.assignee.is_(None))).scalars().first()
    assert api.post(f"/api/v1/tasks/{review}/claim").status_code == 200
    done = api.post(f"/api/v1/tasks/{review}/complete",
                    {"data": {"decision": "approve", "opinion": "同意"}})
    assert done.status_code == 200, done.json

    body = client.get("/metrics").text

    assert metric(body, "hpf_task_completions_total", business="base_adjustment",
                  lane="centre_reviewer") >= 1
    assert metric(body, "hpf_request_duration_seconds_count",
                  route="/api/v1/tasks/<task_id>/complete", method="POST") >= 1
    assert metric(body, "hpf_task_wait_seconds_count", business="base_adjustment",
                  group="centre_reviewer") >= 1
    assert metric(body, "hpf_queue_tasks", business="base_adjustment", group="centre_reviewer",
                  state="claimed") == 1
    assert metric(body, "hpf_queue_tasks", business="base_adjustment", group="centre_reviewer",
                  state="waiting") == 0
    assert metric(body, "hpf_decision_median_seconds", business="base_adjustment",
                  group="centre_reviewer") >= 0
    assert metric(body, "hpf_jobs_open", state="queued") == 0
    lookups = cache_counts()
    assert lookups["hit"] + lookups["miss"] >= 3  # every completion asked the workflow cache
    assert "hpf_workflow_cache_lookups_total{" in body


def moved_back(review: str, submitted_days: float, arrived_days: float) -> None:
    """The application of `review` submitted by its unit and its review task arrived
    this many days ago."""
    instance_id = db.session.get(HumanTask, review).instance_id
    db.session.execute(update(HumanTask).where(HumanTask.instance_id == instance_id,
                                               HumanTask.lane == EMPLOYER_LANE)
                       .values(completed_at=utcnow() - timedelta(days=submitted_days)))
    db.session.execute(update(HumanTask).where(HumanTask.id == review)
                       .values(created_at=utcnow() - timedelta(days=arrived_days)))
    db.session.commit()


def test_the_monitor_shows_waiting_claimed_oldest_median_and_overdue(ctx, demo, make_api):
    late = submitted(demo, claim=True)
    moved_back(late, submitted_days=9, arrived_days=9)

    [queue] = queues(timedelta(days=5))

    assert (queue.process_key, queue.group) == ("base_adjustment", "centre_reviewer")
    assert (queue.waiting, queue.claimed, queue.overdue) == (0, 1, 1)
    assert queue.oldest_waiting is None  # claimed is not waiting
    staff = make_api().login_reviewer()
    page = staff.get("/centre/monitor").text
    assert "中心监控" in page and "办结时限 5 天" in page
    row = re.search(r'<tr data-business="base_adjustment" data-group="centre_reviewer">(.*?)</tr>',
                    page, re.S).group(1)
    cells = re.findall(r'<td data-label="[^"]+"[^>]*>(.*?)</td>', row, re.S)
    assert cells[0] == "中心审核" and cells[1] == "基数调整"
    assert [cells[2], cells[3], cells[6]] == ["0", "1", "1"]

    # decided: the median time to decision appears; the overdue task is gone
    runner.complete(late, reviewer(demo), {"decision": "approve", "opinion": "同意"})
    db.session.commit()
    [queue] = queues(timedelta(days=5))
    assert queue.overdue == 0 and queue.decisions == 1
    assert timedelta(days=9) - timedelta(minutes=1) < timedelta(
        seconds=queue.median_decision_seconds) < timedelta(days=9, minutes=1)
    assert "9天0小时" in staff.get("/centre/monitor").text


def test_the_monitor_is_for_centre_staff_only(ctx, make_api):
    unit = make_api().login_operator()
    response = unit.get("/centre/monitor")
    assert response.status_code in (302, 403)
    assert "中心监控" not in unit.get("/").text


def test_the_service_deadline_runs_from_the_units_submission_through_every_review_step(
        ctx, demo):
    """A second review step that arrived yesterday, of an application submitted six days
    ago, is past a five-day limit; one returned for 补正 and submitted again yesterday
    is not, however old the application."""
    second_step = submitted(demo)
    moved_back(second_step, submitted_days=6, arrived_days=1)
    [queue] = queues(timedelta(days=5))
    assert (queue.waiting, queue.overdue) == (1, 1)
    # returned for 补正 after a first submission 20 days ago, submitted again yesterday
    moved_back(second_step, submitted_days=1, arrived_days=1)
    review = db.session.get(HumanTask, second_step)
    first_round = db.session.execute(select(HumanTask).where(
        HumanTask.instance_id == review.instance_id, HumanTask.lane == EMPLOYER_LANE)
    ).scalar_one()
    columns = {c.key: getattr(first_round, c.key) for c in HumanTask.__table__.columns}
    db.session.add(HumanTask(**{**columns, "id": str(uuid.uuid4()),
                                "created_at": utcnow() - timedelta(days=21),
                                "completed_at": utcnow() - timedelta(days=20)}))
    db.session.commit()
    [queue] = queues(timedelta(days=5))
    assert (queue.waiting, queue.overdue) == (1, 0)


def test_an_application_no_unit_task_handled_counts_from_its_arrival(ctx, demo):
    """Without a unit submission (an application the centre started), the clock starts
    when the task arrived."""
    review = submitted(demo)
    instance_id = db.session.get(HumanTask, review).instance_id
    db.session.execute(delete(HumanTask).where(HumanTask.instance_id == instance_id,
                                               HumanTask.lane == EMPLOYER_LANE))
    db.session.execute(update(HumanTask).where(HumanTask.id == review)
                       .values(created_at=utcnow() - timedelta(days=6)))
    db.session.commit()
    [queue] = queues(timedelta(days=5))
    assert queue.overdue == 1
