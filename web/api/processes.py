"""Deployed businesses, their import templates, and starting an application."""

from __future__ import annotations

from flask_smorest import Blueprint

from engine import manifests, runner
from engine.actors import OPERATOR
from engine.deploy import latest_versions
from engine.queries import instance_detail_by_id
from services.db import db

from ..auth import require_actor
from ..xlsx import xlsx_response
from .schemas import DataSchema, TemplateArgs

PREFIX = "/processes"
blp = Blueprint("api_processes", __name__, description="业务流程")


@blp.get("")
def list_processes():
    """已部署的业务及其最新版本。"""
    require_actor()
    return {"items": [{"key": d.key, "name": d.name, "version": d.version,
                       "deployed_at": d.deployed_at.isoformat(timespec="seconds")}
                      for d in latest_versions()]}


@blp.get("/<key>/template.xlsx")
@blp.arguments(TemplateArgs, location="query")
def template(args, key: str):
    """清册导入模板（.xlsx，代码列带下拉框）；prefill=true 时预填本单位正常状态的职工。"""
    actor = require_actor(OPERATOR)
    content = manifests.template(key, actor.unit_id, args["change_type"], args["prefill"])
    return xlsx_response(content, f"{key}_template.xlsx")


@blp.post("/<key>/instances")
@blp.arguments(DataSchema)
def start(args, key: str):
    """发起业务：返回申请号和当前待办任务。"""
    actor = require_actor(OPERATOR)
    instance = runner.start(key, actor.unit_id, actor, args["data"])
    db.session.commit()
    detail = instance_detail_by_id(instance.id)
    return {"instance_id": instance.id, "tasks": detail["tasks"]}, 201


