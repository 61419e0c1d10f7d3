"""Deploy diagrams: parse with SpiffWorkflow (spiff extensions, XSD-validated), vet every
lane, form, handler and script, and store each changed file as a new version.

A refused file changes nothing; the reasons come back in Chinese for the analyst.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import ManualTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask, ServiceTask, UserTask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.db import db, utcnow
from services.errors import Conflict, HallError, InvalidInput, NotFound

from . import registry, sandbox
from .actors import ROLES
from .models import RUNNING, ProcessDefinition, ProcessInstance
from .serializer import dump_spec

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
#: Elements whose text is a Python expression evaluated at run time (BPMN and spiff).
EXPRESSION_TAGS = {"conditionExpression", "condition", "timeDuration", "timeDate", "timeCycle",
                   "loopCardinality", "completionCondition", "messagePayload", "expression",
                   "payloadExpression", "messagePath", "formalExpression", "dataPath"}
SCRIPT_TAGS = {"script", "preScript", "postScript"}
#: Who deployed, as the 流程管理 page shows it, when no person did (start-up, CLI).
SYSTEM_NAME = "系统（启动时部署）"
CLI_NAME = "管理员（hpf deploy）"

_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                               huge_tree=False, remove_comments=False)


class DeployRefused(HallError):
    status = 422
    code = "deploy_refused"

    def __init__(self, filename: str, reasons: list[str]):
        super().__init__(f"流程图 {filename} 未部署：" + "；".join(reasons), {"reasons": reasons})
        self.reasons = reasons


@dataclass
class Checked:
    key: str
    spec: object
    subprocess_specs: dict
    meta: dict


@dataclass
class DeployResult:
    key: str
    version: int
    changed: bool


def check(xml: bytes, filename: str, key: str | None = None) -> Checked:
    """Parse and vet one file; raises DeployRefused with every reason found."""
    key = key or Path(filename).stem
    tree = _parse(xml, filename)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(tree, filename)
        ids = parser.get_process_ids()
        if key not in ids:
            found = "、".join(ids) if ids else "无（isExecutable 为 false 或没有流程）"
            raise DeployRefused(filename, [f"文件中没有 id 为 {key} 的可执行流程（找到：{found}）"])
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        raise DeployRefused(filename, [f"BPMN 校验失败：{exc}"]) from None
    except DeployRefused:
        raise
    except Exception as exc:  # the parser raises bare errors for some malformed diagrams
        raise DeployRefused(filename, [f"无法解析流程图：{type(exc).__name__}: {exc}"]) from None

    reasons = _check_scripts(tree)
    lanes = _lane_roles(tree, reasons)
    elements = {}
    for task_spec in _all_task_specs(spec, subprocess_specs):
        if task_spec.bpmn_id is None:
            continue
        info = {"name": task_spec.bpmn_name or task_spec.bpmn_id,
                "type": type(task_spec).__name__, "lane": lanes.get(task_spec.lane)}
        label = f"「{info['name']}」({task_spec.bpmn_id})"
        if isinstance(task_spec, UserTask):
            form_key = (getattr(task_spec, "extensions", {}) or {}).get("properties", {}) \
                .get("form")
            info["form"] = form_key
            if not form_key:
                reasons.append(f"用户任务{label}没有指定表单（属性 form）")
            elif not registry.has_form(form_key):
                reasons.append(f"用户任务{label}的表单 {form_key} 不存在")
            if task_spec.lane is None:
                reasons.append(f"用户任务{label}不在任何泳道中")
        elif isinstance(task_spec, ManualTask):
            reasons.append(f"手工任务{label}不受支持，请使用用户任务并指定表单")
        elif isinstance(task_spec, ServiceTask):
            if not registry.has_handler(task_spec.operation_name):
                reasons.append(f"服务任务{label}调用的 {task_spec.operation_name} 不存在")
        elif isinstance(task_spec, BusinessRuleTask):
            reasons.append(f"业务规则任务{label}不受支持")
        elements[task_spec.bpmn_id] = info
    if reasons:
        raise DeployRefused(filename, reasons)
    flows = [[f.get("id"), f.get("sourceRef"), f.get("targetRef")]
             for f in tree.iter(f"{{{BPMN_NS}}}sequenceFlow")]
    meta = {"elements": elements, "flows": flows, "lanes": lanes}
    return Checked(key=key, spec=spec, subprocess_specs=subprocess_specs, meta=meta)


def _parse(xml: bytes, filename: str):
    """The XML as lxml reads it, refused if it declares a DTD or entities (in whatever
    encoding they are written) or is not UTF-8 (what the hall stores and serves)."""
    try:
        tree = etree.fromstring(xml, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise DeployRefused(filename, [f"XML 格式错误：{exc}"]) from None
    info = tree.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise DeployRefused(filename, ["流程图不得包含 DOCTYPE 或实体声明"])
    if (info.encoding or "UTF-8").upper().replace("_", "-") not in ("UTF-8", "UTF8"):
        raise DeployRefused(filename, [f"流程图须以 UTF-8 编码保存（当前为 {info.encoding}）"])
    try:
        xml.decode("utf-8")
    except UnicodeDecodeError:
        raise DeployRefused(filename, ["流程图须以 UTF-8 编码保存"]) from None
    return tree


def _all_task_specs(spec, subprocess_specs):
    yield from spec.task_specs.values()
    for sub in subprocess_specs.values():
        yield from sub.task_specs.values()


def _check_scripts(tree) -> list[str]:
    reasons = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        snippets = []
        if local in EXPRESSION_TAGS and (element.text or "").strip():
            snippets.append(("eval", element.text.strip()))
        elif local in SCRIPT_TAGS and (element.text or "").strip():
            snippets.append(("exec", element.text))
        elif local == "parameter" and element.get("value"):
            snippets.append(("eval", element.get("value")))
        for mode, text in snippets:
            try:
                sandbox.check(text if mode == "exec" else text.strip(), mode)
            except sandbox.ScriptRefused as exc:
                owner = element.getparent()  # the nearest BPMN element with an id
                while owner is not None and not (owner.get("id") and
                                                 etree.QName(owner).namespace == BPMN_NS):
                    owner = owner.getparent()
                where = owner.get("id") if owner is not None else local
                reasons.append(f"元素 {where} 的脚本被拒绝：{exc}")
    return reasons


def _lane_roles(tree, reasons: list[str]) -> dict[str, str]:
    """Lane name → role. A lane is known by its id or its name (employer, centre_reviewer)."""
    roles = {}
    for lane in tree.iter(f"{{{BPMN_NS}}}lane"):
        lane_id, name = lane.get("id"), lane.get("name") or lane.get("id")
        role = lane_id if lane_id in ROLES else name if name in ROLES else None
        if role is None:
            reasons.append(f"泳道「{name}」({lane_id}) 不是已知角色，id 或名称须为："
                           + "、".join(f"{k}（{v}）" for k, v in ROLES.items()))
        roles[name] = role
    return roles


def deploy(xml: bytes, filename: str, actor_name: str = SYSTEM_NAME, key: str | None = None,
           *, known_is_deployed: bool = False) -> DeployResult:
    """Store the file as a new version unless it equals the latest one (or, with
    `known_is_deployed`, any stored version: a sweep of bpmn-diagrams/ at start-up must not
    undo what an analyst deployed since by re-deploying the older file). Does not commit."""
    checked = check(xml, filename, key)
    digest = hashlib.sha256(xml).hexdigest()
    rows = db.session.execute(
        select(ProcessDefinition.version, ProcessDefinition.sha256)
        .where(ProcessDefinition.key == checked.key)
        .order_by(ProcessDefinition.version.desc())).all()
    latest = rows[0].version if rows else 0
    same = [r.version for r in (rows if known_is_deployed else rows[:1]) if r.sha256 == digest]
    if same:
        return DeployResult(checked.key, same[0], changed=False)
    version = latest + 1
    db.session.add(ProcessDefinition(
        key=checked.key, version=version, name=_process_name(xml, checked.key),
        bpmn_xml=xml.decode("utf-8"), sha256=digest,
        spec_json=dump_spec(checked.spec, checked.subprocess_specs),
        meta_json=json.dumps(checked.meta, ensure_ascii=False), deployed_by=actor_name,
        deployed_at=utcnow()))
    try:
        db.session.flush()
    except IntegrityError:  # (key, version) taken: someone deployed this business just now
        raise Conflict("刚刚有人部署了该业务的新版本，请刷新页面后再试") from None
    return DeployResult(checked.key, version, changed=True)


def deploy_upload(content: bytes, filename: str, actor_name: str) -> DeployResult:
    """A diagram an analyst uploads, through the same checks as `hpf deploy`; refused →
    InvalidInput with every reason under `file`, nothing stored. Does not commit."""
    if not filename.lower().endswith(".bpmn"):
        raise InvalidInput("请上传 .bpmn 格式的流程图文件", {"file": ["文件须为 .bpmn 格式"]})
    try:
        tree = _parse(content, filename)
        ids = [p.get("id") for p in tree.iter(f"{{{BPMN_NS}}}process")
               if p.get("isExecutable") == "true"]
        if len(ids) != 1:
            raise DeployRefused(filename, [f"流程图中须恰有一个可执行流程（找到 {len(ids)} 个）"])
        if not registry.is_business(ids[0]):
            raise DeployRefused(filename, [f"流程标识 {ids[0]} 不是大厅已有的业务"])
        return deploy(content, filename, actor_name, key=ids[0])
    except DeployRefused as refused:
        raise InvalidInput(refused.message, {"file": refused.reasons}) from None


def deploy_directory(directory: Path, actor_name: str = SYSTEM_NAME,
                     known_is_deployed: bool = False) -> list[DeployResult | DeployRefused]:
    """Deploy every .bpmn file (see `deploy` for `known_is_deployed`, which the start-up
    sweep sets); each refused file is reported, the others still deploy."""
    results: list[DeployResult | DeployRefused] = []
    for path in sorted(Path(directory).glob("*.bpmn")):
        try:
            with db.session.begin_nested():
                results.append(deploy(path.read_bytes(), path.name, actor_name,
                                      known_is_deployed=known_is_deployed))
        except DeployRefused as refused:
            results.append(refused)
    return results


def _process_name(xml: bytes, key: str) -> str:
    tree = etree.fromstring(xml, _SAFE_PARSER)
    for process in tree.iter(f"{{{BPMN_NS}}}process"):
        if process.get("id") == key:
            return process.get("name") or registry.business(key).name
    return key


def latest_versions() -> list[ProcessDefinition]:
    newest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
              .group_by(ProcessDefinition.key).subquery())
    return list(db.session.execute(
        select(ProcessDefinition).join(newest, (ProcessDefinition.key == newest.c.key)
                                       & (ProcessDefinition.version == newest.c.v))
        .order_by(ProcessDefinition.key)).scalars())


def versions(key: str) -> list[ProcessDefinition]:
    """Every deployed version of one business, newest first."""
    return list(db.session.execute(select(ProcessDefinition).where(ProcessDefinition.key == key)
                                   .order_by(ProcessDefinition.version.desc())).scalars())


def version(key: str, number: int) -> ProcessDefinition:
    row = db.session.execute(select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.version == number)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"流程 {key} 没有版本 v{number}")
    return row


def running_counts(definition_ids: list[int]) -> dict[int, int]:
    """Applications still running on each version (they finish on the version they began)."""
    if not definition_ids:
        return {}
    return dict(db.session.execute(
        select(ProcessInstance.definition_id, func.count())
        .where(ProcessInstance.definition_id.in_(definition_ids),
               ProcessInstance.status == RUNNING)
        .group_by(ProcessInstance.definition_id)).all())
