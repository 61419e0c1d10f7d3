"""Print points (打印): which document a request prints, for whom, from which data.

A print point turns (who asks, the document's reference, the query's parameters) into a
`Document` with a builder of services.documents; `pdf_response` then issues its check
code, renders it, records the code and answers the PDF. Pages link to
/documents/<kind>/<ref>.pdf and the API serves /api/v1/documents/<kind>/<ref>.pdf: both
come here, so both check the same things. A unit only ever prints its own data.

Adding a print point: a layout in services/documents/layouts.py, a builder in
services/documents/builders.py, and a function here under `@print_point(kind)`; give it
`label` and `shows_on` if the application page should offer it as a button.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from flask import Response, current_app, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import history, registry
from engine.actors import EMPLOYER_LANE, Actor
from engine.jobs import actor_from, actor_payload
from engine.models import COMPLETED, DONE, RUNNING, HumanTask
from engine.queries import instance_for
from forms.review import APPROVE, DECISIONS
from services import documents, jobs, person_query
from services.clock import today
from services.db import db
from services.documents import builders, records
from services.errors import BusinessRuleViolation, Forbidden, InvalidInput, NotFound
from services.models import ChangeRecord
from services.units import get_unit

from .auth import require_actor

Builder = Callable[[Actor, str, Mapping[str, str]], documents.Document]
OWN_UNIT = "me"  # the reference of a unit's own lists: /documents/person_accounts/me.pdf


@dataclass(frozen=True)
class PrintPoint:
    kind: str
    build: Builder
    #: For documents of an application: the button's text, and when its page shows it.
    label: str = ""
    shows_on: Callable[[dict], bool] | None = None
    #: How many rows the document would have (a capped count, checking who asks like
    #: `build`), where building it only to count them would cost what printing does.
    size: Callable[[Actor, str, Mapping[str, str]], int] | None = None


PRINT_POINTS: dict[str, PrintPoint] = {}


def print_point(kind: str, label: str = "", shows_on: Callable[[dict], bool] | None = None,
                size: Callable[[Actor, str, Mapping[str, str]], int] | None = None):
    if kind not in documents.LAYOUTS:
        raise ValueError(f"no layout for {kind}")

    def register(build: Builder) -> Builder:
        PRINT_POINTS[kind] = PrintPoint(kind, build, label, shows_on, size)
        return build

    return register


#: The job kind of a large print.
PRINT_JOB = "document_print"


def pdf_response(kind: str, ref: str, queued: Callable[[str], object]):
    """The document as an inline PDF. Rendering comes first, so a failure records
    nothing; the check code's record is the one write. A document of more than
    ASYNC_ROWS rows (a 10,000-row statement renders for seconds) is printed by a job:
    the request checks who asks and what (the print point's refusals come at once),
    queues it and answers `queued(job_id)`; the PDF is the job's file."""
    actor = require_actor()
    point = PRINT_POINTS.get(kind)
    if point is None:
        raise NotFound("没有这种打印文件")
    limit = current_app.config["ASYNC_ROWS"]
    counted = point.size(actor, ref, request.args) if point.size else None
    document = point.build(actor, ref, request.args) if counted is None or counted <= limit \
        else None
    rows = counted if document is None else len(document.rows)
    if rows > limit:
        job_id = jobs.submit(PRINT_JOB, {
            "kind": kind, "ref": ref, "args": dict(request.args.items()),
            "actor": actor_payload(actor), "verify_base": verify_url(""),
            "title": documents.LAYOUTS[kind].title, "back": _same_site_referrer()},
            owner=actor.key, unit_id=actor.unit_id, total=rows)
        db.session.commit()
        return queued(job_id)
    pdf, name = _printed(document, verify_url(""))
    db.session.commit()
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (f"inline; filename=document.pdf; "
                                               f"filename*=UTF-8''{quote(name)}")
    # Names, ID numbers and balances: no browser or proxy cache keeps a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _printed(document: documents.Document, verify_base: str) -> tuple[bytes, str]:
    """Issue the check code, render, and record the code (uncommitted) in a savepoint: the
    same document printed at the same moment elsewhere (a double click, two jobs) is
    recorded once and both prints succeed. The PDF and its file name."""
    issued = documents.issue(document, current_app.config["SECRET_KEY"])
    stamp = documents.Stamp(issued.code, verify_base + issued.code,
                            get_unit(document.unit_id).city.centre_name)
    pdf = documents.render(issued.layout, document, stamp)
    try:
        with db.session.begin_nested():
            documents.record(issued.layout, document, issued.code, issued.digest)
    except IntegrityError:
        if not records.exists(issued.code):
            raise
    return pdf, f"{issued.layout.title}_{document.date:%Y%m%d}.pdf"


def _same_site_referrer() -> str | None:
    """The page the print was asked from, if it is one of ours (the job's page leads back
    there); a foreign or missing referrer gives none."""
    referrer = urlsplit(request.referrer or "")
    path = referrer.path
    # "//evil.example/x" or "/\\evil.example" in an href leave the site: a path of ours only
    if referrer.netloc != request.host or not path.startswith("/") or path.startswith("//") \
            or "\\" in path:
        return None
    return path + (f"?{referrer.query}" if referrer.query else "")


@jobs.handler(PRINT_JOB, "打印文件生成")
def print_job(ctx: jobs.JobContext) -> jobs.Outcome:
    """A large print: built again from what is stored now, rendered with progress."""
    given = ctx.payload
    document = PRINT_POINTS[given["kind"]].build(actor_from(given["actor"]), given["ref"],
                                                 given["args"])
    ctx.progress(0, len(document.rows))
    pdf, name = _printed(document, given["verify_base"])
    ctx.progress(len(document.rows), len(document.rows))
    return jobs.Outcome({"rows": len(document.rows), "message": f"{given['title']}已生成"},
                        pdf, name)


def verify_url(code: str) -> str:
    """Where the QR code leads: HPF_PUBLIC_URL when the hall sits behind a proxy, else
    the address this request came to (with code "": the address codes are appended to)."""
    base = current_app.config.get("PUBLIC_URL") or request.host_url
    return f"{base.rstrip('/')}/verify/{code}"


def instance_prints(detail: dict) -> list[dict]:
    """The print buttons an application's page offers (its `instance_detail`)."""
    return [{"kind": p.kind, "label": p.label,
             "url": url_for("views.document_pdf", kind=p.kind, ref=detail["instance_id"])}
            for p in PRINT_POINTS.values() if p.shows_on and p.shows_on(detail)]


def asks_when_done(task_id: str) -> bool:
    """Whether the task's form asks something once submitted (its `done_prompt`)."""
    form_key = db.session.execute(select(HumanTask.form_key).where(
        HumanTask.id == str(task_id))).scalar()
    return bool(form_key and registry.has_form(form_key)
                and registry.form(form_key).extra.get("done_prompt"))


def done_prompt(detail: dict) -> dict | None:
    """What the unit's last submitted form asks (“提交审批完成，是否打印凭条？”) and the
    document it offers, for the application's page right after submitting."""
    form_key = db.session.execute(
        select(HumanTask.form_key).where(HumanTask.instance_id == detail["instance_id"],
                                         HumanTask.lane == EMPLOYER_LANE, HumanTask.state == DONE)
        .order_by(HumanTask.completed_at.desc()).limit(1)).scalar()
    if not form_key or not registry.has_form(form_key):
        return None
    extra = registry.form(form_key).extra
    if not extra.get("done_prompt"):
        return None
    if extra.get("done_prompt_in_review") and detail["status"] == RUNNING and not \
            db.session.execute(select(ChangeRecord.id).where(
                ChangeRecord.unit_id == detail["unit_id"],
                ChangeRecord.instance_id == detail["instance_id"]).limit(1)).first():
        # all of it waits for the centre: printing now would give an empty document
        return {"text": extra["done_prompt_in_review"], "kind": None, "url": None}
    kind = extra.get("done_print")
    return {"text": extra["done_prompt"], "kind": kind,
            "url": url_for("views.document_pdf", kind=kind, ref=detail["instance_id"])
            if kind in PRINT_POINTS else None}


def own_unit(actor: Actor, ref: str) -> int:
    if not actor.is_operator:
        raise Forbidden("该文件由缴存单位经办人打印")
    if ref != OWN_UNIT:
        raise NotFound("没有这份打印文件")
    return actor.unit_id


def _query_filters(args: Mapping[str, str]) -> person_query.Filters:
    filters, problems = person_query.Filters.parse(args)
    if problems:
        raise InvalidInput("查询条件有误：" + "；".join(problems.values()),
                           {name: [message] for name, message in problems.items()})
    return filters


@print_point("person_accounts")
def person_accounts(actor: Actor, ref: str, args: Mapping[str, str]) -> documents.Document:
    """7.1 【打印】 on 账户信息: the list as filtered."""
    return builders.person_accounts(own_unit(actor, ref), _query_filters(args), today())


@print_point("person_statement")
def person_statement(actor: Actor, ref: str, args: Mapping[str, str]) -> documents.Document:
    """7.1 one depositor's account and 明细; `ref` is the 个人账号."""
    if not actor.is_operator:
        raise Forbidden("该文件由缴存单位经办人打印")
    return builders.person_statement(actor.unit_id, ref[:20], today())


@print_point("person_changes")
def person_changes(actor: Actor, ref: str, args: Mapping[str, str]) -> documents.Document:
    """7.2 【打印】 on 客户信息变更: the records as filtered."""
    return builders.person_changes(own_unit(actor, ref), _query_filters(args), today())


def _finished_base_adjustment(detail: dict) -> bool:
    return detail["process_key"] == "base_adjustment" and detail["status"] == COMPLETED


@print_point("base_adjustment_notice", label="打印审批通知书", shows_on=_finished_base_adjustment)
def base_adjustment_notice(actor: Actor, ref: str, args: Mapping[str, str]
                           ) -> documents.Document:
    """The approval notice of a finished 基数调整; `ref` is the application's number.
    Whoever may see the application may print it (the unit; the reviewers it reached)."""
    if not ref.isdigit() or len(ref) > 12:
        raise NotFound("业务申请不存在")
    instance = instance_for(int(ref), actor)
    if instance.process_key != "base_adjustment" or instance.status != COMPLETED:
        raise BusinessRuleViolation("该申请尚未审批通过办结，不能打印审批通知书")
    steps = history.trail(instance.id)
    approvals = [t for t in steps if t.decision == APPROVE and t.completed_at]
    if not approvals:
        raise BusinessRuleViolation("该申请没有审核通过的记录，不能打印审批通知书")
    review = approvals[-1]
    submissions = [t for t in steps if t.lane == EMPLOYER_LANE and t.completed_at
                   and t.completed_at <= review.completed_at]
    submitted = submissions[-1] if submissions else None
    return builders.base_adjustment_notice(
        instance.unit_id, instance.id,
        initiator=submitted.completed_by_name if submitted else instance.initiator_name,
        submitted_at=submitted.completed_at if submitted else instance.created_at,
        reviewer=review.completed_by_name or "", reviewed_at=review.completed_at,
        decision=dict(DECISIONS)[APPROVE], opinion=review.opinion or "")
