"""缴款登记 for centre finance staff: a payment received by 转账 or 托收 is recorded for a
unit, lands in its 未分配 and pays the verified months it covers. Each form carries its
own idempotency key, so a double click or a resent form records the payment once."""

from __future__ import annotations

import uuid

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from engine.actors import STAFF
from services import payments
from services.db import db
from services.errors import HallError, InvalidInput
from services.models import UnitAccount

from .. import auth, money_actions
from . import bp


@bp.route("/centre/payments", methods=["GET", "POST"])
@auth.login_required(STAFF)
def finance_payments():
    actor = auth.current_actor()
    money_actions.require_finance(actor)
    errors, message, entered = {}, None, {}
    if request.method == "POST":
        entered = {name: (request.form.get(name) or "").strip() for name in payments.FIELDS}
        try:
            job_id = money_actions.queue_payment(entered, actor, current_app.config["ASYNC_ROWS"],
                                                 url_for("views.finance_payments"))
            if job_id is not None:  # a large unit: its 分配 runs as a job
                db.session.commit()
                return redirect(url_for("views.job_page", job_id=job_id), code=303)
            result, replayed = money_actions.deliver_payment(entered, actor)
            db.session.commit()
            flash(("该笔缴款已登记过（同一表单重复提交），未重复记账。" if replayed else "")
                  + result["message"], "success")
            return redirect(url_for("views.finance_payments"), code=303)
        except HallError as exc:
            db.session.rollback()
            message = exc.message
            errors = exc.errors if isinstance(exc, InvalidInput) else {}
    entered.setdefault("idempotency_key", f"desk-{uuid.uuid4().hex}")
    entered.setdefault("method", "transfer")
    recent = payments.recent(20)
    accounts = dict(db.session.execute(select(UnitAccount.unit_id, UnitAccount.account_no).where(
        UnitAccount.unit_id.in_({p.unit_id for p in recent}))).all()) if recent else {}
    page = render_template("finance/payments.html", entered=entered, errors=errors,
                           message=message, recent=recent, accounts=accounts,
                           methods=payments.METHODS)
    return page, 422 if message else 200
