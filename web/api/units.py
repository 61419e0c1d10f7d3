"""The unit's own information, depositors and messages."""

from __future__ import annotations

from flask_smorest import Blueprint

from engine.actors import OPERATOR
from engine.tasks import list_tasks
from services import messages, persons
from services.clock import iso
from services.db import db
from services.units import account_summary

from ..auth import require_actor
from . import responses as R
from .schemas import MessageArgs, PersonArgs

PREFIX = ""
blp = Blueprint("api_units", __name__, description="单位信息、缴存人与消息")


@blp.get("/units/me")
@blp.alt_response(200, schema=R.Unit, success=True)
def unit_me():
    """单位基本信息与账户信息（余额、未分配金额、缴至年月）。"""
    actor = require_actor(OPERATOR)
    return account_summary(actor.unit_id).to_dict()


@blp.get("/persons")
@blp.arguments(PersonArgs, location="query")
@blp.alt_response(200, schema=R.PersonPage, success=True)
def list_persons(args):
    """本单位缴存人：可按状态和姓名、个人账号、证件号码查询。"""
    actor = require_actor(OPERATOR)
    rows, total = persons.search(actor.unit_id, args["q"], args["status"], args["page"],
                                 args["per_page"])
    return {"items": [persons.person_row(r) for r in rows], "total": total,
            "page": args["page"], "per_page": args["per_page"]}


@blp.get("/messages")
@blp.arguments(MessageArgs, location="query")
@blp.alt_response(200, schema=R.MessagePage, success=True)
def list_messages(args):
    """消息：最新在前。"""
    actor = require_actor(OPERATOR)
    rows, total = messages.list_for_unit(actor.unit_id, args["page"], args["per_page"],
                                         unread_only=args["unread"])
    return {"items": [message_dict(m) for m in rows], "total": total,
            "unread": messages.unread_count(actor.unit_id)}


@blp.get("/messages/<int:message_id>")
@blp.alt_response(200, schema=R.Message, success=True)
def open_message(message_id: int):
    """打开消息（不改变已读状态）。"""
    actor = require_actor(OPERATOR)
    return message_dict(messages.get_message(actor.unit_id, message_id))


@blp.post("/messages/<int:message_id>/read")
@blp.alt_response(200, schema=R.Message, success=True)
def mark_read(message_id: int):
    """标记消息为已读。"""
    actor = require_actor(OPERATOR)
    message = messages.mark_read(actor.unit_id, message_id)
    db.session.commit()
    return message_dict(message)


@blp.get("/counters")
@blp.alt_response(200, schema=R.Counters, success=True)
def counters():
    """未读消息数与待办数（页面据此提示新消息并播放音效）。"""
    actor = require_actor()
    todo = list_tasks(actor, "todo", per_page=1)[1]
    if actor.is_operator:
        return {"unread_messages": messages.unread_count(actor.unit_id), "todo": todo}
    return {"unread_messages": 0, "todo": todo, "group": list_tasks(actor, "group", per_page=1)[1]}


def message_dict(message) -> dict:
    return {"id": message.id, "business": message.business, "content": message.content,
            "at": iso(message.created_at), "channel": message.channel,
            "read": message.read_at is not None, "instance_id": message.instance_id}
