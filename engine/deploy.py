"""Deploy diagrams: validate them (`engine.validate`: SpiffWorkflow's parse, lanes, forms,
handlers, shape, sandboxed scripts) and store each changed file as a new version.

A refused file changes nothing; the reasons come back in Chinese for the analyst.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from SpiffWorkflow.spiff.specs.defaults import UserTask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.db import db, utcnow
from services.errors import Conflict, HallError, InvalidInput, NotFound

from . import registry
from .actors import role_of
from .diagram import BPMN_NS, NotReadable, parse_xml
from .models import RUNNING, ProcessDefinition, ProcessInstance
from .serializer import dump_spec
from .validate import Problem, validate

#: Who deployed, as the 流程管理 page shows it, when no person did (start-up, CLI).
SYSTEM_NAME = "系统（启动时部署）"
CLI_NAME = "管理员（hpf deploy）"


class DeployRefused(HallError):
    status = 422
    code = "deploy_refused"

    def __init__(self, filename: str, reasons: list[str], problems: list[Problem] | None = None):
        super().__init__(f"流程图 {filename} 未部署：" + "；".join(reasons), {"reasons": reasons})
        self.reasons = reasons
        self.problems = problems or [Problem(None, r) for r in reasons]


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
    """Validate one file (`engine.validate`); raises DeployRefused with every problem."""
    key = key or Path(filename).stem
    report = validate(xml, key, filename)
    if not report.ok:
        raise DeployRefused(filename, [p.message for p in report.problems], report.problems)
    spec, subprocess_specs = report.spec, report.subprocess_specs
    lanes = {lane.name or lane.id: role_of(lane.id, lane.name)
             for lane in report.diagram.lanes.values()}
    elements = {}
    for task_spec in _all_task_specs(spec, subprocess_specs):
        if task_spec.bpmn_id is None:
            continue
        info = {"name": task_spec.bpmn_name or task_spec.bpmn_id,
                "type": type(task_spec).__name__, "lane": lanes.get(task_spec.lane)}
        if isinstance(task_spec, UserTask):
            info["form"] = ((getattr(task_spec, "extensions", {}) or {})
                            .get("properties", {}).get("form"))
        elements[task_spec.bpmn_id] = info
    flows = [[e.id, e.source, e.target] for e in report.diagram.elements.values()
             if e.kind == "sequenceFlow"]
    meta = {"elements": elements, "flows": flows, "lanes": lanes}
    return Checked(key=key, spec=spec, subprocess_specs=subprocess_specs, meta=meta)


def _all_task_specs(spec, subprocess_specs):
    yield from spec.task_specs.values()
    for sub in subprocess_specs.values():
        yield from sub.task_specs.values()


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
        try:
            tree = parse_xml(content)
        except NotReadable as exc:
            raise DeployRefused(filename, [str(exc)]) from None
        ids = [p.get("id") for p in tree.iter(f"{{{BPMN_NS}}}process")
               if p.get("isExecutable", "true") == "true"]
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
    tree = parse_xml(xml)
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
