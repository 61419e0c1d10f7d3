"""Import bench: 10,000- and 100,000-row 缴存人登记 files through the path the API takes
(`engine.manifests.import_file`: read, check every row, refuse clashes, store), against
python-calamine alone reading the same file.

    .venv/bin/python bench/import.py [--sizes 10000 100000] [--postgres]

A demo hall is set up on SQLite (and on PostgreSQL with --postgres, when it answers) by
`hpf init-db`, `seed-demo` and `deploy`; each import runs in a fresh child process, which
reports its wall time and its peak memory above what it held before the import (the
high-water mark of its resident set, as the server's would rise).

Goals: 10,000 rows ≤ 0.5 s, 100,000 rows ≤ 5 s within 200 MB, each ≤ 3× the reader alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

# Run as a script, bench/ would come first on the path and its http.py shadow http.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.hall import ROOT, _app, reader_seconds  # noqa: E402
from tests.people import mobile, resident_id  # noqa: E402
from tests.run_suites import POSTGRES as PG_ADMIN  # noqa: E402
from tests.run_suites import postgres_answers  # noqa: E402

HEADERS = ("姓名", "证件类型", "证件号码", "手机号码", "缴存基数", "个人缴存比例")


def write_file(path: Path, rows: int) -> None:
    """A filled registration file as a unit would send it: text cells, the template's
    columns, made-up people no demo person is."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("开户清册")
    sheet.append(HEADERS)
    for serial in range(rows, 2 * rows):  # each size its own people
        sheet.append([f"职工{serial}", "01", resident_id(serial), mobile(serial),
                      f"{3000 + serial % 20000}.00", "12%" if serial % 3 else ""])
    book.save(path)


def setup(url: str, workdir: Path) -> dict:
    env = {**os.environ, "HPF_DATABASE_URL": url, "HPF_INSTANCE_DIR": str(workdir),
           "HPF_SECRET_KEY": "bench"}
    for command in ("init-db", "seed-demo", "deploy"):  # this checkout's code, not hpf's
        subprocess.run([sys.executable, "-c", "from web.cli import main; main()", command],
                       env=env, check=True, capture_output=True, cwd=ROOT)
    return env


def child(url: str, workdir: Path, path: Path) -> None:
    """One import in this process: prints seconds and peak MB above the resting set."""
    from sqlalchemy import select

    from engine import manifests, runner
    from engine.actors import OPERATOR, Actor
    from services.db import db
    from services.models import Operator

    app = _app(url, workdir)
    with app.app_context():
        op = db.session.execute(select(Operator).order_by(Operator.id).limit(1)).scalar_one()
        operator = Actor(kind=OPERATOR, id=op.id, name=op.name, unit_id=op.unit_id)
        instance = runner.start("registration", op.unit_id, operator)
        db.session.commit()
        content = path.read_bytes()
        resting = _rss_mb()
        started = time.perf_counter()
        result = manifests.import_file(instance.id, operator, content)
        db.session.commit()
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"seconds": seconds, "peak_mb": peak - resting,
                          "imported": result["imported"]}))


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(label: str, url: str, workdir: Path, files: dict[int, Path]) -> None:
    env = setup(url, workdir)
    for rows, path in files.items():
        done = subprocess.run([sys.executable, __file__, "--child", url, str(workdir), str(path)],
                              env=env, capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["imported"] == rows, result
        reader = reader_seconds(path)
        print(f"{label:<11}{rows:>8,} rows  import {result['seconds']:6.2f} s   "
              f"peak +{result['peak_mb']:5.0f} MB   calamine alone {reader:5.2f} s   "
              f"× {result['seconds'] / reader:4.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, workdir, path = args.child
        child(url, Path(workdir), Path(path))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = {}
        for rows in args.sizes:
            files[rows] = work / f"registration_{rows}.xlsx"
            write_file(files[rows], rows)
        (work / "sqlite").mkdir()
        measure("SQLite", f"sqlite:///{work / 'sqlite' / 'hall.db'}", work / "sqlite", files)
        if args.postgres and postgres_answers():
            name = f"hpf_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            try:
                (work / "pg").mkdir()
                measure("PostgreSQL", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", work / "pg", files)
            finally:
                with admin.connect() as connection:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    print("goals: 10,000 rows ≤ 0.5 s; 100,000 rows ≤ 5 s within 200 MB; each ≤ 3× the reader")


if __name__ == "__main__":
    main()
