"""`make test`: the whole suite on SQLite and, when 127.0.0.1:5432 answers, on PostgreSQL.

The two runs go side by side (each suite is mostly one Python process waiting on its
database, its browser or its card reader, and the machine has two cores); each writes to
its own log, printed whole when it ends. Prints which databases ran; fails if any run
fails."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POSTGRES = os.environ.get("HPF_TEST_POSTGRES",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


def start(label: str, target: str, extra: list[str], log: Path) -> subprocess.Popen:
    print(f"===== 测试套件：{label} 开始（日志 {log}）=====", flush=True)
    # The slowest tests are listed at the end of each log, to keep the suite's time in view.
    return subprocess.Popen([sys.executable, "-m", "pytest", "--durations=30", *extra],
                            env={**os.environ, "HPF_TEST_DB": target},
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def main() -> int:
    extra = sys.argv[1:]
    suites = {"SQLite": "sqlite"}
    if postgres_answers():
        suites["PostgreSQL"] = POSTGRES
    else:
        print("PostgreSQL 未在 127.0.0.1:5432 应答：仅运行 SQLite 套件", flush=True)
    started = time.monotonic()
    logs = Path(tempfile.mkdtemp(prefix="hpf-suites-"))
    running = {label: start(label, target, extra, logs / f"{label}.log")
               for label, target in suites.items()}
    results = {}
    for label, process in running.items():
        code = process.wait()
        results[label] = code
        print(f"\n===== {label} =====", flush=True)
        print((logs / f"{label}.log").read_text(errors="replace"), flush=True)
        print(f"===== {label}：{'通过' if code == 0 else '失败'}"
              f"（{time.monotonic() - started:.0f} 秒）=====", flush=True)
    print("\n已运行的数据库：" + "、".join(f"{k}（{'通过' if v == 0 else '失败'}）"
                                    for k, v in results.items()))
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
