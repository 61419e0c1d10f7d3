"""账户状态变更查询 (manual 7.3) for unit operators: the unit's 开户, 封存, 启封, 转入 and
转出 records, filtered by person, change type and date, with export and print. Nothing
here changes data (a print records its check code only)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app, flash, redirect, render_template, request, url_for

from engine.actors import OPERATOR, Actor
from services import documents, jobs, status_query
from services.clock import today
from services.db import db
from services.documents import builders
from services.errors import InvalidInput
from services.models.account_event import CHANGES
from services.spreadsheets import table_xlsx

from .. import auth
from ..printing import own_unit, print_point
from ..query_args import page_number
from ..xlsx import xlsx_response
from . import bp

PER_PAGE = 20
EXPORT_COLUMNS = [
    ("at", "变更时间", 18), ("person_account", "个人账号", 16), ("name", "姓名", 10),
    ("id_number", "证件号码", 22), ("change_name", "变更类型", 10),
    ("from_status", "变更前状态", 12), ("to_status", "变更后状态", 12),
    ("month", "生效年月", 10), ("reason", "变更原因", 10), ("actor", "经办人", 12),
]


@bp.get("/queries/status-changes")
@auth.login_required(OPERATOR)
def status_query_page():
    actor = auth.current_actor()
    page = page_number()
    filters, problems = status_query.Filters.parse(request.args)
    rows, total = status_query.events(actor.unit_id, filters, page, PER_PAGE)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("status_query/page.html", rows=rows, total=total, page=page,
                           per_page=PER_PAGE, filters=filters, problems=problems,
                           changes=CHANGES, args=args,
                           export_in_background=total > current_app.config["ASYNC_ROWS"])


@bp.get("/queries/status-changes.xlsx")
@auth.login_required(OPERATOR)
def status_query_export():
    """【导出】: every record matching the filters. Above ASYNC_ROWS records the page
    offers 后台导出 instead (a job), and this link says so."""
    filters, _ = status_query.Filters.parse(request.args)
    unit_id = auth.current_actor().unit_id
    if status_query.events(unit_id, filters, per_page=1)[1] > current_app.config["ASYNC_ROWS"]:
        flash("符合条件的记录较多，请点击「后台导出」，生成后即可下载", "info")
        return redirect(url_for("views.status_query_page", **request.args))
    rows, _ = status_query.events(unit_id, filters, per_page=0)
    return xlsx_response(table_xlsx("账户状态变更记录", EXPORT_COLUMNS, rows), _export_name())


@bp.post("/queries/status-changes.xlsx")
@auth.login_required(OPERATOR)
def status_query_export_job():
    """后台导出: a large export runs as a job; its page shows progress, then the file,
    and leads back to the query as it was."""
    filters, _ = status_query.Filters.parse(request.args)
    actor = auth.current_actor()
    job_id = jobs.submit(EXPORT_JOB, {**filters.to_args(), "back": url_for(
        "views.status_query_page", **filters.to_args())}, owner=actor.key, unit_id=actor.unit_id)
    db.session.commit()
    return redirect(url_for("views.job_page", job_id=job_id), 303)


EXPORT_JOB = "status_changes_export"


@jobs.handler(EXPORT_JOB, "账户状态变更记录导出")
def export_job(ctx: jobs.JobContext) -> jobs.Outcome:
    filters, _ = status_query.Filters.parse(ctx.payload)
    rows, _ = status_query.events(ctx.unit_id, filters, per_page=0)
    total = len(rows)  # the count beside them stops at COUNT_CAP
    ctx.progress(0, total)
    return jobs.Outcome({"rows": total}, table_xlsx("账户状态变更记录", EXPORT_COLUMNS, rows,
                                                    ctx.progress), _export_name())


def _export_name() -> str:
    return f"账户状态变更记录_{today():%Y%m%d}.xlsx"


def _print_filters(actor: Actor, ref: str, args: Mapping[str, str]
                   ) -> tuple[int, status_query.Filters]:
    unit_id = own_unit(actor, ref)
    filters, problems = status_query.Filters.parse(args)
    if problems:
        raise InvalidInput("查询条件有误：" + "；".join(problems.values()),
                           {name: [message] for name, message in problems.items()})
    return unit_id, filters


def _print_size(actor: Actor, ref: str, args: Mapping[str, str]) -> int:
    return status_query.events(*_print_filters(actor, ref, args), per_page=1)[1]


@print_point("person_status_changes", size=_print_size)
def status_changes_document(actor: Actor, ref: str, args: Mapping[str, str]
                            ) -> documents.Document:
    """7.3 【打印】: the unit's records as filtered (`ref` is “me”); more than ASYNC_ROWS
    are printed by a job (web/printing.py), decided by a count before any is read."""
    unit_id, filters = _print_filters(actor, ref, args)
    return builders.person_status_changes(unit_id, filters, today())
