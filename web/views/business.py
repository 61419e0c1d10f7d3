"""Opening a business from its tile, and the 清册 actions of its page (manual chapter 4)."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from engine import manifests, runner
from engine.actors import EMPLOYER_LANE, OPERATOR
from engine.jobs import submit_import
from engine.models import READY, RUNNING, HumanTask, ProcessInstance
from processes import BUSINESSES
from services.db import db
from services.errors import InvalidInput
from services.spreadsheets import MAX_ROWS, declared_rows

from .. import auth
from . import bp
from .tasks import manifest_action


@bp.get("/business/<key>")
@auth.login_required(OPERATOR)
def open_business(key: str):
    """A tile: continue the unit's open application if there is one; else a page that
    starts one on request (a GET changes nothing)."""
    actor = auth.current_actor()
    if key not in BUSINESSES:
        return render_template("hall/not_built.html", key=key), 404
    target = _open_application(actor, key)
    if target is not None:
        return redirect(target)
    return render_template("hall/start.html", business=BUSINESSES[key])


@bp.post("/business/<key>")
@auth.login_required(OPERATOR)
def start_business(key: str):
    """发起: start an application (or go to the open one, if a second click raced)."""
    actor = auth.current_actor()
    if key not in BUSINESSES:
        return render_template("hall/not_built.html", key=key), 404
    target = _open_application(actor, key)
    if target is None:
        instance = runner.start(key, actor.unit_id, actor)
        db.session.commit()
        task_id = db.session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance.id, HumanTask.state == READY)).scalar()
        target = url_for("views.task_detail", task_id=task_id)
    return redirect(target)


def _open_application(actor, key: str) -> str | None:
    """Where the unit's unfinished application of this business is: its employer task, or
    (single-open businesses under review) its page."""
    open_task = db.session.execute(
        select(HumanTask.id).join(ProcessInstance, HumanTask.instance_id == ProcessInstance.id)
        .where(ProcessInstance.unit_id == actor.unit_id, ProcessInstance.process_key == key,
               ProcessInstance.status == RUNNING, HumanTask.state == READY,
               HumanTask.lane == EMPLOYER_LANE)
        .order_by(HumanTask.created_at.desc()).limit(1)).scalar()
    if open_task is not None:
        return url_for("views.task_detail", task_id=open_task)
    in_review = db.session.execute(select(ProcessInstance.id).where(
        ProcessInstance.unit_id == actor.unit_id, ProcessInstance.process_key == key,
        ProcessInstance.status == RUNNING).limit(1)).scalar()
    if in_review is not None and BUSINESSES[key].single_open:
        return url_for("views.instance_page", instance_id=in_review)
    return None


@bp.post("/instances/<int:instance_id>/manifest/rows")
@auth.login_required(OPERATOR)
def manifest_add(instance_id: int):
    values = {k: v for k, v in request.form.items()
              if k not in ("csrf_token", "task_id", "change_type")}
    change_type = request.form.get("change_type")

    def add(actor):
        return manifests.add_row(instance_id, actor, values, change_type).message

    return manifest_action(add)


@bp.post("/instances/<int:instance_id>/manifest/import")
@auth.login_required(OPERATOR)
def manifest_import(instance_id: int):
    """批量导入. A file of more than ASYNC_ROWS rows goes to a job: the page then follows
    its progress (jobs/status.html) and leads back to the task when it is done."""
    upload = request.files.get("file")
    change_type = request.form.get("change_type")
    content = upload.read() if upload is not None and upload.filename else b""
    if current_app.config["ASYNC_ROWS"] < declared_rows(content) <= MAX_ROWS:
        def queue(actor):
            manifests.check_editable(instance_id, actor)
            return submit_import(instance_id, actor, content, change_type,
                                 declared_rows(content), task_id=request.form.get("task_id"))

        return manifest_action(queue, then=lambda job_id: redirect(
            url_for("views.job_page", job_id=job_id), code=303))

    def run(actor):
        if not content:
            raise InvalidInput("请选择要上传的文件", {"file": ["请选择要上传的文件"]})
        result = manifests.import_file(instance_id, actor, content, change_type)
        skipped = f"，跳过 {result['skipped']} 行未填写内容的行" if result["skipped"] else ""
        return f"批量导入成功：共导入 {result['imported']} 行{skipped}"

    return manifest_action(run)


@bp.post("/instances/<int:instance_id>/manifest/rows/<int:row_id>/delete")
@auth.login_required(OPERATOR)
def manifest_delete(instance_id: int, row_id: int):
    def delete(actor):
        manifests.delete_row(instance_id, actor, row_id)
        return "已从清册中删除"

    return manifest_action(delete)

