"""Money: 缴款 (centre finance, bank integrations), 汇缴核定 and its query, paying from
未分配, and the unit's 账户信息 and 业务流水 (manual 5.1, 5.2, 8.2, 8.3)."""

from __future__ import annotations

from datetime import date

from flask import current_app, request, url_for
from flask_smorest import Blueprint
from marshmallow import fields, validate

from engine.actors import OPERATOR
from forms.fields import HallSchema, Int, Str
from services import allocation, clock, ledger, remittance, unit_query
from services.db import db
from services.errors import InvalidInput, NotFound
from services.months import YearMonth

from .. import money_actions
from ..auth import require_actor
from . import responses as R
from .jobs import queued
from .schemas import Page

PREFIX = ""
blp = Blueprint("api_money", __name__, description="汇缴、缴款、单位账户与业务流水")
DATE_ERROR = {"invalid": "日期格式应为 YYYY-MM-DD"}


class LinesArgs(Page):
    per_page = Int(load_default=50, validate=validate.Range(
        min=1, max=500, error="每页条数须在 1-500 之间"))


class RangeArgs(HallSchema):
    since = fields.Date(data_key="from", load_default=None, error_messages=DATE_ERROR)
    until = fields.Date(data_key="to", load_default=None, error_messages=DATE_ERROR)


class LedgerArgs(Page):
    type = Str(load_default=None)
    since = fields.Date(data_key="from", load_default=None, error_messages=DATE_ERROR)
    until = fields.Date(data_key="to", load_default=None, error_messages=DATE_ERROR)


class VerifySchema(HallSchema):
    month = Str(load_default=None, metadata={"description": "汇缴年月 YYYY-MM，默认为下一个应核定的年月"})


@blp.post("/payments")
@blp.alt_response(200, schema=R.Payment, success=True)
@blp.alt_response(201, schema=R.Payment, success=True)
@blp.alt_response(202, schema=R.Queued, success=True)
@blp.doc(requestBody=R.BODIES["PAYMENT"])
def receive_payment():
    """登记缴款（中心财务或银行接口）：unit_account、amount、method（transfer 转账 / collection 托收）、
    reference（银行流水号）、idempotency_key。同一幂等键再次提交不做任何更改，返回首次的结果（200）；
    首次为 201。到账后按顺序分配其足额覆盖的已核定月份，其余留作单位未分配金额。正常缴存人超过
    HPF_ASYNC_ROWS 人的单位，通知校验通过后由后台任务登记并分配：返回 202 与任务地址，任务结果即
    本接口首次的结果；任务完成后同一幂等键再次提交即时返回该结果（200）。"""
    actor = require_actor()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体须为 JSON 对象", {"_schema": ["请求体须为 JSON 对象"]})
    job_id = money_actions.queue_payment(body, actor, current_app.config["ASYNC_ROWS"],
                                         url_for("views.finance_payments"))
    if job_id is not None:  # a large unit: its 分配 moves every person's 缴至年月
        db.session.commit()
        return queued(job_id)
    result, replayed = money_actions.deliver_payment(body, actor)
    db.session.commit()
    return {**result, "replayed": replayed}, 200 if replayed else 201


@blp.get("/remittance")
@blp.alt_response(200, schema=R.Preview, success=True)
def remittance_preview():
    """单位汇缴核定：下一个应核定的年月、人数、金额，及上月 + 增加 − 减少 = 本月（人数与金额，按原因）。"""
    actor = require_actor(OPERATOR)
    preview = remittance.preview(actor.unit_id, clock.today())
    return {**preview.to_dict(), "unallocated": str(ledger.unallocated_balance(actor.unit_id))}


@blp.post("/remittances")
@blp.arguments(VerifySchema)
@blp.alt_response(201, schema=R.VerifiedMonth, success=True)
@blp.alt_response(202, schema=R.Queued, success=True)
def verify(args):
    """汇缴核定：固定该月的缴存人数与金额（“核定成功”）；未来月份、未按月依次、有未办结的基数调整、
    单位已封存时拒绝并说明原因。正常缴存人超过 HPF_ASYNC_ROWS 人的单位：拒绝的原因即时返回，
    否则由后台任务核定，返回 202 与任务地址（结果见 GET /remittances/{month}）。"""
    actor = require_actor(OPERATOR)
    if money_actions.is_large(actor.unit_id, current_app.config["ASYNC_ROWS"]):
        job_id = money_actions.queue_verification(actor, args["month"],
                                                  url_for("views.remittance_page"))
        db.session.commit()
        return queued(job_id)
    payable = money_actions.verify_month(actor, args["month"])
    db.session.commit()
    return {**remittance.payable_dict(payable), "message": "核定成功",
            "next_month": str(remittance.next_month(actor.unit_id))}, 201


@blp.get("/remittances")
@blp.alt_response(200, schema=R.Payables, success=True)
def unallocated_verifications():
    """汇缴核定查询：已核定、未分配的记录（最早的在前），及单位未分配金额。"""
    actor = require_actor(OPERATOR)
    available = ledger.unallocated_balance(actor.unit_id)
    items = []
    for payable in remittance.unallocated(actor.unit_id):
        item = remittance.payable_dict(payable)
        item["pay_problem"] = allocation.problem(payable, available)
        items.append(item)
    return {"items": items, "unallocated": str(available)}


def _verified(unit_id: int, month: str):
    try:
        parsed = YearMonth.parse(month, "汇缴年月")
    except ValueError as exc:
        raise NotFound(str(exc)) from None
    payable = remittance.month_payable(unit_id, parsed)
    if payable is None:
        raise NotFound(f"没有 {parsed} 的汇缴核定记录")
    return payable


@blp.get("/remittances/<month>")
@blp.alt_response(200, schema=R.Payable, success=True)
def verification(month: str):
    """一个月的汇缴核定记录。"""
    actor = require_actor(OPERATOR)
    return remittance.payable_dict(_verified(actor.unit_id, month))


@blp.get("/remittances/<month>/lines")
@blp.arguments(LinesArgs, location="query")
@blp.alt_response(200, schema=R.Rows, success=True)
def verification_lines(args, month: str):
    """明细：本期汇缴职工（个人账号、姓名、证件号码、缴存基数、单位/个人月缴存额、月缴存额），分页。"""
    actor = require_actor(OPERATOR)
    payable = _verified(actor.unit_id, month)
    rows, total = remittance.lines(payable.id, args["page"], args["per_page"])
    return {"items": [_plain(r) for r in rows], "total": total, "page": args["page"],
            "per_page": args["per_page"]}


@blp.delete("/remittances/<month>")
@blp.alt_response(200, schema=R.VerificationDeleted, success=True)
def delete_verification(month: str):
    """删除未缴款的核定记录（“核定删除成功”），该月重新成为应核定的月份。"""
    actor = require_actor(OPERATOR)
    money_actions.delete_verification(actor, month)
    db.session.commit()
    return {"message": "核定删除成功", "next_month": str(remittance.next_month(actor.unit_id))}


@blp.post("/payables/<int:payable_id>/pay")
@blp.alt_response(200, schema=R.Paid, success=True)
@blp.alt_response(202, schema=R.Queued, success=True)
def pay_from_unallocated(payable_id: int):
    """使用单位未分配金额缴纳一笔已核定的汇缴或已审批的补缴（须足额，且按月依次）。正常缴存人超过
    HPF_ASYNC_ROWS 人的单位：不能缴纳的原因即时返回，否则由后台任务分配，返回 202 与任务地址。"""
    actor = require_actor(OPERATOR)
    if money_actions.is_large(actor.unit_id, current_app.config["ASYNC_ROWS"]):
        job_id = money_actions.queue_pay(actor, payable_id,
                                         url_for("views.remittance_page", tab="query"))
        db.session.commit()
        return queued(job_id)
    paid = money_actions.pay_from_unallocated(actor, payable_id)
    db.session.commit()
    return {**paid, "unallocated": str(ledger.unallocated_balance(actor.unit_id))}


@blp.get("/units/me/account")
@blp.arguments(RangeArgs, location="query")
@blp.alt_response(200, schema=R.Account, success=True)
def account(args):
    """账户信息：期初余额、本期增加、本期减少、期末余额、单位未分配金额（from、to，默认本年初至今天）。"""
    actor = require_actor(OPERATOR)
    since, until = date_range(args["since"], args["until"])
    return unit_query.account_info(actor.unit_id, since, until).to_dict()


def date_range(since: date | None, until: date | None) -> tuple[date, date]:
    today = clock.today()
    until = until or today
    since = since or date(until.year, 1, 1)
    if since > until:
        raise InvalidInput("开始日期不能晚于结束日期", {"from": ["开始日期不能晚于结束日期"]})
    return since, until


@blp.get("/units/me/ledger")
@blp.arguments(LedgerArgs, location="query")
@blp.alt_response(200, schema=R.Rows, success=True)
def ledger_rows(args):
    """业务流水：type 为 verify（汇缴核定）、remit（汇缴）、back_pay（补缴）、payment（缴款）、
    transfer（转移）、interest（结息）或其中文名；from、to 为记账日期。"""
    actor = require_actor(OPERATOR)
    biz = unit_query.parse_type(args["type"])
    if args["type"] and biz is None:
        raise InvalidInput("业务类型无效", {"type": ["须为 verify、remit、back_pay、payment、"
                                                   "transfer、interest 或其中文名"]})
    rows, total = unit_query.ledger_rows(actor.unit_id, biz, args["since"], args["until"],
                                         args["page"], args["per_page"])
    return {"items": [_plain(r) for r in rows], "total": total, "page": args["page"],
            "per_page": args["per_page"]}


@blp.get("/units/me/ledger/<serial>/details")
@blp.arguments(LinesArgs, location="query")
@blp.alt_response(200, schema=R.LedgerDetails, success=True)
def ledger_details(args, serial: str):
    """业务明细：个人账号、姓名、记账日期、发生额、发生利息额、业务明细类型。"""
    actor = require_actor(OPERATOR)
    entry, rows, total = unit_query.details(actor.unit_id, serial, args["page"], args["per_page"])
    return {"business": _plain(unit_query.row_dict(entry)),
            "items": [_plain(r) for r in rows], "total": total,
            "page": args["page"], "per_page": args["per_page"]}


def _plain(row: dict) -> dict:
    """A row for JSON: amounts as strings to the 分, dates as ISO text."""
    return {k: (v.isoformat() if isinstance(v, date) else str(v)
                if v is not None and not isinstance(v, (str, int, bool)) else v)
            for k, v in row.items()}
