"""Who may see and act on what. A unit never sees another unit's applications: to it they
do not exist (404), so nothing leaks through the error either. Centre staff see the
applications that reached their group (or that they handled); an analyst, in no group,
sees diagrams but no application data."""

from __future__ import annotations

from sqlalchemy import exists, select

from services.db import db
from services.errors import Conflict, Forbidden, NotFound

from .actors import EMPLOYER_LANE, Actor
from .models import READY, HumanTask, ProcessInstance


def check_can_view(instance: ProcessInstance, actor: Actor) -> None:
    if actor.is_operator and instance.unit_id != actor.unit_id:
        raise NotFound("业务申请不存在")
    if actor.is_staff and not _reached_staff(instance.id, actor):
        raise NotFound("业务申请不存在")


def check_can_view_task(task: HumanTask, actor: Actor) -> None:
    if actor.is_operator and task.unit_id != actor.unit_id:
        raise NotFound("任务不存在")
    if actor.is_staff and task.candidate_group not in actor.groups \
            and not _reached_staff(task.instance_id, actor):
        raise NotFound("任务不存在")


def _reached_staff(instance_id: int, actor: Actor) -> bool:
    """Has the application had a task for one of the actor's groups, or one they handled?"""
    condition = (HumanTask.assignee == actor.key) | (HumanTask.completed_by == actor.key)
    if actor.groups:
        condition = condition | HumanTask.candidate_group.in_(actor.groups)
    return db.session.execute(select(exists().where(
        HumanTask.instance_id == instance_id, condition))).scalar()


def check_can_act(task: HumanTask, actor: Actor) -> None:
    """The employer lane is the unit's; a centre lane's task must be claimed by the actor."""
    check_can_view_task(task, actor)
    if task.state != READY:
        by = f"由{task.completed_by_name}" if task.completed_by_name else ""
        raise Conflict(f"该任务已{by}办理完毕或已结束，请刷新后查看")
    if task.lane == EMPLOYER_LANE:
        if not actor.is_operator:
            raise Forbidden("该任务由缴存单位办理")
        return
    if not actor.is_staff or task.candidate_group not in actor.groups:
        raise Forbidden("您不在该任务的办理组中")
    if task.assignee is None:
        raise Conflict("请先认领该任务再办理")
    if task.assignee != actor.key:
        raise Conflict(f"该任务已被{task.assignee_name}认领")
