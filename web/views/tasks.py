"""The task centre's full lists (【更多】), a task's detail page (待办 / decision), an
application's page (已办 / 我发起的), and 结束流程 (manual chapter 2)."""

from __future__ import annotations

import json
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for

from engine import access, manifests, runner
from engine.deploy import latest_versions
from engine.models import READY, RUNNING, HumanTask
from engine.queries import instance_detail, instance_for, task_view, trail
from engine.tasks import Filters, list_tasks
from forms.manifest import build_context
from services import manifest as manifest_rows
from services.db import db
from services.errors import HallError, InvalidInput

from .. import auth
from . import bp

LIST_TITLES = {"todo": "待办", "done": "已办", "initiated": "我发起的", "group": "任务池"}
PER_PAGE = 15


def _date(name: str) -> date | None:
    text = request.args.get(name) or ""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@bp.get("/tasks")
@auth.login_required()
def task_list():
    actor = auth.current_actor()
    which = request.args.get("list", "todo")
    if which not in LIST_TITLES:
        abort(404)
    page = max(request.args.get("page", 1, type=int), 1)
    filters = Filters(request.args.get("process_key") or None, _date("since"), _date("until"))
    rows, total = list_tasks(actor, which, page, PER_PAGE, filters)
    return render_template("tasks/list.html", which=which, title=LIST_TITLES[which], rows=rows,
                           total=total, page=page, per_page=PER_PAGE, filters=filters,
                           processes=latest_versions())


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@auth.login_required()
def task_detail(task_id: str):
    actor = auth.current_actor()
    errors: dict | list = {}
    message = None
    if request.method == "POST":
        data = {k: v for k, v in request.form.items() if k != "csrf_token"}
        try:
            runner.complete(task_id, actor, data)
            db.session.commit()
        except HallError as exc:
            db.session.rollback()
            errors, message = exc.errors, exc.message
        else:
            flash("已提交审批，可在「我发起的」中查看进度" if actor.is_operator else "审批结果已提交",
                  "success")
            return redirect(url_for("views.home" if actor.is_operator else "views.centre_desk"))
    return render_task(task_id, errors=errors, message=message,
                       submitted=request.form if request.method == "POST" else None)


def render_task(task_id: str, errors=None, message=None, submitted=None, import_errors=None,
                status: int | None = None, entered=None):
    actor = auth.current_actor()
    view = task_view(task_id, actor)
    instance = instance_for(view["instance_id"], actor)
    can_act = view["state"] == READY and _can_act(view, actor)
    values = dict(view["values"])
    if submitted:
        values.update({k: submitted.get(k) for k in values if k in submitted})
    page = render_template(
        "tasks/detail.html", task=view, instance=view["instance"], can_act=can_act,
        values=values, errors=errors or {}, message=message, trail=trail(instance),
        manifest=_manifest_view(instance, editable=can_act and actor.is_operator,
                                base_url=url_for("views.task_detail", task_id=task_id),
                                entered=entered),
        import_errors=import_errors or [],
        can_terminate=actor.is_operator and can_act and instance.status == RUNNING)
    return page, status or (422 if errors or message or import_errors else 200)


def _can_act(view: dict, actor) -> bool:
    row = db.session.get(HumanTask, view["task_id"])
    try:
        access.check_can_act(row, actor)
    except HallError:
        return False
    return True


def _manifest_view(instance, editable: bool, base_url: str, entered=None) -> dict | None:
    """The 清册 panel; `entered` refills the single-entry form after a refused entry."""
    try:
        spec = manifests.spec_for(instance.process_key)
    except HallError:
        return None
    page = max(request.args.get("mpage", 1, type=int), 1)
    count, total = manifest_rows.totals(instance.id)
    view = {"spec": spec, "rows": manifest_rows.list_rows(instance.id, page, 50),
            "count": count, "total": total, "page": page, "per_page": 50,
            "editable": editable, "instance_id": instance.id, "base_url": base_url,
            "entered": dict(entered or {}),
            "summary": json.loads(instance.summary_json or "{}")}
    if editable:
        view["entry_fields"] = spec.entry_fields(build_context(instance.unit_id, instance.id))
    return view


@bp.get("/instances/<int:instance_id>")
@auth.login_required()
def instance_page(instance_id: int):
    actor = auth.current_actor()
    instance = instance_for(instance_id, actor)
    detail = instance_detail(instance)
    mine = [t for t in detail["tasks"] if t["lane"] == "employer"] if actor.is_operator else []
    return render_template("tasks/instance.html", instance=detail, trail=trail(instance),
                           manifest=_manifest_view(
                               instance, editable=False,
                               base_url=url_for("views.instance_page", instance_id=instance_id)),
                           open_task=(
                               mine[0] if mine else None))


@bp.post("/instances/<int:instance_id>/terminate")
@auth.login_required()
def terminate(instance_id: int):
    runner.terminate(instance_id, auth.current_actor(), request.form.get("reason", ""))
    db.session.commit()
    flash("流程已结束，如需办理请重新发起申请", "success")
    return redirect(url_for("views.home"))


def manifest_action(instance_id: int, action):
    """Run a 清册 edit from a task page; on error show the task page with the problems."""
    actor = auth.current_actor()
    task_id = request.form.get("task_id", "")
    try:
        result = action(actor)
        db.session.commit()
    except InvalidInput as exc:
        db.session.rollback()
        row_errors = exc.errors if isinstance(exc.errors, list) else []
        field_errors = exc.errors if isinstance(exc.errors, dict) else {}
        # Field errors show beside the entry form (refilled); others at the top.
        return render_task(task_id, errors={"manifest": field_errors},
                           message=None if field_errors else exc.message,
                           import_errors=row_errors, entered=request.form)
    except HallError as exc:
        db.session.rollback()
        return render_task(task_id, message=exc.message, status=exc.status)
    flash(result, "success")
    return redirect(url_for("views.task_detail", task_id=task_id) + "#manifest")
