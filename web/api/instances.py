"""An application: status, history, flowchart, 结束流程, and its 清册."""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint

from engine import manifests, runner
from engine.jobs import submit_import
from engine.queries import diagram, history_rows, instance_detail, instance_detail_by_id, instance_for, trail
from services import manifest_rows
from services.db import db
from services.errors import InvalidInput
from services.spreadsheets import MAX_ROWS, declared_rows

from ..auth import require_actor
from . import responses as R
from .jobs import queued
from .schemas import ImportForm, ManifestArgs, TerminateSchema

PREFIX = "/instances"
blp = Blueprint("api_instances", __name__, description="业务申请、流程图与清册")


@blp.get("/<int:instance_id>")
@blp.alt_response(200, schema=R.Instance, success=True)
def detail(instance_id: int):
    """申请状态、流程版本与业务摘要。"""
    return instance_detail(instance_for(instance_id, require_actor()))


@blp.get("/<int:instance_id>/history")
@blp.alt_response(200, schema=R.History, success=True)
def history(instance_id: int):
    """流程历史：按时间顺序的事件。"""
    return {"items": history_rows(instance_for(instance_id, require_actor()))}


@blp.get("/<int:instance_id>/trail")
@blp.alt_response(200, schema=R.Trail, success=True)
def approval_trail(instance_id: int):
    """审批流程：每个人工环节的办理人、时间、结果与意见。"""
    return {"items": trail(instance_for(instance_id, require_actor()))}


@blp.get("/<int:instance_id>/diagram")
@blp.alt_response(200, schema=R.Flowchart, success=True)
def flowchart(instance_id: int):
    """流程图：所用版本的 BPMN 与已完成、进行中、已取消的节点。"""
    return diagram(instance_for(instance_id, require_actor()))


@blp.post("/<int:instance_id>/terminate")
@blp.arguments(TerminateSchema)
@blp.alt_response(200, schema=R.Instance, success=True)
def terminate(args, instance_id: int):
    """结束流程（申请在单位手中时）。"""
    runner.terminate(instance_id, require_actor(), args["reason"])
    detail = instance_detail_by_id(instance_id)  # in the action's transaction, not a new one
    db.session.commit()
    return detail


@blp.get("/<int:instance_id>/manifest")
@blp.arguments(ManifestArgs, location="query")
@blp.alt_response(200, schema=R.ManifestPage, success=True)
def manifest(args, instance_id: int):
    """清册：分页的行与合计。"""
    instance = instance_for(instance_id, require_actor())
    rows = manifest_rows.page(instance.id, args["page"], args["per_page"])
    return {"items": [row_dict(r) for r in rows], "count": instance.manifest_count,
            "total_amount": str(instance.manifest_amount),
            "page": args["page"], "per_page": args["per_page"]}


@blp.post("/<int:instance_id>/manifest/rows")
@blp.alt_response(201, schema=R.ManifestRow, success=True)
@blp.doc(requestBody=R.BODIES["ROW"])
def add_row(instance_id: int):
    """录入清册：一行数据（字段见 INTERFACES.md），可带 change_type。"""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体须为 JSON 对象", {"_schema": ["请求体须为 JSON 对象"]})
    values = dict(body)
    change_type = values.pop("change_type", None)
    added = manifests.add_row(instance_id, require_actor(), values, change_type)
    db.session.commit()
    return row_dict(added.row), 201


@blp.post("/<int:instance_id>/manifest/import")
@blp.arguments(ImportForm, location="form", content_type="multipart/form-data")
@blp.alt_response(200, schema=R.Imported, success=True)
@blp.alt_response(202, schema=R.Queued, success=True)
def import_rows(args, instance_id: int):
    """批量导入 .xlsx（multipart 字段 file）：任一行有误则整批不导入，返回每个错误的行、列与原因。
    超过数千行的文件转入后台任务：返回 202 与 job_id，进度与结果见 GET /api/v1/jobs/{job_id}。"""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("请选择要上传的文件", {"file": ["必填项"]})
    actor = require_actor()
    content = upload.read()
    rows = declared_rows(content)
    # A sheet over the cap is refused at once, as before, by the synchronous path.
    if current_app.config["ASYNC_ROWS"] < rows <= MAX_ROWS:
        manifests.check_editable(instance_id, actor)  # refused now (404, 409), not later
        job_id = submit_import(instance_id, actor, content, args["change_type"], rows)
        db.session.commit()
        return queued(job_id)
    result = manifests.import_file(instance_id, actor, content, args["change_type"])
    db.session.commit()
    return result


@blp.delete("/<int:instance_id>/manifest/rows/<int:row_id>")
@blp.alt_response(200, schema=R.Ok, success=True)
def delete_row(instance_id: int, row_id: int):
    """删除清册中的一行。"""
    manifests.delete_row(instance_id, require_actor(), row_id)
    db.session.commit()
    return {"ok": True}


def row_dict(row) -> dict:
    """A 清册 row; `seq` is its 序号 (its place in the 清册, renumbered after a delete)."""
    return {"row_id": row.id, "seq": row.position, **row.values, "amount": str(row.amount)}
