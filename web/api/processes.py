"""Deployed businesses, their import templates, and starting an application."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from engine import deploy, manifests, runner
from engine.actors import OPERATOR, STAFF
from engine.deploy import latest_versions
from engine.queries import instance_detail_by_id
from services.clock import iso
from services.db import db
from services.errors import InvalidInput

from ..auth import require_actor, require_analyst
from ..xlsx import xlsx_response
from . import responses as R
from .schemas import DataSchema, TemplateArgs

PREFIX = "/processes"
blp = Blueprint("api_processes", __name__, description="业务流程")


@blp.get("")
@blp.alt_response(200, schema=R.Processes, success=True)
def list_processes():
    """已部署的业务及其最新版本。"""
    require_actor()
    return {"items": [{"key": d.key, "name": d.name, "version": d.version,
                       "deployed_at": iso(d.deployed_at)}
                      for d in latest_versions()]}


@blp.get("/<key>/template.xlsx")
@blp.arguments(TemplateArgs, location="query")
@blp.alt_response(200, **R.file_response("XLSX"), success=True)
def template(args, key: str):
    """清册导入模板（.xlsx，代码列带下拉框）；prefill=true 时预填本单位正常状态的职工。"""
    actor = require_actor(OPERATOR)
    content, filename = manifests.template(key, actor.unit_id, args["change_type"],
                                           args["prefill"])
    return xlsx_response(content, filename)


@blp.post("/<key>/instances")
@blp.arguments(DataSchema)
@blp.alt_response(201, schema=R.Started, success=True)
def start(args, key: str):
    """发起业务：返回申请号和当前待办任务。"""
    actor = require_actor(OPERATOR)
    instance = runner.start(key, actor.unit_id, actor, args["data"])
    # read in the action's transaction: after the commit it would be another one
    detail = instance_detail_by_id(instance.id)
    db.session.commit()
    return {"instance_id": instance.id, "tasks": detail["tasks"]}, 201




def version_dict(row, running: int, with_xml: bool = False) -> dict:
    item = {"key": row.key, "name": row.name, "version": row.version, "sha256": row.sha256,
            "deployed_by": row.deployed_by,
            "deployed_at": iso(row.deployed_at), "running": running}
    if with_xml:
        item["bpmn_xml"] = row.bpmn_xml
    return item


@blp.get("/<key>/versions")
@blp.alt_response(200, schema=R.Versions, success=True)
def list_versions(key: str):
    """一项业务的全部流程版本（新的在前），及仍在各版本上运行的申请数。中心工作人员可用。"""
    require_actor(STAFF)
    rows = deploy.versions(key)
    running = deploy.running_counts([r.id for r in rows])
    return {"items": [version_dict(r, running.get(r.id, 0)) for r in rows]}


@blp.get("/<key>/versions/<int:number>")
@blp.alt_response(200, schema=R.Version, success=True)
def get_version(key: str, number: int):
    """一个流程版本及其 BPMN 文件。中心工作人员可用。"""
    require_actor(STAFF)
    row = deploy.version(key, number)
    return version_dict(row, deploy.running_counts([row.id]).get(row.id, 0), with_xml=True)


@blp.post("")
@blp.alt_response(200, schema=R.Deployed, success=True)
@blp.alt_response(201, schema=R.Deployed, success=True)
@blp.doc(requestBody=R.BODIES["BPMN"])
def deploy_file():
    """部署流程图（multipart 字段 file，.bpmn）：校验通过且与最新版本不同则成为新版本；
    进行中的申请仍按其发起时的版本办结。仅业务分析员可用。"""
    actor = require_analyst()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("请选择要部署的 .bpmn 文件", {"file": ["必填项"]})
    result = deploy.deploy_upload(upload.read(), upload.filename, actor.name)
    db.session.commit()
    return {"key": result.key, "version": result.version, "changed": result.changed}, \
        201 if result.changed else 200
