"""Restore drill: back up, change things, restore; exactly the changes made after the
backup are gone (every table compared row by row), through the real `hpf backup` and
`hpf restore` (SQLite's online backup API; pg_dump / pg_restore on PostgreSQL)."""

from __future__ import annotations

import subprocess

from sqlalchemy import delete, select, update

from engine import runner
from services.db import Base, db
from services.models import Message, PersonAccount

from .helpers import HPF, hpf_env, operator


def snapshot() -> dict[str, list[tuple]]:
    tables = {}
    for table in Base.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        tables[table.name] = [tuple(row) for row in
                              db.session.execute(select(table).order_by(*order)).all()]
    db.session.rollback()
    return tables


def hpf(ctx, tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = hpf_env(HPF_DATABASE_URL=ctx.config["SQLALCHEMY_DATABASE_URI"],
                  HPF_INSTANCE_DIR=str(tmp_path))
    return subprocess.run([*HPF, *args], env=env, capture_output=True, text=True, timeout=120)


def test_a_restore_takes_back_exactly_what_changed_after_the_backup(ctx, demo, tmp_path):
    actor = operator(demo)
    before_backup = runner.start("base_adjustment", actor.unit_id, actor).id
    db.session.add(Message(unit_id=actor.unit_id, business="测试", content="备份前的消息"))
    db.session.commit()
    kept = snapshot()
    dump = tmp_path / "hall.backup"

    done = hpf(ctx, tmp_path, "backup", str(dump))
    assert done.returncode == 0, done.stderr
    assert dump.stat().st_size > 0
    again = hpf(ctx, tmp_path, "backup", str(dump))
    assert again.returncode != 0 and "已存在" in again.stderr  # never overwrites a backup

    # after the backup: a new application, a row changed, a row deleted
    other = operator(demo, unit=1)
    runner.start("base_adjustment", other.unit_id, other)
    db.session.execute(update(PersonAccount).where(PersonAccount.unit_id == actor.unit_id)
                       .values(base=PersonAccount.base + 1))
    db.session.execute(delete(Message).where(Message.content == "备份前的消息"))
    db.session.commit()
    assert snapshot() != kept
    db.session.remove()
    db.engine.dispose()  # as the runbook says: stop the hall before restoring

    done = hpf(ctx, tmp_path, "restore", "--yes", str(dump))
    assert done.returncode == 0, done.stderr

    assert snapshot() == kept
    assert before_backup in {row[0] for row in kept["process_instance"]}
