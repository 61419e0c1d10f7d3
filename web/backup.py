"""`hpf backup DEST` and `hpf restore SRC`.

SQLite (the embedded default): SQLite's online backup API, page by page, consistent
while the hall keeps serving; a restore copies the file back the same way.
PostgreSQL: `pg_dump --format=custom` (a consistent snapshot; the hall keeps serving)
and `pg_restore --clean --if-exists --single-transaction` (all or nothing). Stop the
hall and its workers before a restore: a restore takes every table's lock. For
point-in-time recovery, archive the WAL as the README describes; a dump alone restores
to the moment it was taken.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from services.errors import HallError


class BackupError(HallError):
    status = 500
    code = "backup_failed"


def backup(url: str, dest: Path, progress: Callable[[int, int], None] | None = None) -> Path:
    dest = Path(dest)
    if dest.exists():
        raise BackupError(f"备份文件已存在：{dest}（请换一个文件名，以免覆盖旧备份）")
    dest.parent.mkdir(parents=True, exist_ok=True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_copy(Path(parsed.database), dest, progress, check_source=False)
    else:
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dest}"], url)
    return dest


def restore(url: str, src: Path, progress: Callable[[int, int], None] | None = None) -> None:
    src = Path(src)
    if not src.is_file():
        raise BackupError(f"找不到备份文件：{src}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_copy(src, Path(parsed.database), progress, check_source=True)
    else:
        _run(["pg_restore", "--clean", "--if-exists", "--single-transaction", "--no-owner",
              "--exit-on-error", str(src)], url)


def _sqlite_copy(source: Path, target: Path, progress, check_source: bool) -> None:
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        if check_source and not reader.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
            raise BackupError(f"{source} 不是本系统的数据库备份")
        writer = sqlite3.connect(target, timeout=30)
        try:
            reader.backup(writer, pages=4096,
                          progress=(lambda status, remaining, total:
                                    progress(total - remaining, total)) if progress else None)
        finally:
            writer.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"数据库文件无法读取：{exc}") from exc
    finally:
        reader.close()


def _run(command: list[str], url: str) -> None:
    """A PostgreSQL client tool against the database the URL names; the password goes
    through the environment, not the command line others can read."""
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupError(f"未找到 {command[0]}，请安装 PostgreSQL 客户端（postgresql-client）")
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    target = parsed.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)
    done = subprocess.run([tool, *command[1:], f"--dbname={target}"], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} 失败：{done.stderr.strip()[-500:]}")
