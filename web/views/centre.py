"""The centre reviewer's desk: the group queue, my claimed tasks, my decided tasks."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from engine import runner
from engine.actors import STAFF
from engine.tasks import list_tasks
from services.db import db

from .. import auth
from ..money_actions import FINANCE_GROUP
from ..query_args import page_number
from ..reads import reads_only
from . import bp

PER_PAGE = 20


@bp.get("/centre")
@reads_only
@auth.login_required(STAFF)
def centre_desk():
    """The reviewers' desk. An analyst reviews nothing: 流程管理 is theirs."""
    actor = auth.current_actor()
    if actor.is_analyst:
        return redirect(url_for("views.processes"))
    if FINANCE_GROUP in actor.groups:  # centre finance records payments, reviews nothing
        return redirect(url_for("views.finance_payments"))
    tab = request.args.get("tab", "group")
    if tab not in ("group", "todo", "done"):
        tab = "group"
    page = page_number()
    lists = {}
    for which in ("group", "todo", "done"):
        lists[which] = list_tasks(actor, which, page if which == tab else 1, PER_PAGE)
    return render_template("centre/desk.html", lists=lists, tab=tab, page=page,
                           per_page=PER_PAGE)


@bp.post("/centre/tasks/<task_id>/claim")
@auth.login_required(STAFF)
def claim(task_id: str):
    runner.claim(task_id, auth.current_actor())
    db.session.commit()
    flash("已认领，请审核后提交审批结果", "success")
    return redirect(url_for("views.task_detail", task_id=task_id))


@bp.post("/centre/tasks/<task_id>/unclaim")
@auth.login_required(STAFF)
def unclaim(task_id: str):
    runner.unclaim(task_id, auth.current_actor())
    db.session.commit()
    flash("任务已退回任务池", "success")
    return redirect(url_for("views.centre_desk"))
