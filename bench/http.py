"""HTTP benchmark (issue: every action costs the same at any size). Prints, per database:

- median and p95 of each step of a full base adjustment over HTTP (start, add a row,
  submit, claim, approve) and of home and the task lists, one client on a running hall
  (`hpf serve`, waitress), beside the engine's own completion measured in the same run
  (runner.complete + commit in this process, on the same database);
- the same with a 10,000-row 清册 (add and delete a row; import it; approve it, with the
  server's peak memory above its resting memory) and with 10,000 finished applications
  present (home and lists);
- the stored size of one finished two-step application across all tables.

Usage: .venv/bin/python bench/http.py [--cycles N] [--sqlite-only]
Each database is a throw-away one; the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file's folder first on the path would make it the standard library's `http`.
sys.path[0] = str(ROOT)

import sqlalchemy as sa  # noqa: E402

from bench.hall import (  # noqa: E402
    Client,
    Server,
    add_finished_copies,
    add_persons,
    engine_completion_ms,
    import_file,
    reader_seconds,
    stored_bytes,
)
from tests.run_suites import POSTGRES as PG_ADMIN  # noqa: E402
from tests.run_suites import postgres_answers  # noqa: E402

API = "/api/v1"
BIG = 10_000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def figures(samples: dict[str, list[float]]) -> dict[str, tuple[float, float, float]]:
    """Per step: median and p95 wall ms, and the server's mean CPU ms per request (summed
    over every sample: /proc counts CPU in 10 ms ticks)."""
    return {step: (statistics.median(v) * 1000, p95(v) * 1000,
                   statistics.mean(samples.get(f"{step} [cpu]", [0.0])) * 1000)
            for step, v in samples.items() if not step.endswith("[cpu]")}


def cycle(operator: Client, reviewer: Client, persons: list[dict], samples: dict) -> int:
    """One base adjustment: start, add a row, submit, claim, approve; each step timed."""
    started = operator.timed(samples, "start", "POST", f"{API}/processes/base_adjustment/instances",
                             {"data": {}})
    instance_id, task_id = started["instance_id"], started["tasks"][0]["task_id"]
    person = persons[instance_id % len(persons)]
    operator.timed(samples, "add row", "POST", f"{API}/instances/{instance_id}/manifest/rows",
                   {"person_account": person["person_account"],
                    "new_base": str(round(float(person["base"])) + instance_id % 997 + 1)})
    done = operator.timed(samples, "submit (completion)", "POST",
                          f"{API}/tasks/{task_id}/complete", {"data": {"remark": "基准"}})
    review = done["tasks"][0]["task_id"]
    reviewer.timed(samples, "claim", "POST", f"{API}/tasks/{review}/claim", None)
    reviewer.timed(samples, "approve (completion)", "POST", f"{API}/tasks/{review}/complete",
                   {"data": {"decision": "approve", "opinion": "同意"}})
    return instance_id


def reads(operator: Client, reviewer: Client, samples: dict, rounds: int) -> None:
    for _ in range(rounds):
        operator.timed(samples, "home", "GET", "/", None, json_answer=False)
        operator.timed(samples, "已办 list", "GET", "/tasks?list=done", None, json_answer=False)
        operator.timed(samples, "我发起的 list", "GET", "/tasks?list=initiated", None,
                       json_answer=False)
        operator.timed(samples, "已办 (API)", "GET", f"{API}/tasks?list=done", None)
        reviewer.timed(samples, "reviewer desk", "GET", "/centre", None, json_answer=False)


def bench(label: str, url: str, workdir: Path, cycles: int) -> dict:
    server = Server(url, workdir)
    try:
        server.start()
        operator, reviewer = server.operator(), server.reviewer()
        persons = operator.get(f"{API}/persons?status=01&per_page=200")["items"]
        small: dict[str, list[float]] = {}
        for _ in range(3):  # warm up
            cycle(operator, reviewer, persons, {})
        for _ in range(cycles):
            finished = cycle(operator, reviewer, persons, small)
        reads(operator, reviewer, small, cycles)
        engine_ms, engine_cpu = engine_completion_ms(url, workdir, cycles)
        size = stored_bytes(url, finished)

        big: dict[str, list[float]] = {}
        add_finished_copies(url, finished, BIG)
        reads(operator, reviewer, big, cycles)

        unit_id = server.unit_id()
        added = add_persons(url, unit_id, BIG)
        file_path = workdir / "big.xlsx"
        started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
        instance_id, task_id = started["instance_id"], started["tasks"][0]["task_id"]
        resting = server.rss()
        seconds = import_file(operator, instance_id, added, file_path)
        time.sleep(0.5)
        after_import = server.rss()
        reader = reader_seconds(file_path)
        extra = persons[: cycles]
        for offset, person in enumerate(extra):  # add and delete a row of a 10,000-row 清册
            row = operator.timed(big, "add row (10k 清册)", "POST",
                                 f"{API}/instances/{instance_id}/manifest/rows",
                                 {"person_account": person["person_account"],
                                  "new_base": str(round(float(person["base"])) + 1000 + offset)})
            operator.timed(big, "delete row (10k 清册)", "DELETE",
                           f"{API}/instances/{instance_id}/manifest/rows/{row['row_id']}", None)
        submit_started = time.perf_counter()
        done = operator.post(f"{API}/tasks/{task_id}/complete", {"data": {"remark": "一万人"}})
        submit_seconds = time.perf_counter() - submit_started
        review = done["tasks"][0]["task_id"]
        reviewer.post(f"{API}/tasks/{review}/claim", None)
        resting_approve = server.rss()
        with server.peak_rss() as peak:
            approve_started = time.perf_counter()
            reviewer.post(f"{API}/tasks/{review}/complete",
                          {"data": {"decision": "approve", "opinion": "同意"}})
            approve_seconds = time.perf_counter() - approve_started
        return {"label": label, "small": figures(small), "big": figures(big),
                "engine_ms": engine_ms, "engine_cpu": engine_cpu, "stored": size,
                "import": seconds, "reader": reader,
                "import_rss": (after_import - resting) / 2**20, "submit_big": submit_seconds,
                "approve_big": approve_seconds,
                "approve_rss": (peak.value - resting_approve) / 2**20}
    finally:
        server.stop()


def report(r: dict) -> None:
    small, big = r["small"], r["big"]
    print(f"\n== {r['label']} ==   engine's own completion: {r['engine_ms']:.2f} ms median wall, "
          f"{r['engine_cpu']:.2f} ms CPU")
    print(f"{'step':<24}{'median ms':>10}{'p95 ms':>9}{'CPU ms':>9}{'× engine (CPU)':>16}")
    for step, (median, high, cpu) in small.items():
        ratio = f"{cpu / r['engine_cpu']:>16.2f}" if "completion" in step else ""
        print(f"{step:<24}{median:>10.2f}{high:>9.2f}{cpu:>9.2f}{ratio}")
    print("\nwith 10,000 finished applications / a 10,000-row 清册 (× the small figure, CPU)")
    for step, (median, high, cpu) in big.items():
        base = small.get(step) or small.get(step.replace(" (10k 清册)", ""))
        ratio = f"{cpu / base[2]:>16.2f}" if base and base[2] else ""
        print(f"{step:<24}{median:>10.2f}{high:>9.2f}{cpu:>9.2f}{ratio}")
    print(f"\nimport of a 10,000-row file: {r['import']:.3f} s over HTTP; reader alone "
          f"(python-calamine) {r['reader']:.3f} s; × {r['import'] / r['reader']:.2f}; "
          f"server memory after it {r['import_rss']:+.1f} MB")
    print(f"submit a 10,000-row 清册: {r['submit_big']:.3f} s; approve it: {r['approve_big']:.3f} s, "
          f"peak server memory {r['approve_rss']:+.1f} MB above resting")
    print(f"stored: one finished two-step application, every table: {r['stored']} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=60)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "sqlite").mkdir()
        results.append(bench("SQLite", f"sqlite:///{work / 'sqlite' / 'hall.db'}",
                             work / "sqlite", args.cycles))
        if not args.sqlite_only and postgres_answers():
            name = f"hpf_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            try:
                (work / "pg").mkdir()
                url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
                results.append(bench("PostgreSQL", url, work / "pg", args.cycles))
            finally:
                with admin.connect() as connection:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    for result in results:
        report(result)
    print("\ngoals: HTTP completion ≤ 2.5× the engine's own; home ≤ 5 ms; with 10,000 rows or "
          "applications: add/delete ≤ 2× empty, lists and home ≤ 1.3×, approve ≤ 1 s and "
          "≤ 100 MB; import ≤ 3× the reader; a finished application ≤ 4 KB")


if __name__ == "__main__":
    main()
