"""The task centre's lists (待办 / 已办 / 我发起的, and the reviewers' group queue): each
one indexed query on the task index or the instance table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, null, select
from sqlalchemy.orm import aliased, defer

from services.clock import day_bounds, iso
from services.db import db, page_statements, prepared, run_page
from services.errors import InvalidInput
from services.models import Unit, UnitAccount

from . import registry
from .actors import EMPLOYER_LANE, Actor
from .models import DONE, READY, STATUS_NAMES, HumanTask, ProcessInstance

LISTS = ("todo", "done", "initiated", "group")


@dataclass
class Filters:
    process_key: str | None = None
    since: date | None = None
    until: date | None = None


def task_query(actor: Actor, which: str):
    """The list's query and its order column, its values bound by `_params`."""
    q = select(HumanTask)
    if which == "todo" and actor.is_operator:
        return q.where(HumanTask.unit_id == bindparam("unit_id"),
                       HumanTask.lane == EMPLOYER_LANE, HumanTask.state == READY), \
            HumanTask.created_at
    if which == "todo":
        return q.where(HumanTask.state == READY, HumanTask.assignee == bindparam("who")), \
            HumanTask.created_at
    if which == "group" and actor.is_staff:
        return q.where(HumanTask.candidate_group.in_(bindparam("groups", expanding=True)),
                       HumanTask.state == READY, HumanTask.assignee.is_(None)), \
            HumanTask.created_at
    if which == "done" and actor.is_operator:
        return q.where(HumanTask.unit_id == bindparam("unit_id"),
                       HumanTask.lane == EMPLOYER_LANE, HumanTask.state == DONE), \
            HumanTask.completed_at
    if which == "done":
        return q.where(HumanTask.completed_by == bindparam("who"), HumanTask.state == DONE), \
            HumanTask.completed_at
    raise InvalidInput("列表类型无效", {"list": [f"须为以下之一：{'、'.join(LISTS)}"]})


def _params(actor: Actor, filters: Filters) -> dict:
    since, until = day_bounds(filters.since, filters.until)
    return {"unit_id": actor.unit_id or -1, "who": actor.key,
            "groups": sorted(actor.groups) or [""], "process_key": filters.process_key,
            "since": since, "until": until}


def _filtered(query, order, filters: Filters, key_column):
    if filters.process_key:
        query = query.where(key_column == bindparam("process_key"))
    if filters.since:
        query = query.where(order >= bindparam("since"))
    if filters.until:
        query = query.where(order < bindparam("until"))
    return query


def _shape(actor: Actor, which: str, filters: Filters) -> tuple:
    return (__name__, which, actor.kind, bool(filters.process_key), bool(filters.since),
            bool(filters.until))


#: The application's latest opinion (e.g. why it was returned), beside each waiting task.
_DECIDED = aliased(HumanTask)
_LATEST_OPINION = (
    select(_DECIDED.opinion)
    .where(_DECIDED.instance_id == HumanTask.instance_id, _DECIDED.opinion.is_not(None),
           _DECIDED.decision.is_not(None))
    .order_by(_DECIDED.completed_at.desc()).limit(1).correlate(HumanTask).scalar_subquery())


def list_tasks(actor: Actor, which: str, page: int = 1, per_page: int = 10,
               filters: Filters | None = None, count: bool = True
               ) -> tuple[list[dict], int | None]:
    """A page of a list and how many it holds (up to LIST_COUNT_CAP; None with count=False,
    for previews that show no total). Each list's statements are built once per process
    (`prepared`); a request only binds its values. What a row shows besides its task (the
    latest opinion of a waiting one; for centre staff the business and the applying unit)
    comes in the same statement."""
    filters = filters or Filters()
    if which == "initiated":
        return _initiated(actor, page, per_page, filters, count)
    waiting = which in ("todo", "group")

    def build():  # an unknown list is refused here (task_query), and nothing is kept
        query, order = task_query(actor, which)
        query = _filtered(query, order, filters, HumanTask.process_key)
        listed = query.add_columns(_LATEST_OPINION if waiting else null())
        if not actor.is_operator:
            listed = (listed.add_columns(ProcessInstance.title, Unit.name, UnitAccount.account_no)
                      .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                      .join(Unit, Unit.id == ProcessInstance.unit_id)
                      .outerjoin(UnitAccount, UnitAccount.unit_id == Unit.id))
        return page_statements(listed, order.desc(), HumanTask.id.desc(), counted=query)

    rows, total = run_page(prepared(_shape(actor, which, filters), build),
                           _params(actor, filters), page, per_page, count, whole_rows=True)
    if actor.is_operator:
        names = _own_names([r[0] for r in rows])
    else:
        names = {r[0].instance_id: (r[2], r[3], r[4] or "") for r in rows}
    result = []
    for r in rows:
        task, opinion = r[0], r[1]
        business, unit_name, unit_account = names.get(task.instance_id, ("", "", ""))
        item = task_dict(task, business, (unit_name, unit_account))
        if waiting:
            item["opinion"] = opinion
        result.append(item)
    return result, total


def task_dict(row: HumanTask, business: str = "", unit: tuple[str, str] = ("", "")) -> dict:
    return {"task_id": row.id, "instance_id": row.instance_id, "process_key": row.process_key,
            "business": business, "unit_name": unit[0], "unit_account": unit[1],
            "title": row.title, "lane": row.lane, "state": row.state,
            "assignee": row.assignee_name, "created_at": iso(row.created_at),
            "completed_at": iso(row.completed_at), "completed_by": row.completed_by_name,
            "decision": row.decision, "opinion": row.opinion}


#: The application's latest task, beside it in 我发起的.
_LATEST = aliased(HumanTask)
_LATEST_TASK = (select(_LATEST.id).where(_LATEST.instance_id == ProcessInstance.id)
                .order_by(_LATEST.created_at.desc(), _LATEST.id.desc()).limit(1)
                .correlate(ProcessInstance).scalar_subquery())


def _initiated(actor: Actor, page: int, per_page: int, filters: Filters, count: bool):
    """我发起的: the unit's applications, one row per instance, each with its latest task."""

    def build():
        # Without the workflow state: a list never runs it, and an open one is kilobytes.
        query = select(ProcessInstance).options(defer(ProcessInstance.state)).where(
            ProcessInstance.unit_id == bindparam("unit_id"))
        query = _filtered(query, ProcessInstance.created_at, filters,
                          ProcessInstance.process_key)
        listed = query.add_columns(HumanTask).outerjoin(HumanTask, HumanTask.id == _LATEST_TASK)
        return page_statements(listed, ProcessInstance.created_at.desc(),
                               ProcessInstance.id.desc(), counted=query)

    rows, total = run_page(prepared(_shape(actor, "initiated", filters), build),
                           _params(actor, filters), page, per_page, count, whole_rows=True)
    result = []
    for instance, task in rows:
        result.append({
            "task_id": task.id if task else None, "instance_id": instance.id,
            "process_key": instance.process_key, "business": instance.title,
            "title": instance.title, "lane": task.lane if task else None,
            "state": instance.status, "state_name": STATUS_NAMES.get(instance.status),
            "current": task.title if task and task.state == READY else None,
            "created_at": iso(instance.created_at), "completed_at": iso(instance.ended_at),
            # whoever ended it (approved, finished, or ended the application), as
            # `completed_at` is when it ended
            "completed_by": task.completed_by_name if task and instance.ended_at else None,
            "initiator": instance.initiator_name,
            "decision": task.decision if task else None,
            "opinion": task.opinion if task else None,
            "summary": json.loads(instance.summary_json or "{}")})
    return result, total


def _own_names(rows: list[HumanTask]) -> dict[int, tuple[str, str, str]]:
    """A unit's own lists: the business names, known without a query for the hall's
    businesses (the unit's own name and account are on its page already)."""
    names = {r.instance_id: (registry.business(r.process_key).name, "", "") for r in rows
             if registry.is_business(r.process_key)}
    others = {r.instance_id for r in rows if r.instance_id not in names}
    return {**names, **_business_names(others)}


def _business_names(instance_ids: set[int]) -> dict[int, tuple[str, str, str]]:
    """Per instance: the business name and the applying unit's name and account number
    (reviewers see many units' applications side by side)."""
    if not instance_ids:
        return {}
    statement = prepared((__name__, "names"), lambda: select(
        ProcessInstance.id, ProcessInstance.title, Unit.name, UnitAccount.account_no)
        .join(Unit, Unit.id == ProcessInstance.unit_id)
        .outerjoin(UnitAccount, UnitAccount.unit_id == Unit.id)
        .where(ProcessInstance.id.in_(bindparam("ids", expanding=True))))
    rows = db.session.execute(statement, {"ids": sorted(instance_ids)}).all()
    return {row[0]: (row[1], row[2], row[3] or "") for row in rows}
