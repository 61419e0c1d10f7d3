"""汇缴 (manual 5.1 单位汇缴核定, 5.2 汇缴核定查询) for unit operators: the month to verify
with its reconciliation and the 【汇缴核定】 button; the verified months not yet allocated
with 明细 (paged, exportable), 打印, 删除 and paying from 未分配."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from engine.actors import OPERATOR
from services import allocation, clock, jobs, ledger, remittance
from services.db import db
from services.errors import HallError, NotFound
from services.months import YearMonth
from services.spreadsheets import table_xlsx

from .. import auth, money_actions, money_prints  # noqa: F401  (money_prints registers prints)
from ..query_args import page_number
from ..xlsx import xlsx_response
from . import bp

TABS = {"verify": "单位汇缴核定", "query": "汇缴核定查询"}
LINES_PER_PAGE = 20
LINE_COLUMNS = [("person_account", "个人账号", 16), ("name", "姓名", 10),
                ("id_number", "证件号码", 22), ("base", "缴存基数", 14),
                ("unit_amount", "单位月缴存额", 14), ("person_amount", "个人月缴存额", 14),
                ("monthly_amount", "月缴存额", 14)]


@bp.get("/remittance")
@auth.login_required(OPERATOR)
def remittance_page():
    actor = auth.current_actor()
    tab = request.args.get("tab", "verify")
    tab = tab if tab in TABS else "verify"
    available = ledger.unallocated_balance(actor.unit_id)
    context = {"tab": tab, "tabs": TABS, "unallocated": available}
    if tab == "verify":
        context["preview"] = remittance.preview(actor.unit_id, clock.today())
    else:
        context["records"] = [(p, remittance.stored_reconciliation(p),
                               allocation.problem(p, available))
                              for p in remittance.unallocated(actor.unit_id)]
        context["back_pays"] = [(p, allocation.problem(p, available))
                                for p in allocation.queue(actor.unit_id) if p.kind == "back_pay"]
    return render_template("remittance/page.html", **context)


def _act(action, tab: str):
    """Run one money action of the page (it returns what to tell the unit): commit and
    say so, or say why not."""
    try:
        message = action()
        db.session.commit()
        flash(message, "success")
    except HallError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("views.remittance_page", tab=tab), code=303)


@bp.post("/remittance/verify")
@auth.login_required(OPERATOR)
def remittance_verify():
    """【汇缴核定】: “核定成功” and the page moves on to the next month."""
    actor = auth.current_actor()
    if money_actions.is_large(actor.unit_id, current_app.config["ASYNC_ROWS"]):
        # a large unit: a job writes the lines; its page follows it
        return _queued(lambda: money_actions.queue_verification(
            actor, request.form.get("month"), url_for("views.remittance_page")), "verify")

    def verify() -> str:
        money_actions.verify_month(actor, request.form.get("month"))
        return "核定成功"

    return _act(verify, "verify")


@bp.post("/remittance/<month>/delete")
@auth.login_required(OPERATOR)
def remittance_delete(month: str):
    actor = auth.current_actor()

    def delete() -> str:
        money_actions.delete_verification(actor, month)
        return "核定删除成功"

    return _act(delete, "query")


@bp.post("/payables/<int:payable_id>/pay")
@auth.login_required(OPERATOR)
def payable_pay(payable_id: int):
    """使用未分配金额缴款."""
    actor = auth.current_actor()
    if money_actions.is_large(actor.unit_id, current_app.config["ASYNC_ROWS"]):
        # a large unit: a job allocates; its page follows it
        return _queued(lambda: money_actions.queue_pay(
            actor, payable_id, url_for("views.remittance_page", tab="query")), "query")

    def pay() -> str:
        return money_actions.paid_text(money_actions.pay_from_unallocated(actor, payable_id))

    return _act(pay, "query")


def _queued(queue, tab: str):
    """A large unit's action as a job: `queue()` checks what would refuse it and queues
    it; the page goes to the job's page, or back to `tab` with the refusal."""
    try:
        job_id = queue()
        db.session.commit()
        return redirect(url_for("views.job_page", job_id=job_id), code=303)
    except HallError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("views.remittance_page", tab=tab), code=303)


def _payable(unit_id: int, month: str):
    try:
        parsed = YearMonth.parse(month, "汇缴年月")
    except ValueError as exc:
        raise NotFound(str(exc)) from None
    payable = remittance.month_payable(unit_id, parsed)
    if payable is None:
        raise NotFound(f"没有 {parsed} 的汇缴核定记录")
    return payable


@bp.get("/remittance/<month>/lines")
@auth.login_required(OPERATOR)
def remittance_lines(month: str):
    """明细: 本期汇缴职工明细, paged."""
    actor = auth.current_actor()
    payable = _payable(actor.unit_id, month)
    page = page_number()
    rows, total = remittance.lines(payable.id, page, LINES_PER_PAGE)
    return render_template("remittance/lines.html", payable=payable, rows=rows, total=total,
                           page=page, per_page=LINES_PER_PAGE,
                           reconciliation=remittance.stored_reconciliation(payable),
                           export_in_background=total > current_app.config["ASYNC_ROWS"])


@bp.get("/remittance/<month>/lines.xlsx")
@auth.login_required(OPERATOR)
def remittance_lines_export(month: str):
    """【导出】 明细; a month of more than ASYNC_ROWS persons is exported by a job (POST)."""
    actor = auth.current_actor()
    payable = _payable(actor.unit_id, month)
    if payable.head_count > current_app.config["ASYNC_ROWS"]:
        flash("本月明细较多，请点击「后台导出」，生成后即可下载", "info")
        return redirect(url_for("views.remittance_lines", month=payable.month))
    return xlsx_response(_lines_xlsx(payable), _lines_name(payable))


@bp.post("/remittance/<month>/lines.xlsx")
@auth.login_required(OPERATOR)
def remittance_lines_export_job(month: str):
    """后台导出 of a month's 明细: the job's page shows progress, then the file."""
    actor = auth.current_actor()
    payable = _payable(actor.unit_id, month)
    job_id = jobs.submit(LINES_EXPORT, {"month": str(payable.month), "back": url_for(
        "views.remittance_lines", month=payable.month)}, owner=actor.key, unit_id=actor.unit_id)
    db.session.commit()
    return redirect(url_for("views.job_page", job_id=job_id), 303)


LINES_EXPORT = "remittance_lines_export"


@jobs.handler(LINES_EXPORT, "汇缴明细导出")
def lines_export_job(ctx: jobs.JobContext) -> jobs.Outcome:
    payable = _payable(ctx.unit_id, ctx.payload["month"])
    ctx.progress(0, payable.head_count)
    return jobs.Outcome({"rows": payable.head_count}, _lines_xlsx(payable, ctx.progress),
                        _lines_name(payable))


def _lines_xlsx(payable, progress=None) -> bytes:
    rows, _ = remittance.lines(payable.id, per_page=0)
    return table_xlsx(f"{payable.month}汇缴明细", LINE_COLUMNS, rows, progress)


def _lines_name(payable) -> str:
    return f"汇缴明细_{payable.month}.xlsx"
