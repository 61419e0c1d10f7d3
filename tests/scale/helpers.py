"""Steps the scale tests share: the demo's actors, polling a job, starting the hall's
own commands from this checkout."""

from __future__ import annotations

import os
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from engine import manifests, runner
from engine.actors import Actor
from engine.models import HumanTask
from services.db import db
from services.models import Operator, PersonAccount, Staff, UnitAccount

ROOT = Path(__file__).resolve().parents[2]
#: `hpf` as this checkout has it (the venv's script may point at another checkout).
HPF = [sys.executable, "-c", "import sys; sys.argv[0] = 'hpf'; from web.cli import main; main()"]


def hpf_env(**values: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **values}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def operator(demo: dict, unit: int = 0) -> Actor:
    account_no = demo["units"][unit]["unit_account"]
    row = db.session.execute(select(Operator).join(UnitAccount, UnitAccount.unit_id == Operator.unit_id)
                             .where(UnitAccount.account_no == account_no)
                             .order_by(Operator.id)).scalars().first()
    return Actor(kind="operator", id=row.id, name=row.name, unit_id=row.unit_id)


def reviewer(demo: dict, index: int = 0) -> Actor:
    login = demo["reviewers"][index]["login_name"]
    row = db.session.execute(select(Staff).where(Staff.login_name == login)).scalar_one()
    return Actor(kind="staff", id=row.id, name=row.name, groups=frozenset({row.group}),
                 role=row.role)


def submitted(demo, claim: bool = False, unit: int = 0) -> str:
    """A base adjustment waiting for the centre; returns its review task id."""
    actor = operator(demo, unit)
    instance = runner.start("base_adjustment", actor.unit_id, actor)
    account = db.session.execute(select(PersonAccount).where(
        PersonAccount.unit_id == actor.unit_id, PersonAccount.status == "01")
        .order_by(PersonAccount.id)).scalars().first()
    manifests.add_row(instance.id, actor, {"person_account": account.account_no,
                                           "new_base": str(account.base + 1)})
    edit = db.session.execute(select(HumanTask.id).where(
        HumanTask.instance_id == instance.id, HumanTask.state == "ready")).scalar_one()
    runner.complete(edit, actor, {"remark": ""})
    review = db.session.execute(select(HumanTask.id).where(
        HumanTask.instance_id == instance.id, HumanTask.state == "ready")).scalar_one()
    if claim:
        runner.claim(review, reviewer(demo))
    db.session.commit()
    return review


def wait_for_job(get_status, seconds: float = 30) -> dict:
    """Poll a job's status (a callable returning its JSON) until it is done or failed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = get_status()
        if status["state"] in ("done", "failed"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"job still {status['state']} after {seconds} s")


def idle_connection_delay(port: int, request: Callable[[], None], samples: int,
                          settle: float, idle: int = 200) -> tuple[float, float]:
    """Median seconds `request()` takes alone, then with `idle` TCP connections open to
    `port` that never send a byte (opened `settle` seconds before measuring)."""
    def timed() -> float:
        started = time.perf_counter()
        request()
        return time.perf_counter() - started

    alone = statistics.median(timed() for _ in range(samples))
    sockets = []
    try:
        for _ in range(idle):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        time.sleep(settle)
        crowded = statistics.median(timed() for _ in range(samples))
    finally:
        for sock in sockets:
            sock.close()
    return alone, crowded
