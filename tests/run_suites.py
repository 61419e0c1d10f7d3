"""`make test`: the whole suite on SQLite, then on PostgreSQL when 127.0.0.1:5432 answers.
Prints which databases ran; fails if any run fails."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

POSTGRES = os.environ.get("HPF_TEST_POSTGRES",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


def run(label: str, target: str, extra: list[str]) -> int:
    print(f"\n===== 测试套件：{label} =====", flush=True)
    started = time.monotonic()
    code = subprocess.call([sys.executable, "-m", "pytest", *extra],
                           env={**os.environ, "HPF_TEST_DB": target})
    print(f"===== {label}：{'通过' if code == 0 else '失败'}（{time.monotonic() - started:.0f} 秒）=====",
          flush=True)
    return code


def main() -> int:
    extra = sys.argv[1:]
    results = {"SQLite": run("SQLite", "sqlite", extra)}
    if postgres_answers():
        results["PostgreSQL"] = run("PostgreSQL", POSTGRES, extra)
    else:
        print("PostgreSQL 未在 127.0.0.1:5432 应答：仅运行了 SQLite 套件", flush=True)
    print("\n已运行的数据库：" + "、".join(f"{k}（{'通过' if v == 0 else '失败'}）"
                                    for k, v in results.items()))
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
