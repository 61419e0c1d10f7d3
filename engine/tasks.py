"""The task centre's lists (待办 / 已办 / 我发起的, and the reviewers' group queue): each
one indexed query on the task index or the instance table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from services.clock import iso, on_days
from services.db import count_capped, db
from services.errors import InvalidInput
from services.models import Unit, UnitAccount

from .actors import EMPLOYER_LANE, Actor
from .models import DONE, READY, STATUS_NAMES, HumanTask, ProcessInstance

LISTS = ("todo", "done", "initiated", "group")


@dataclass
class Filters:
    process_key: str | None = None
    since: date | None = None
    until: date | None = None


def task_query(actor: Actor, which: str):
    q = select(HumanTask)
    if which == "todo" and actor.is_operator:
        return q.where(HumanTask.unit_id == actor.unit_id, HumanTask.lane == EMPLOYER_LANE,
                       HumanTask.state == READY), HumanTask.created_at
    if which == "todo":
        return q.where(HumanTask.state == READY, HumanTask.assignee == actor.key), \
            HumanTask.created_at
    if which == "group" and actor.is_staff:
        return q.where(HumanTask.candidate_group.in_(sorted(actor.groups) or [""]),
                       HumanTask.state == READY, HumanTask.assignee.is_(None)), \
            HumanTask.created_at
    if which == "done" and actor.is_operator:
        return q.where(HumanTask.unit_id == actor.unit_id, HumanTask.lane == EMPLOYER_LANE,
                       HumanTask.state == DONE), HumanTask.completed_at
    if which == "done":
        return q.where(HumanTask.completed_by == actor.key, HumanTask.state == DONE), \
            HumanTask.completed_at
    raise InvalidInput("列表类型无效", {"list": [f"须为以下之一：{'、'.join(LISTS)}"]})


def list_tasks(actor: Actor, which: str, page: int = 1, per_page: int = 10,
               filters: Filters | None = None) -> tuple[list[dict], int]:
    filters = filters or Filters()
    if which == "initiated":
        return _initiated(actor, page, per_page, filters)
    query, order = task_query(actor, which)
    if filters.process_key:
        query = query.where(HumanTask.process_key == filters.process_key)
    query = query.where(*on_days(order, filters.since, filters.until))
    total = count_capped(query)
    rows = db.session.execute(query.order_by(order.desc(), HumanTask.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).scalars().all()
    names = _business_names({r.instance_id for r in rows})
    result = []
    for r in rows:
        business, unit_name, unit_account = names.get(r.instance_id, ("", "", ""))
        result.append(task_dict(r, business, (unit_name, unit_account)))
    if which in ("todo", "group"):
        opinions = _latest_opinions({r.instance_id for r in rows})
        for item in result:
            item["opinion"] = opinions.get(item["instance_id"])
    return result, total


def task_dict(row: HumanTask, business: str = "", unit: tuple[str, str] = ("", "")) -> dict:
    return {"task_id": row.id, "instance_id": row.instance_id, "process_key": row.process_key,
            "business": business, "unit_name": unit[0], "unit_account": unit[1],
            "title": row.title, "lane": row.lane, "state": row.state,
            "assignee": row.assignee_name, "created_at": iso(row.created_at),
            "completed_at": iso(row.completed_at), "completed_by": row.completed_by_name,
            "decision": row.decision, "opinion": row.opinion}


def _initiated(actor: Actor, page: int, per_page: int, filters: Filters):
    """我发起的: the unit's applications, one row per instance."""
    query = select(ProcessInstance).where(ProcessInstance.unit_id == (actor.unit_id or -1))
    if filters.process_key:
        query = query.where(ProcessInstance.process_key == filters.process_key)
    query = query.where(*on_days(ProcessInstance.created_at, filters.since, filters.until))
    total = count_capped(query)
    rows = db.session.execute(query.order_by(ProcessInstance.created_at.desc(),
                                             ProcessInstance.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).scalars().all()
    latest = _latest_tasks([r.id for r in rows])
    result = []
    for instance in rows:
        task = latest.get(instance.id)
        result.append({
            "task_id": task.id if task else None, "instance_id": instance.id,
            "process_key": instance.process_key, "business": instance.title,
            "title": instance.title, "lane": task.lane if task else None,
            "state": instance.status, "state_name": STATUS_NAMES.get(instance.status),
            "current": task.title if task and task.state == READY else None,
            "created_at": iso(instance.created_at), "completed_at": iso(instance.ended_at),
            "completed_by": instance.initiator_name, "initiator": instance.initiator_name,
            "decision": task.decision if task else None,
            "opinion": task.opinion if task else None,
            "summary": json.loads(instance.summary_json or "{}")})
    return result, total


def _latest_tasks(instance_ids: list[int]) -> dict[int, HumanTask]:
    if not instance_ids:
        return {}
    rows = db.session.execute(select(HumanTask).where(HumanTask.instance_id.in_(instance_ids))
                              .order_by(HumanTask.created_at)).scalars()
    return {row.instance_id: row for row in rows}


def _latest_opinions(instance_ids: set[int]) -> dict[int, str]:
    """The latest opinion written in each application (e.g. why it was returned)."""
    if not instance_ids:
        return {}
    rows = db.session.execute(select(HumanTask.instance_id, HumanTask.opinion).where(
        HumanTask.instance_id.in_(instance_ids), HumanTask.opinion.is_not(None),
        HumanTask.decision.is_not(None)).order_by(HumanTask.completed_at)).all()
    return dict(rows)


def _business_names(instance_ids: set[int]) -> dict[int, tuple[str, str, str]]:
    """Per instance: the business name and the applying unit's name and account number
    (reviewers see many units' applications side by side)."""
    if not instance_ids:
        return {}
    rows = db.session.execute(
        select(ProcessInstance.id, ProcessInstance.title, Unit.name, UnitAccount.account_no)
        .join(Unit, Unit.id == ProcessInstance.unit_id)
        .outerjoin(UnitAccount, UnitAccount.unit_id == Unit.id)
        .where(ProcessInstance.id.in_(instance_ids))).all()
    return {row[0]: (row[1], row[2], row[3] or "") for row in rows}
