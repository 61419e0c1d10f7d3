"""消息: notices pushed to a unit's task centre."""

from __future__ import annotations

import re

from sqlalchemy import bindparam, func, select

from .db import db, page_statements, prepared, run_page, utcnow
from .errors import NotFound
from .models import Message

#: A sentence end followed by more full stops: a diagram's text ends a quoted opinion
#: with 。 when the opinion already ended with one.
_DOUBLED_END = re.compile(r"([。！？!?])。+")


def push(unit_id: int, business: str, content: str, instance_id: int | None = None) -> Message:
    message = Message(unit_id=unit_id, business=business,
                      content=_DOUBLED_END.sub(r"\1", content),
                      instance_id=instance_id, created_at=utcnow())
    db.session.add(message)
    return message


#: How 消息 are listed: the newest first.
_NEWEST_FIRST = (Message.created_at.desc(), Message.id.desc())


def list_for_unit(unit_id: int, page: int = 1, per_page: int = 10, unread_only: bool = False,
                  business: str | None = None) -> tuple[list[Message], int]:
    def build():
        query = select(Message).where(Message.unit_id == bindparam("unit_id"))
        if unread_only:
            query = query.where(Message.read_at.is_(None))
        if business:
            query = query.where(Message.business == bindparam("business"))
        return page_statements(query, *_NEWEST_FIRST)

    return run_page(prepared((__name__, unread_only, bool(business)), build),
                    {"unit_id": unit_id, "business": business}, page, per_page)


_UNREAD = select(func.count()).select_from(Message).where(
    Message.unit_id == bindparam("unit_id"), Message.read_at.is_(None))
#: The latest messages, each carrying the unit's unread count (home asks both at once).
_LATEST = (select(Message, _UNREAD.correlate(None).scalar_subquery())
           .where(Message.unit_id == bindparam("unit_id"))
           .order_by(*_NEWEST_FIRST).limit(bindparam("limit")))


def unread_count(unit_id: int) -> int:
    return db.session.execute(_UNREAD, {"unit_id": unit_id}).scalar_one()


def latest_for_unit(unit_id: int, limit: int) -> tuple[list[Message], int]:
    """The unit's `limit` latest messages and how many of all its messages are unread, in
    one statement (no message at all: none unread)."""
    rows = db.session.execute(_LATEST, {"unit_id": unit_id, "limit": limit}).all()
    return [message for message, _ in rows], rows[0][1] if rows else 0


def get_message(unit_id: int, message_id: int) -> Message:
    """Another unit's message is 'not found', not 'forbidden'."""
    message = db.session.get(Message, message_id)
    if message is None or message.unit_id != unit_id:
        raise NotFound("消息不存在")
    return message


def mark_read(unit_id: int, message_id: int) -> Message:
    """The page a message opens on marks it read by a POST (a link from another site, a
    GET, can open a message but never change it)."""
    message = get_message(unit_id, message_id)
    if message.read_at is None:
        message.read_at = utcnow()
    return message
