"""流程管理 for centre staff: the businesses' diagram versions, each viewable in bpmn-js;
analysts upload a changed diagram to deploy it as the next version."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from engine import deploy
from engine.actors import STAFF
from services.db import db
from services.errors import InvalidInput

from .. import auth
from . import bp


@bp.get("/centre/processes")
@auth.login_required(STAFF)
def processes():
    return _page()


def _page(errors: list[str] | None = None, status: int = 200):
    latest = deploy.latest_versions()
    running = deploy.running_counts([d.id for d in latest])
    return render_template("centre/processes.html", latest=latest, running=running,
                           can_deploy=auth.current_actor().is_analyst, errors=errors), status


@bp.post("/centre/processes")
@auth.login_required(STAFF)
def deploy_diagram():
    actor = auth.require_analyst()
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidInput("请选择要部署的 .bpmn 文件", {"file": ["请选择要部署的 .bpmn 文件"]})
        result = deploy.deploy_upload(upload.read(), upload.filename, actor.name)
    except InvalidInput as exc:
        db.session.rollback()
        return _page(errors=exc.errors.get("file") or [exc.message], status=422)
    db.session.commit()
    if result.changed:
        flash(f"已部署为 v{result.version}：新发起的申请按此版本办理，进行中的申请仍按原版本办结",
              "success")
    else:
        flash(f"与当前版本 v{result.version} 完全相同，未产生新版本", "info")
    return redirect(url_for("views.process_version", key=result.key, number=result.version))


@bp.get("/centre/processes/<key>/v<int:number>")
@auth.login_required(STAFF)
def process_version(key: str, number: int):
    current = deploy.version(key, number)
    rows = deploy.versions(key)
    return render_template("centre/process_version.html", current=current, versions=rows,
                           running=deploy.running_counts([r.id for r in rows]))
