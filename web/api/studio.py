"""The analyst's studio (流程设计): what a diagram may name, live checks of snippets,
validation, comparison, dry run, deploy from the modeler, and version migration.

Centre staff may look (catalog, checks, validation, comparison, running applications);
only analysts dry-run, deploy and migrate. Every POST carries the CSRF token."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields, validate

from engine import catalog, compare, deploy, dryrun, migrate, registry
from engine.actors import STAFF
from engine.diagram import NotReadable
from engine.validate import check_snippet
from engine.validate import validate as validate_diagram
from forms.fields import HallSchema, Int, Str
from services.db import db
from services.errors import Forbidden, InvalidInput, NotFound

from ..auth import require_actor
from . import responses as R

PREFIX = "/studio"
blp = Blueprint("api_studio", __name__, description="流程设计：建模、校验、比较、试运行、部署与迁移")
MAX_XML = 2_000_000
SNIPPET_KINDS = {"condition": ("eval", False), "parameter": ("eval", False),
                 "timer": ("eval", True), "script": ("exec", False)}


class DiagramSchema(HallSchema):
    bpmn_xml = Str(required=True, validate=validate.Length(
        min=1, max=MAX_XML, error=f"流程图不能为空，且不超过 {MAX_XML // 1_000_000} MB"))


class CompareSchema(HallSchema):
    version = Int(required=True, metadata={"description": "与之比较的已部署版本"})
    bpmn_xml = Str(load_default=None, validate=validate.Length(max=MAX_XML))
    other_version = Int(load_default=None)


class DryRunSchema(DiagramSchema):
    limit = Int(load_default=dryrun.DEFAULT_LIMIT, validate=validate.Range(
        min=1, max=dryrun.MAX_LIMIT, error=f"试运行的申请数须在 1-{dryrun.MAX_LIMIT} 之间"))


class SnippetSchema(HallSchema):
    text = Str(required=True, validate=validate.Length(max=20_000, error="文本过长"))
    kind = Str(load_default="condition", validate=validate.OneOf(
        list(SNIPPET_KINDS), error="须为 condition、parameter、timer 或 script"))


class InstancesSchema(HallSchema):
    instance_ids = fields.List(Int(), required=True,
                               metadata={"description": "申请号列表"})


def _staff():
    return require_actor(STAFF)


def _analyst(action: str):
    actor = require_actor(STAFF)
    if not actor.is_analyst:
        raise Forbidden(f"仅业务分析员可以{action}")
    return actor


def _business(key: str) -> str:
    if not registry.is_business(key):
        raise NotFound(f"业务 {key} 不存在")
    return key


@blp.get("/catalog")
@blp.alt_response(200, schema=R.Catalog, success=True)
def list_catalog():
    """可选项：已登记的表单、服务任务处理程序及其参数、泳道（角色）、消息名称。"""
    _staff()
    return catalog.catalog()


@blp.post("/check")
@blp.arguments(SnippetSchema)
@blp.alt_response(200, schema=R.Check, success=True)
def check(args):
    """沙箱校验一段条件、参数、定时表达式或脚本；不通过时给出中文原因。"""
    _staff()
    mode, timer = SNIPPET_KINDS[args["kind"]]
    if not args["text"].strip():
        return {"ok": True, "message": ""}
    reason = check_snippet(args["text"], mode, timer=timer)
    return {"ok": reason is None, "message": reason or "可以执行"}


@blp.post("/<key>/validate")
@blp.arguments(DiagramSchema)
@blp.alt_response(200, schema=R.Validation, success=True)
def validate_xml(args, key: str):
    """校验流程图：每个问题指明所在元素（element_id）；readable 为 false 时文件本身不可读取。"""
    _staff()
    report = validate_diagram(args["bpmn_xml"].encode("utf-8"), _business(key))
    return {"ok": report.ok, "readable": report.diagram is not None,
            "problems": [p.to_dict() for p in report.problems]}


@blp.post("/<key>/compare")
@blp.arguments(CompareSchema)
@blp.alt_response(200, schema=R.Comparison, success=True)
def compare_versions(args, key: str):
    """与已部署版本比较：新增、删除、修改的元素及修改的属性。"""
    _staff()
    base = deploy.version(_business(key), args["version"]).bpmn_xml.encode("utf-8")
    if args["other_version"] is not None:
        other = deploy.version(key, args["other_version"]).bpmn_xml.encode("utf-8")
    elif args["bpmn_xml"]:
        other = args["bpmn_xml"].encode("utf-8")
    else:
        raise InvalidInput("请提供要比较的流程图或版本", {"bpmn_xml": ["必填项"]})
    try:
        return compare.compare(base, other)
    except NotReadable as exc:
        raise InvalidInput(str(exc), {"bpmn_xml": [str(exc)]}) from None


@blp.post("/<key>/dry-run")
@blp.arguments(DryRunSchema)
@blp.alt_response(200, schema=R.DryRunResult, success=True)
def dry_run(args, key: str):
    """试运行：用最近办结的申请的历史记录在修改后的流程图上重演，全部回滚，不留任何数据。"""
    _analyst("试运行")
    outcomes = dryrun.dry_run(_business(key), args["bpmn_xml"].encode("utf-8"), args["limit"])
    items = [dryrun.result_dict(o) for o in outcomes]
    counts = {name: sum(1 for i in items if i["result"] == name)
              for name in (dryrun.SAME, dryrun.DIFFERENT, dryrun.FAILED)}
    return {"items": items, "counts": counts}


@blp.post("/<key>/deploy")
@blp.arguments(DiagramSchema)
@blp.alt_response(200, schema=R.Deployed, success=True)
@blp.alt_response(201, schema=R.Deployed, success=True)
def deploy_xml(args, key: str):
    """部署建模器中的流程图为新版本；进行中的申请仍按原版本办理（可迁移）。"""
    actor = _analyst("部署流程图")
    try:
        result = deploy.deploy(args["bpmn_xml"].encode("utf-8"), f"{_business(key)}.bpmn",
                               actor.name, key=key)
    except deploy.DeployRefused as refused:
        raise InvalidInput(refused.message, {"bpmn_xml": refused.reasons}) from None
    db.session.commit()
    return {"key": result.key, "version": result.version, "changed": result.changed}, \
        201 if result.changed else 200


@blp.get("/<key>/versions/<int:number>/running")
@blp.alt_response(200, schema=R.Items, success=True)
def running(key: str, number: int):
    """仍在某版本上办理的申请及其所在环节（迁移前选择用）。"""
    _staff()
    return {"items": migrate.running(_business(key), number)}


@blp.post("/<key>/migration/preview")
@blp.arguments(InstancesSchema)
@blp.alt_response(200, schema=R.Items, success=True)
def migration_preview(args, key: str):
    """预览迁移到最新版本：逐笔说明能否迁移及原因，不做任何更改。"""
    _analyst("迁移申请")
    return {"items": [p.to_dict() for p in migrate.preview(_business(key), args["instance_ids"])]}


@blp.post("/<key>/migration")
@blp.arguments(InstancesSchema)
@blp.alt_response(200, schema=R.Items, success=True)
def migration(args, key: str):
    """迁移可迁移的申请到最新版本（一次操作），每笔记入其流程历史；不能迁移的说明原因。"""
    actor = _analyst("迁移申请")
    plans = migrate.migrate(_business(key), args["instance_ids"], actor)
    db.session.commit()
    return {"items": [p.to_dict() for p in plans]}
