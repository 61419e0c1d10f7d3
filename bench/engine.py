"""Engine benchmark (issue: the workflow engine). Prints, for SQLite and PostgreSQL:

- task completions per second through the engine (load with lock, validate the form,
  run, save with revision check, task index and history, commit), and
- the same completions in raw, in-memory SpiffWorkflow (deserialize, run, serialize), and
  the ratio between the two;
- the stored state of a base adjustment under review whose 清册 has 10,000 rows.

Usage: .venv/bin/python bench/engine.py [--completions N] [--sqlite-only]
Each database is a throw-away one (a temp SQLite file; a temp PostgreSQL database on
127.0.0.1:5432 when it answers).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # not bench/: its http.py would shadow the standard library

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import select  # noqa: E402

from engine import cache, runner, store  # noqa: E402
from engine.actors import OPERATOR, STAFF, Actor  # noqa: E402
from engine.deploy import deploy, deploy_directory  # noqa: E402
from engine.models import READY, HumanTask, ProcessInstance  # noqa: E402
from engine.script_engine import SCRIPT_ENGINE  # noqa: E402
from engine.serializer import dump_workflow, load_workflow  # noqa: E402
from services import manifest_rows  # noqa: E402
from services.db import db  # noqa: E402
from services.demo import seed_demo  # noqa: E402
from services.models import Operator, PersonAccount, Staff  # noqa: E402
from tests.run_suites import POSTGRES as PG_ADMIN  # noqa: E402
from tests.run_suites import postgres_answers  # noqa: E402
from web import create_app  # noqa: E402
from web.migrate import upgrade  # noqa: E402

CYCLES = 5  # each instance: fill/confirm reject ×(CYCLES-1), then fill/confirm approve


def data_for(element: str, last: bool) -> dict:
    if element == "confirm":
        return {"decision": "approve"} if last else {"decision": "reject", "opinion": "再核对一次"}
    return {"remark": "基准测试"}


def engine_run(operator: Actor, completions: int, cold: bool = False) -> float:
    """Completions per second through runner.complete, one committed transaction each.
    Warm: the workflow the last action saved is still in this process's cache (engine/cache.py),
    as when one server handles an application; cold: the cache is emptied before each
    completion, so each one deserializes the state as raw SpiffWorkflow does."""
    per_instance = 2 * CYCLES
    instances = max(1, completions // per_instance)
    elapsed = 0.0
    for _ in range(instances):
        instance = runner.start("bench_loop", operator.unit_id, operator)
        db.session.commit()
        for step in range(per_instance):
            task = db.session.execute(select(HumanTask).where(
                HumanTask.instance_id == instance.id, HumanTask.state == READY)).scalar_one()
            data = data_for(task.element_id, step == per_instance - 1)
            task_id = task.id
            db.session.expire_all()
            if cold:
                cache.clear()
            started = time.perf_counter()
            runner.complete(task_id, operator, data)
            db.session.commit()
            elapsed += time.perf_counter() - started
    return instances * per_instance / elapsed


STANDARD = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def standard_load(state: str, spec, subprocess_specs, script_engine):
    workflow = STANDARD.deserialize_json(state)
    workflow.script_engine = script_engine
    return workflow


def raw_run(completions: int, load=load_workflow, dump=dump_workflow) -> float:
    """The same completions in SpiffWorkflow alone, state kept as a JSON string: by default
    with the engine's spec-less serializer (so the ratio is the engine's own overhead);
    `standard_load`/`STANDARD.serialize_json` is SpiffWorkflow's serializer as it ships."""
    definition = store.latest_definition("bench_loop")
    per_instance = 2 * CYCLES
    instances = max(1, completions // per_instance)
    elapsed = 0.0
    for _ in range(instances):
        workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs,
                                script_engine=SCRIPT_ENGINE)
        workflow.do_engine_steps()
        state = dump(workflow)
        for step in range(per_instance):
            started = time.perf_counter()
            workflow = load(state, definition.spec, definition.subprocess_specs, SCRIPT_ENGINE)
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update(data_for(task.task_spec.bpmn_id, step == per_instance - 1))
            task.run()
            workflow.do_engine_steps()
            state = dump(workflow)
            elapsed += time.perf_counter() - started
    return instances * per_instance / elapsed


def big_manifest_state(operator: Actor, reviewer: Actor, rows: int) -> tuple[int, float]:
    """Stored state (bytes) of a base adjustment under review with a `rows`-row 清册, and
    the seconds to submit and approve it."""
    instance = runner.start("base_adjustment", operator.unit_id, operator)
    db.session.commit()
    accounts = db.session.execute(select(PersonAccount).where(
        PersonAccount.unit_id == operator.unit_id, PersonAccount.status == "01")).scalars().all()
    month = str(instance_due_month(instance))
    values = []
    for index in range(rows):
        account = accounts[index % len(accounts)]
        values.append(manifest_rows.NewRow(f"bench-{index}", account.id, {
            "person_account": account.account_no, "name": account.person.name,
            "id_number": account.person.id_number, "old_base": str(account.base),
            "old_person_rate": str(account.person_rate), "old_monthly": str(account.monthly_amount),
            "new_base": "6000.00", "new_person_rate": str(account.person_rate),
            "new_unit_amount": "720.00", "new_person_amount": "720.00", "new_monthly": "1440.00",
            "effective_month": month}, account.monthly_amount))
    manifest_rows.add_rows(instance.id, "base_adjustment", values)
    db.session.commit()
    started = time.perf_counter()
    task = ready_task(instance.id)
    runner.complete(task, operator, {"remark": "一万行清册"})
    db.session.commit()
    state = db.session.execute(select(ProcessInstance.state).where(
        ProcessInstance.id == instance.id)).scalar_one()
    review = ready_task(instance.id)
    runner.claim(review, reviewer)
    db.session.commit()
    runner.complete(review, reviewer, {"decision": "approve", "opinion": "同意"})
    db.session.commit()
    seconds = time.perf_counter() - started
    return len(state.encode("utf-8")), seconds


def instance_due_month(instance):
    from services.units import get_unit
    return get_unit(instance.unit_id).account.due_month


def ready_task(instance_id: int) -> str:
    return db.session.execute(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.state == READY)).scalar_one()


def actors() -> tuple[Actor, Actor]:
    op = db.session.execute(select(Operator).order_by(Operator.id).limit(1)).scalar_one()
    rv = db.session.execute(select(Staff).where(Staff.role == "reviewer")
                            .order_by(Staff.id).limit(1)).scalar_one()
    return (Actor(kind=OPERATOR, id=op.id, name=op.name, unit_id=op.unit_id),
            Actor(kind=STAFF, id=rv.id, name=rv.name, groups=frozenset({rv.group})))


def bench(label: str, url: str, workdir: Path, completions: int, repeats: int) -> dict:
    upgrade(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(workdir),
                      "DEPLOY_ON_START": False, "SECRET_KEY": "bench"})
    with app.app_context():
        seed_demo(workdir)
        deploy_directory(ROOT / "bpmn-diagrams", "bench")
        path = ROOT / "bench" / "diagrams" / "bench_loop.bpmn"
        deploy(path.read_bytes(), path.name, "bench")
        db.session.commit()
        operator, reviewer = actors()
        engine_run(operator, 40)  # warm up caches and connections
        raw_run(40)
        engine_rates, cold_rates, raw_rates, standard_rates = [], [], [], []
        for _ in range(repeats):  # interleaved, so machine noise hits all four alike
            engine_rates.append(engine_run(operator, completions))
            cold_rates.append(engine_run(operator, completions, cold=True))
            raw_rates.append(raw_run(completions))
            standard_rates.append(raw_run(completions, standard_load, STANDARD.serialize_json))
        size, seconds = big_manifest_state(operator, reviewer, 10_000)
        db.session.remove()
        db.engine.dispose()
    engine_rate, raw_rate = statistics.median(engine_rates), statistics.median(raw_rates)
    cold_rate, standard_rate = statistics.median(cold_rates), statistics.median(standard_rates)
    return {"label": label, "engine": engine_rate, "cold": cold_rate, "raw": raw_rate,
            "ratio": raw_rate / engine_rate, "cold_ratio": raw_rate / cold_rate,
            "standard": standard_rate, "standard_ratio": standard_rate / engine_rate,
            "state": size, "big_seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--completions", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results.append(bench("SQLite", f"sqlite:///{work / 'bench.db'}", work, args.completions,
                             args.repeats))
        if not args.sqlite_only and postgres_answers():
            name = f"hpf_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            try:
                url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
                (work / "pg").mkdir()
                results.append(bench("PostgreSQL", url, work / "pg", args.completions,
                                     args.repeats))
            finally:
                with admin.connect() as connection:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    print("\ncompletions per second (median); ratio = raw rate / engine rate")
    print(f"{'database':<12}{'engine':>8}{'cold':>7}{'raw, spec-less':>16}{'ratio':>7}{'cold':>6}"
          f"{'raw, standard':>15}{'ratio':>7}{'state, 10k-row 清册':>21}{'submit+review':>15}")
    for r in results:
        print(f"{r['label']:<12}{r['engine']:>8.0f}{r['cold']:>7.0f}{r['raw']:>16.0f}"
              f"{r['ratio']:>7.2f}{r['cold_ratio']:>6.2f}{r['standard']:>15.0f}"
              f"{r['standard_ratio']:>7.2f}{r['state'] / 1024:>18.1f} KB{r['big_seconds']:>13.2f} s")
    print(f"\nengine: the next action finds the workflow in memory (engine/cache.py); cold: it"
          f"\ndeserializes the stored state every time (after a restart, or another process acted)."
          f"\nraw, spec-less: SpiffWorkflow with the engine's serializer (spec stored once);"
          f"\nraw, standard: SpiffWorkflow's BpmnWorkflowSerializer as shipped (spec in the JSON)."
          f"\ngoal: ratio ≤ 2, ≥ 300 completions/s on SQLite, stored state ≤ 50 KB "
          f"({args.completions} completions × {args.repeats} runs)")


if __name__ == "__main__":
    main()
