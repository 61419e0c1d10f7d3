"""The task centre: lists, a task with its form, claim / unclaim, complete."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from engine import runner
from engine.jobs import submit_completion
from engine.queries import instance_detail_by_id, task_view
from engine.tasks import Filters, list_tasks, task_dict
from services.db import db
from services.errors import InvalidInput

from ..auth import require_actor
from ..reads import reads_only
from . import responses as R
from .jobs import queued
from .schemas import DataSchema, TaskListArgs

PREFIX = "/tasks"
blp = Blueprint("api_tasks", __name__, description="待办、已办、我发起的与任务办理")


@blp.get("")
@reads_only
@blp.arguments(TaskListArgs, location="query")
@blp.alt_response(200, schema=R.TaskPage, success=True)
def tasks(args):
    """任务列表：list=todo（待办）、done（已办）、initiated（我发起的）、group（中心任务池）。"""
    actor = require_actor()
    rows, total = list_tasks(actor, args["list"], args["page"], args["per_page"],
                             Filters(args["process_key"], args["since"], args["until"]))
    return {"items": rows, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.get("/<task_id>")
@blp.alt_response(200, schema=R.TaskDetail, success=True)
def task(task_id: str):
    """任务详情：表单定义、当前数据与所属申请。"""
    return task_view(task_id, require_actor())


@blp.post("/<task_id>/claim")
@blp.alt_response(200, schema=R.Task, success=True)
def claim(task_id: str):
    """认领任务（中心审核员）。"""
    row = runner.claim(task_id, require_actor())
    db.session.commit()
    return task_dict(row)


@blp.post("/<task_id>/unclaim")
@blp.alt_response(200, schema=R.Task, success=True)
def unclaim(task_id: str):
    """取消认领，任务回到任务池。"""
    row = runner.unclaim(task_id, require_actor())
    db.session.commit()
    return task_dict(row)


@blp.post("/<task_id>/complete")
@blp.arguments(DataSchema)
@blp.alt_response(200, schema=R.Instance, success=True)
@blp.alt_response(202, schema=R.Queued, success=True)
def complete(args, task_id: str):
    """办理任务。审核任务提交 {"decision": "approve"|"reject", "opinion": "..."}。
    清册超过数千行的申请转入后台任务：校验通过后返回 202 与 job_id，结果见 GET /api/v1/jobs/{job_id}。"""
    try:
        try:
            instance = runner.complete(task_id, require_actor(), args["data"],
                                       request_limit=current_app.config["ASYNC_ROWS"])
        except runner.TooLargeForRequest:
            db.session.rollback()
            job_id = submit_completion(task_id, require_actor(), args["data"])
            db.session.commit()
            return queued(job_id)
    except InvalidInput as exc:
        if isinstance(exc.errors, dict):  # form fields sit under "data" in the request
            exc.errors = {f"data.{name}": messages for name, messages in exc.errors.items()}
        raise
    detail = instance_detail_by_id(instance.id)  # in the action's transaction, not a new one
    db.session.commit()
    return detail
