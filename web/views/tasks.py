"""The task centre's full lists (【更多】), a task's detail page (待办 / decision), an
application's page (已办 / 我发起的), and 结束流程 (manual chapter 2)."""

from __future__ import annotations

import json

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from engine import access, manifests, runner
from engine.deploy import latest_versions
from engine.jobs import submit_completion
from engine.models import COMPLETED, READY, RUNNING, HumanTask
from engine.queries import instance_detail, instance_for, task_view, trail
from engine.tasks import Filters, list_tasks
from forms import MANIFEST_PANEL
from forms.manifest_spec import build_context
from services import manifest_rows, stash
from services.db import db
from services.errors import HallError, InvalidInput

from .. import auth, printing
from ..query_args import date_filters, page_number
from ..reads import reads_only
from . import bp

LIST_TITLES = {"todo": "待办", "done": "已办", "initiated": "我发起的", "group": "任务池"}
PER_PAGE = 15
MANIFEST_PER_PAGE = 50


@bp.get("/tasks")
@reads_only
@auth.login_required()
def task_list():
    actor = auth.current_actor()
    which = request.args.get("list", "todo")
    if which not in LIST_TITLES:
        abort(404)
    page = page_number()
    dates, problems = date_filters(("since", "开始日期"), ("until", "结束日期"))
    filters = Filters(request.args.get("process_key") or None, dates["since"], dates["until"])
    rows, total = list_tasks(actor, which, page, PER_PAGE, filters)
    return render_template("tasks/list.html", which=which, title=LIST_TITLES[which], rows=rows,
                           total=total, page=page, per_page=PER_PAGE, filters=filters,
                           problems=problems, processes=latest_versions())


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@auth.login_required()
def task_detail(task_id: str):
    actor = auth.current_actor()
    if request.method == "POST":
        data = {k: (values if len(values := request.form.getlist(k)) > 1 else values[0])
                for k in request.form if k != "csrf_token"}
        asks = actor.is_operator and printing.asks_when_done(task_id)
        try:
            try:
                instance = runner.complete(task_id, actor, data,
                                           request_limit=current_app.config["ASYNC_ROWS"])
            except runner.TooLargeForRequest:
                db.session.rollback()
                job_id = submit_completion(task_id, actor, data)
                db.session.commit()
                return redirect(url_for("views.job_page", job_id=job_id), code=303)
            db.session.commit()
        except HallError as exc:
            db.session.rollback()
            return render_task(task_id, errors=exc.errors, message=exc.message,
                               submitted=request.form)
        if asks:  # e.g. “提交审批完成，是否打印凭条？”, asked on the application's page
            return redirect(url_for("views.instance_page", instance_id=instance.id, done=1))
        if not actor.is_operator:
            flash("审批结果已提交", "success")
        elif instance.status == COMPLETED:  # a business without review (缴存人登记)
            flash(f"{instance.title}已办结，可在「我发起的」中查看", "success")
        else:
            flash("已提交审批，可在「我发起的」中查看进度", "success")
        return redirect(url_for("views.home" if actor.is_operator else "views.centre_desk"))
    note = stash.take(actor.key, request.args.get("notice")) or {}
    field_errors = note.get("field_errors") or {}
    return render_task(task_id, errors={"manifest": field_errors} if field_errors else {},
                       message=None if field_errors else note.get("message"),
                       import_errors=note.get("row_errors"), entered=note.get("entered"),
                       status=200)


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
        manifest=_manifest_view(instance, editable=can_act and actor.is_operator
                                and view["form"]["panel"] == MANIFEST_PANEL,
                                base_url=url_for("views.task_detail", task_id=task_id),
                                entered=entered),
        import_errors=import_errors or [],
        can_terminate=actor.is_operator and can_act and instance.status == RUNNING
        and not runner.end_refused(instance.process_key, instance.id))
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
    page = page_number("mpage")
    view = {"spec": spec, "rows": manifest_rows.page(instance.id, page, MANIFEST_PER_PAGE),
            "count": instance.manifest_count, "total": instance.manifest_amount, "page": page,
            "per_page": MANIFEST_PER_PAGE, "editable": editable, "instance_id": instance.id,
            "base_url": base_url, "entered": dict(entered or {}),
            "summary": json.loads(instance.summary_json or "{}")}
    if editable:
        view["entry_fields"] = spec.entry_fields(build_context(spec, instance.unit_id,
                                                               instance.id))
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
                           open_task=mine[0] if mine else None)


@bp.post("/instances/<int:instance_id>/terminate")
@auth.login_required()
def terminate(instance_id: int):
    runner.terminate(instance_id, auth.current_actor(), request.form.get("reason", ""))
    db.session.commit()
    flash("流程已结束，如需办理请重新发起申请", "success")
    return redirect(url_for("views.home"))


def manifest_action(action, then=None):
    """Run a 清册 edit from a task page, then go back to the page (redirect after POST):
    on success with a message (or wherever `then(result)` says); on error with its
    problems and the typed values, left in a note the page takes once."""
    actor = auth.current_actor()
    task_id = request.form.get("task_id", "")
    back = url_for("views.task_detail", task_id=task_id)
    try:
        result = action(actor)
        db.session.commit()
    except HallError as exc:
        db.session.rollback()
        note = {"message": exc.message}
        if isinstance(exc, InvalidInput) and isinstance(exc.errors, list):
            note["row_errors"] = exc.errors
        elif isinstance(exc, InvalidInput) and isinstance(exc.errors, dict):
            note["field_errors"] = exc.errors
            note["entered"] = {k: v for k, v in request.form.items()
                               if k not in ("csrf_token", "task_id")}
        key = stash.put(actor.key, note)
        return redirect(f"{back}?notice={key}#manifest", code=303)
    if then is not None:
        return then(result)
    flash(result, "success")
    return redirect(back + "#manifest", code=303)
