"""Shared steps of the 信息变更 tests (单位 and 缴存人)."""

from __future__ import annotations

from sqlalchemy import select

from services.db import db
from services.models import ChangeRecord

from .helpers import add, start  # noqa: F401  (the 信息变更 tests take them from here)

API = "/api/v1"


def todo_task(api, instance_id: int) -> str:
    todo = api.get(f"{API}/tasks?list=todo&per_page=100").json["items"]
    return next(t["task_id"] for t in todo if t["instance_id"] == instance_id)


def complete(api, task_id: str, **data):
    return api.post(f"{API}/tasks/{task_id}/complete", {"data": data})


def status(api, instance_id: int) -> str:
    return api.get(f"{API}/instances/{instance_id}").json["status"]


def records(app, subject: str, field: str) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(
            select(ChangeRecord.old_value, ChangeRecord.new_value, ChangeRecord.business)
            .where(ChangeRecord.subject == subject, ChangeRecord.field == field)
            .order_by(ChangeRecord.id)).all()]
