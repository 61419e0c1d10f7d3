"""Studio benchmark (issue 15: the analyst's studio). Prints, on a throw-away SQLite
database (and PostgreSQL on 127.0.0.1:5432 when it answers):

- how long validating the base-adjustment diagram with a second review takes (what 校验,
  部署 and every dry run do first);
- dry-run throughput: finished applications replayed from history on that diagram, per
  second (each in its own rolled-back savepoint, its service tasks run for real).

Usage: .venv/bin/python bench/studio.py [--applications N] [--sqlite-only]
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
# Run as a script, bench/ comes first on the path, where bench/http.py would hide the
# standard library's http package from everything that imports it (werkzeug).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from engine import dryrun, manifests, runner  # noqa: E402
from engine.actors import OPERATOR, STAFF, Actor  # noqa: E402
from engine.deploy import deploy_directory  # noqa: E402
from engine.models import READY, HumanTask  # noqa: E402
from engine.validate import validate  # noqa: E402
from services.db import db  # noqa: E402
from services.demo import seed_demo  # noqa: E402
from services.models import Operator, PersonAccount, Staff  # noqa: E402
from tests.run_suites import POSTGRES as PG_ADMIN  # noqa: E402
from tests.run_suites import postgres_answers  # noqa: E402
from web import create_app  # noqa: E402
from web.migrate import upgrade  # noqa: E402

TWO_REVIEWS = (ROOT / "tests" / "diagrams" / "base_adjustment_two_reviews.bpmn").read_bytes()


def actors() -> tuple[Actor, Actor]:
    op = db.session.execute(select(Operator).order_by(Operator.id).limit(1)).scalar_one()
    reviewer = db.session.execute(select(Staff).where(Staff.role == "reviewer")
                                  .order_by(Staff.id).limit(1)).scalar_one()
    return (Actor(kind=OPERATOR, id=op.id, name=op.name, unit_id=op.unit_id),
            Actor(kind=STAFF, id=reviewer.id, name=reviewer.name,
                  groups=frozenset({reviewer.group})))


def ready(instance_id: int) -> str:
    return db.session.execute(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.state == READY)).scalar_one()


def application(operator: Actor, reviewer: Actor, person: PersonAccount) -> int:
    """One base adjustment of one row, submitted and approved."""
    instance = runner.start("base_adjustment", operator.unit_id, operator)
    manifests.add_row(instance.id, operator, {"person_account": person.account_no,
                                              "new_base": str(person.base + 1)})
    runner.complete(ready(instance.id), operator, {"remark": "基准测试"})
    review = ready(instance.id)
    runner.claim(review, reviewer)
    runner.complete(review, reviewer, {"decision": "approve", "opinion": "同意"})
    db.session.commit()
    return instance.id


def bench(label: str, url: str, workdir: Path, count: int, repeats: int) -> dict:
    upgrade(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(workdir),
                      "DEPLOY_ON_START": False, "SECRET_KEY": "bench"})
    with app.app_context():
        seed_demo(workdir)
        deploy_directory(ROOT / "bpmn-diagrams", "bench")
        db.session.commit()
        operator, reviewer = actors()
        person = db.session.execute(select(PersonAccount).where(
            PersonAccount.unit_id == operator.unit_id, PersonAccount.status == "01")
            .order_by(PersonAccount.id).limit(1)).scalar_one()
        for _ in range(count):
            application(operator, reviewer, person)
        validations, replays = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            assert validate(TWO_REVIEWS, "base_adjustment").ok
            validations.append(time.perf_counter() - started)
            started = time.perf_counter()
            outcomes = dryrun.dry_run("base_adjustment", TWO_REVIEWS, limit=count)
            replays.append(len(outcomes) / (time.perf_counter() - started))
        db.session.remove()
        db.engine.dispose()
    return {"label": label, "validate_ms": statistics.median(validations) * 1000,
            "replays": statistics.median(replays), "count": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results.append(bench("SQLite", f"sqlite:///{work / 'bench.db'}", work,
                             args.applications, args.repeats))
        if not args.sqlite_only and postgres_answers():
            name = f"hpf_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            try:
                (work / "pg").mkdir()
                results.append(bench("PostgreSQL", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}",
                                     work / "pg", args.applications, args.repeats))
            finally:
                with admin.connect() as connection:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    print(f"\nmedian of {args.repeats} runs, {args.applications} finished applications")
    print(f"{'database':<12}{'validate (ms)':>15}{'dry run (applications/s)':>27}")
    for r in results:
        print(f"{r['label']:<12}{r['validate_ms']:>15.1f}{r['replays']:>27.1f}")


if __name__ == "__main__":
    main()
