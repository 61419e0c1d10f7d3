"""Production settings come from the environment and are checked before serving; the
`hpf seed-scale` data looks to the hall exactly like applications it finished itself."""

from __future__ import annotations

import gc
import subprocess

from sqlalchemy import func, select

from engine import queries
from engine.models import HumanTask, ProcessInstance
from services.db import db
from services.models import LedgerEntry, Operator, Unit
from web import serving
from web.seed_scale import NAME_PREFIX, seed_scale

from .helpers import HPF, hpf_env


def test_production_mode_refuses_to_start_without_a_secret_key_or_on_sqlite(tmp_path):
    env = hpf_env(HPF_INSTANCE_DIR=str(tmp_path))
    for name in ("HPF_SECRET_KEY", "HPF_DATABASE_URL"):
        env.pop(name, None)
    done = subprocess.run([*HPF, "serve", "--production"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "HPF_SECRET_KEY" in done.stderr and "PostgreSQL" in done.stderr


def test_every_server_setting_comes_from_the_environment(monkeypatch):
    for name, value in {"HPF_WORKERS": "5", "HPF_THREADS": "6", "HPF_KEEPALIVE": "3",
                        "HPF_TIMEOUT": "30", "HPF_MAX_CONNECTIONS": "500", "HPF_PORT": "8123",
                        "HPF_HOST": "0.0.0.0", "HPF_ACCESS_LOG": "/var/log/hpf/access.log"}.items():
        monkeypatch.setenv(name, value)
    settings = serving.settings()
    assert settings["bind"] == ["0.0.0.0:8123"]
    assert (settings["workers"], settings["threads"], settings["keepalive"], settings["timeout"],
            settings["worker_connections"]) == (5, 6, 3, 30, 500)
    assert settings["worker_class"] == "web.serving.HallThreadWorker"
    assert settings["accesslog"] == "/var/log/hpf/access.log"
    assert "%(M)s" in settings["access_log_format"]  # request time, in milliseconds


def test_a_serving_process_leaves_what_startup_made_out_of_full_collections():
    """`settle_heap` (called by `hpf serve` and by every gunicorn worker once the app is
    built): the objects made so far are frozen, what requests make later is collected."""
    startup = [["模块", "模板"]]
    gc.unfreeze()
    try:
        serving.settle_heap()
        later = [["请求"]]
        walked = {id(o) for o in gc.get_objects()}
        assert id(startup) not in walked and id(later) in walked
    finally:
        gc.unfreeze()


def test_seeded_applications_are_copies_of_one_the_engine_finished(ctx, demo):
    figures = seed_scale(units=20, persons_per_unit=3, months=2, applications=60,
                         echo=lambda _: None)

    units = db.session.execute(select(Unit.id).where(Unit.name.like(f"{NAME_PREFIX}%"))
                               .order_by(Unit.id)).scalars().all()
    assert len(units) == 20 and figures["process_instance"] >= 61
    assert db.session.execute(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.unit_id.in_(units), LedgerEntry.account_kind == "P")).scalar_one() == 20 * 3 * 2
    model, *copies = db.session.execute(select(ProcessInstance).where(
        ProcessInstance.unit_id.in_(units)).order_by(ProcessInstance.id)).scalars().all()
    assert len(copies) == 60 and {c.status for c in copies} == {"completed"}
    assert {c.unit_id for c in copies} == set(units)  # spread over the units
    copy = copies[7]
    operator = db.session.execute(select(Operator).where(Operator.unit_id == copy.unit_id)
                                  ).scalar_one()
    assert copy.initiator == f"operator:{operator.id}"
    tasks = db.session.execute(select(HumanTask).where(HumanTask.instance_id == copy.id)
                               .order_by(HumanTask.created_at)).scalars().all()
    assert [t.element_id for t in tasks] == [t.element_id for t in db.session.execute(
        select(HumanTask).where(HumanTask.instance_id == model.id)
        .order_by(HumanTask.created_at)).scalars()]
    assert tasks[0].completed_by == f"operator:{operator.id}"
    # its history names the copied tasks, so the trail and the flowchart read as the model's
    assert {e["type"] for e in queries.history_rows(copy)} == {
        e["type"] for e in queries.history_rows(model)}
    assert queries.diagram(copy)["completed"] == queries.diagram(model)["completed"]
    assert seed_scale(units=20, echo=lambda _: None) == figures  # a second run adds nothing
