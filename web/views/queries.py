"""缴存人信息查询 (manual chapter 7) for unit operators: 账户信息 with export, and the
depositors' 客户信息变更 records. Filters are GET parameters; nothing here changes data."""

from __future__ import annotations

from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for

from engine.actors import OPERATOR
from services import jobs, person_query
from services.clock import today
from services.db import db
from services.models.person import PERSON_STATUSES
from services.spreadsheets import table_xlsx

from .. import auth
from ..query_args import page_number
from ..xlsx import xlsx_response
from . import bp, percent_text

PER_PAGE = 20
TABS = {"accounts": "账户信息", "changes": "客户信息变更"}
EXPORT_COLUMNS = [
    ("person_account", "个人账号", 16), ("name", "姓名", 10), ("id_number", "证件号码", 22),
    ("status_name", "账户状态", 10), ("opened_on", "开户日期", 12), ("base", "缴存基数", 14),
    ("person_rate_text", "个人缴存比例", 12), ("monthly_amount", "月缴存额", 14),
    ("paid_through", "缴至年月", 10), ("balance", "账户余额", 16),
]


@bp.get("/queries/persons")
@auth.login_required(OPERATOR)
def person_query_page():
    actor = auth.current_actor()
    tab = request.args.get("tab", "accounts")
    tab = tab if tab in TABS else "accounts"
    page = page_number()
    filters, problems = person_query.Filters.parse(request.args)
    query = person_query.accounts if tab == "accounts" else person_query.changes
    rows, total = query(actor.unit_id, filters, page, PER_PAGE)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("queries/persons.html", tab=tab, tabs=TABS, rows=rows, total=total,
                           page=page, per_page=PER_PAGE, filters=filters, problems=problems,
                           statuses=PERSON_STATUSES, args=args, print_args=filters.to_args(),
                           export_in_background=total > current_app.config["ASYNC_ROWS"])


@bp.get("/queries/persons/accounts.xlsx")
@auth.login_required(OPERATOR)
def person_accounts_export():
    """【导出】: every account matching the filters (not just the page shown). Above
    ASYNC_ROWS rows the page offers the background export below instead."""
    filters, _ = person_query.Filters.parse(request.args)
    unit_id = auth.current_actor().unit_id
    if person_query.accounts(unit_id, filters, per_page=1)[1] > current_app.config["ASYNC_ROWS"]:
        flash("符合条件的数据较多，请点击「后台导出」，生成后即可下载", "info")
        return redirect(url_for("views.person_query_page", **request.args))
    rows, _ = person_query.accounts(unit_id, filters, per_page=0)
    return xlsx_response(_export(rows), _export_name())


@bp.post("/queries/persons/accounts.xlsx")
@auth.login_required(OPERATOR)
def person_accounts_export_job():
    """后台导出: a large export runs as a job; its page shows progress, then the file."""
    filters, _ = person_query.Filters.parse(request.args)
    actor = auth.current_actor()
    job_id = jobs.submit(EXPORT_JOB, {"q": filters.q, "status": filters.status,
                                      "since": _day(filters.since), "until": _day(filters.until)},
                         owner=actor.key, unit_id=actor.unit_id)
    db.session.commit()
    return redirect(url_for("views.job_page", job_id=job_id), 303)


EXPORT_JOB = "person_accounts_export"


@jobs.handler(EXPORT_JOB, "缴存人账户信息导出")
def export_job(ctx: jobs.JobContext) -> jobs.Outcome:
    given = ctx.payload
    filters = person_query.Filters(
        q=given["q"], status=given["status"],
        since=date.fromisoformat(given["since"]) if given["since"] else None,
        until=date.fromisoformat(given["until"]) if given["until"] else None)
    rows, _ = person_query.accounts(ctx.unit_id, filters, per_page=0)
    total = len(rows)  # the count beside them stops at COUNT_CAP
    ctx.progress(0, total)
    content = _export(rows, ctx.progress)
    return jobs.Outcome({"rows": total}, content, _export_name())


def _export(rows: list[dict], progress=None) -> bytes:
    for row in rows:
        row["person_rate_text"] = percent_text(row["person_rate"])
    return table_xlsx("缴存人账户信息", EXPORT_COLUMNS, rows, progress)


def _export_name() -> str:
    return f"缴存人账户信息_{today():%Y%m%d}.xlsx"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None
