"""Load benchmark: the hall over HTTP on loopback, the embedded default (`hpf serve`:
waitress, one process, SQLite) against the production stack (`hpf serve --production`:
gunicorn worker processes, PostgreSQL), both on `hpf seed-scale` data.

Prints, per stack, scenario and number of clients (8, 16, 32): requests per second, p50
and p99 latency; the CPU each request cost the server's processes, its database backends
and the load generator (bench/load_client.py: one asyncio process), and the req/s those
costs allow on two otherwise idle cores (the machine is shared: other sessions' load
shows in req/s, hardly in CPU per request); the whole machine's busy share. Then how long
a request takes while 200 idle TCP connections are open, and how often an action found
its workflow in the serving process's cache.

Scenarios: `home` (an operator's 首页), `lists` (已办 and 我发起的 through the API),
`cycle` (a whole base adjustment: start, add a 清册 row, submit; a reviewer claims and
approves: five requests, three of them task completions).

Usage: .venv/bin/python bench/load.py [--duration 5] [--clients 8,16,32]
       [--stacks embedded,production] [--workers 3 --threads 4]  (also: single-pg, one
       waitress process on PostgreSQL, to tell the database's share from the processes')
Databases are made once under /tmp/hpf-bench (SQLite file; PostgreSQL database
hpf_bench_scale on 127.0.0.1:5432) with `hpf init-db` and `hpf seed-scale` (minutes) and
reused. Every run is bounded: each measurement lasts --duration seconds after 1 s of warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # not bench/: its http.py would shadow the standard library

from bench.load_client import SCENARIOS, Client, measure  # noqa: E402

HPF = [sys.executable, "-c", "import sys; sys.argv[0] = 'hpf'; from web.cli import main; main()"]
DATA = Path("/tmp/hpf-bench")
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/hpf_bench_scale"
PASSWORDS = {"operator": "Hall2026demo", "reviewer": "Review2026demo"}


# -- idle connections and the cache ----------------------------------------------------------


def idle_delay(port: int) -> dict:
    """Median and worst time of a plain request, quiet and with 200 idle connections open."""
    def timed() -> float:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            started = time.perf_counter()
            sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            sock.settimeout(15)
            try:
                while sock.recv(65536):
                    pass
            except TimeoutError:
                return 15.0
            return time.perf_counter() - started

    quiet = [timed() for _ in range(7)]
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
    try:
        time.sleep(0.3)
        crowded = [timed() for _ in range(7)]
    finally:
        for sock in idle:
            sock.close()
    return {"quiet": statistics.median(quiet) * 1000, "crowded": statistics.median(crowded) * 1000,
            "worst": max(crowded) * 1000}


def cache_counts(port: int) -> dict[str, float]:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    found = re.findall(r'hpf_workflow_cache_lookups_total\{result="(\w+)"\} ([0-9.e+]+)',
                       data.decode())
    return {result: float(value) for result, value in found}


# -- stacks ---------------------------------------------------------------------------------------


def prepare(url: str, instance: Path) -> None:
    instance.mkdir(parents=True, exist_ok=True)
    env = stack_env(url, instance, 0)
    if url.startswith("postgresql"):
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            if not connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = "
                                              "'hpf_bench_scale'")).scalar():
                connection.execute(sa.text("CREATE DATABASE hpf_bench_scale"))
        admin.dispose()
    for command in (["init-db"], ["seed-scale"]):
        subprocess.run([*HPF, *command], env=env, cwd=ROOT, check=True)


def stack_env(url: str, instance: Path, port: int, **extra) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HPF_DATABASE_URL": url,
           "HPF_INSTANCE_DIR": str(instance), "HPF_PORT": str(port), **extra}
    for name in ("HPF_BROKER_URL", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    return env


def start(args: list[str], env: dict, port: int) -> subprocess.Popen:
    log = open(Path(env["HPF_INSTANCE_DIR"]) / "server.log", "ab")
    process = subprocess.Popen([*HPF, *args], env=env, cwd=ROOT, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def logins(url: str, count: int) -> list[tuple[str, list[str]]]:
    """`count` seeded units: account number and their persons' account numbers."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        units = connection.execute(sa.text(
            "SELECT ua.unit_id, ua.account_no FROM unit_account ua JOIN unit u ON u.id = "
            "ua.unit_id WHERE u.name LIKE '规模测试单位%' ORDER BY ua.unit_id LIMIT :n"),
            {"n": count}).all()
        result = []
        for unit_id, account_no in units:
            persons = connection.execute(sa.text(
                "SELECT account_no FROM person_account WHERE unit_id = :u AND status = '01'"),
                {"u": unit_id}).scalars().all()
            result.append((account_no, list(persons)))
    engine.dispose()
    return result


_ISSUE = """
import json, sys
from pathlib import Path
from services.db import db
from services.ukey.registry import issue_ukey
from web import create_app
app = create_app()
cards = {}
with app.app_context():
    for account in sys.argv[1:]:
        issued = issue_ukey(account, Path(app.config["UKEY_CA_DIR"]),
                            Path(app.config["INSTANCE_DIR"]) / "ukeys")
        cards[account] = {"card_key_file": str(issued.key_file),
                          "certificate_file": str(issued.certificate_file)}
    db.session.commit()
print(json.dumps(cards))
"""
_cards: dict[str, dict[str, dict]] = {}


def ukeys(env: dict, accounts: list[str]) -> dict[str, dict]:
    """A UKey for each unit that logs in (operators log in with one), issued once per
    stack: each stack's data has its own centre CA, and the seeded account numbers are the
    same in both, so a card issued for one stack is foreign to the other."""
    cards = _cards.setdefault(env["HPF_INSTANCE_DIR"], {})
    missing = [a for a in accounts if a not in cards]
    if missing:
        out = subprocess.run([sys.executable, "-c", _ISSUE, *missing], env=env, cwd=ROOT,
                             check=True, capture_output=True, text=True).stdout
        cards.update(json.loads(out.strip().splitlines()[-1]))
    return cards


async def sessions(port: int, units, count: int, env: dict):
    pairs = []
    cards = ukeys(env, [units[i][0] for i in range(count)])
    for index in range(count):
        account_no, persons = units[index]
        user = await Client(port).login({"unit_account": account_no, "login_name": "jbr01",
                                         "password": PASSWORDS["operator"]},
                                        card=cards[account_no])
        user.accounts = persons
        reviewer = await Client(port).login({"login_name": f"shenhe0{index % 2 + 1}",
                                             "password": PASSWORDS["reviewer"]})
        pairs.append((user, reviewer))
    return pairs


def cpu_probe(root: int, url: str):
    """CPU seconds used so far by the server (its whole process tree) and, on PostgreSQL,
    by the backends serving its database: what each request costs, whatever else the
    shared machine is running. A backend that ends between two readings takes its last
    CPU with it (a pool that opens and closes connections is undercounted)."""
    tick = os.sysconf("SC_CLK_TCK")
    engine = sa.create_engine(url) if url.startswith("postgresql") else None
    seen: dict[int, float] = {}  # backend pid: its CPU at the last reading
    used = [0.0]

    def cpu(pid: int) -> tuple[int, float]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / tick  # ppid, utime+stime

    def probe() -> tuple[float, float]:
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stats[int(entry.name)] = cpu(int(entry.name))
                except (OSError, IndexError):
                    pass
        tree, app = {root}, 0.0
        for pid in sorted(stats):  # children have higher pids than their parents here
            if pid in tree or stats[pid][0] in tree:
                tree.add(pid)
                app += stats[pid][1]
        if engine is not None:
            with engine.connect() as connection:
                backends = connection.execute(sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()")).scalars().all()
            for pid in backends:  # a backend new since the last reading counts from birth
                if pid in stats:
                    used[0] += stats[pid][1] - seen.get(pid, 0.0)
                    seen[pid] = stats[pid][1]
        database = used[0]
        return app, database

    return probe


def bench_stack(name: str, serve_args: list[str], env: dict, url: str, options) -> None:
    port = int(env["HPF_PORT"])
    process = start(serve_args, env, port)
    try:
        units = logins(url, max(options.clients))
        probe = cpu_probe(process.pid, url)
        print(f"\n== {name} ==  load average before: {os.getloadavg()[0]:.2f}")
        print(f"{'scenario':<8} {'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'errors':>6} | CPU ms per request: {'app':>5} {'db':>5} {'load gen':>8} | "
              f"{'2-core ceiling':>14} | machine busy")
        before = cache_counts(port)
        for scenario in options.scenarios:
            for clients in options.clients:
                async def one(clients=clients, scenario=scenario):
                    pairs = await sessions(port, units, clients, env)
                    return await measure(SCENARIOS[scenario], pairs, options.duration, probe)
                r = asyncio.run(one())
                ceiling = 2000 / max(r["app_ms"] + r["db_ms"], 0.01)
                print(f"{scenario:<8} {clients:>7} {r['rps']:>7.1f} {r['p50']:>7.1f} "
                      f"{r['p99']:>7.1f} {r['errors']:>6} | {'':>19} {r['app_ms']:>5.1f} "
                      f"{r['db_ms']:>5.1f} {r['generator_ms']:>8.1f} | {ceiling:>8.0f} req/s | "
                      f"{r['machine_cpu'] * 100:.0f} %", flush=True)
        after = cache_counts(port)
        hits = after.get("hit", 0) - before.get("hit", 0)
        misses = after.get("miss", 0) - before.get("miss", 0)
        if hits + misses:
            print(f"workflow cache: {hits:.0f} hits, {misses:.0f} misses "
                  f"({hits * 100 / (hits + misses):.0f} % of actions found their workflow)")
        idle = idle_delay(port)
        print(f"200 idle connections: a request took {idle['crowded']:.1f} ms (median; worst "
              f"{idle['worst']:.1f} ms) against {idle['quiet']:.1f} ms with none")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        stop(process)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--clients", default="8,16,32")
    parser.add_argument("--scenarios", default="home,lists,cycle")
    parser.add_argument("--stacks", default="embedded,production")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: its own)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--worker-class", default="", help="e.g. gthread: gunicorn's own worker")
    options = parser.parse_args()
    options.clients = [int(n) for n in options.clients.split(",")]
    options.scenarios = options.scenarios.split(",")
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()}")
    for stack in options.stacks.split(","):
        if stack == "embedded":
            url, instance = f"sqlite:///{DATA / 'sqlite' / 'hall.db'}", DATA / "sqlite"
            prepare(url, instance)
            env = stack_env(url, instance, free_port())
            bench_stack("embedded default: hpf serve (waitress, 1 process, 8 threads, SQLite)",
                        ["serve"], env, url, options)
        elif stack == "single-pg":  # one process on the production database: the split
            prepare(PG_BENCH, DATA / "pg")
            env = stack_env(PG_BENCH, DATA / "pg", free_port())
            bench_stack("one process on PostgreSQL: hpf serve (waitress, 8 threads)", ["serve"],
                        env, PG_BENCH, options)
        else:
            instance = DATA / "pg"
            prepare(PG_BENCH, instance)
            extra = {"HPF_SECRET_KEY": uuid.uuid4().hex, "HPF_ACCESS_LOG": str(instance / "access.log")}
            if options.workers:
                extra["HPF_WORKERS"] = str(options.workers)
            if options.threads:
                extra["HPF_THREADS"] = str(options.threads)
            if options.worker_class:
                extra["HPF_WORKER_CLASS"] = options.worker_class
            env = stack_env(PG_BENCH, instance, free_port(), **extra)
            from web.serving import settings
            os.environ.update({k: v for k, v in extra.items()})
            conf = settings()
            bench_stack(f"production: hpf serve --production (gunicorn {conf['workers']} × "
                        f"{conf['threads']} threads, {conf['worker_class'].rsplit('.', 1)[-1]}, "
                        "PostgreSQL)", ["serve", "--production"], env, PG_BENCH, options)


if __name__ == "__main__":
    main()
