"""The employer's home page (manual 1.2) and 消息 (2.1)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from engine.actors import OPERATOR
from engine.tasks import list_tasks
from processes import BUSINESSES
from services import messages
from services.db import db
from services.units import account_summary

from .. import auth
from ..query_args import page_number
from ..reads import reads_only
from . import bp

#: The module tiles of manual 1.2, in its order: (key, name, short description).
TILES = (
    ("unit_info_change", "单位信息变更", "变更单位登记信息"),
    ("base_adjustment", "基数调整", "调整职工缴存基数"),
    ("remittance", "汇缴", "逐月核定与缴款"),
    ("back_pay", "补缴", "补缴少缴、漏缴月份"),
    ("person_info_change", "缴存人信息变更", "变更职工基本信息"),
    ("unit_query", "单位信息查询", "变更记录、账户与流水"),
    ("registration", "缴存人登记", "新职工开户登记"),
    ("person_query", "缴存人信息查询", "账户信息与变更记录"),
    ("status_change", "缴存人状态变更", "封存与启封"),
    ("transfer", "缴存人单位调整", "同城单位间转移"),
)
PREVIEW = 5


#: Tiles that open a page of their own (a query, or a business with its own page such as
#: 汇缴) rather than the generic page of a business's workflow.
QUERY_PAGES = {"person_query": "views.person_query_page", "remittance": "views.remittance_page",
               "unit_query": "views.unit_query_page"}


def tiles() -> list[dict]:
    result = []
    for key, name, hint in TILES:
        if key in QUERY_PAGES:
            url = url_for(QUERY_PAGES[key])
        elif key in BUSINESSES:
            url = url_for("views.open_business", key=key)
        else:
            url = None
        result.append({"key": key, "name": name, "hint": hint, "built": url is not None,
                       "url": url})
    return result


@bp.get("/")
@reads_only
def home():
    actor = auth.current_actor()
    if actor is None:
        return redirect(url_for("views.login"))
    if actor.is_analyst:
        return redirect(url_for("views.processes"))
    if not actor.is_operator:
        return redirect(url_for("views.centre_desk"))
    summary = account_summary(actor.unit_id)
    # Only 待办 shows its total; the other previews link to their full lists.
    centre = {which: list_tasks(actor, which, per_page=PREVIEW, count=which == "todo")
              for which in ("todo", "done", "initiated")}
    latest, unread = messages.latest_for_unit(actor.unit_id, PREVIEW)
    return render_template("hall/home.html", summary=summary, tiles=tiles(), centre=centre,
                           messages=latest, unread=unread)


@bp.get("/messages")
@reads_only
@auth.login_required(OPERATOR)
def message_list():
    actor = auth.current_actor()
    page = page_number()
    unread_only = request.args.get("unread") == "1"
    rows, total = messages.list_for_unit(actor.unit_id, page, 15, unread_only=unread_only)
    return render_template("hall/messages.html", rows=rows, total=total, page=page, per_page=15,
                           unread_only=unread_only)


@bp.get("/messages/<int:message_id>")
@auth.login_required(OPERATOR)
def message_detail(message_id: int):
    """Opening a message shows 业务名称, 消息内容, 时间, 推送渠道; the page then marks it
    read by a POST (see hall.js)."""
    message = messages.get_message(auth.current_actor().unit_id, message_id)
    return render_template("hall/message.html", message=message)


@bp.post("/messages/<int:message_id>/read")
@auth.login_required(OPERATOR)
def message_read(message_id: int):
    messages.mark_read(auth.current_actor().unit_id, message_id)
    db.session.commit()
    if request.headers.get("X-Requested-With") == "fetch":
        return {"read": True}
    return redirect(url_for("views.message_detail", message_id=message_id))
