"""Handlers any diagram may call."""

from __future__ import annotations

from services import messages

from . import handler
from .context import HandlerContext


@handler("common.notify")
def notify(ctx: HandlerContext, data: dict, text: str) -> dict:
    """Push a 消息 to the unit; the diagram composes the text (e.g. with the opinion)."""
    messages.push(ctx.unit_id, ctx.process_name, str(text), instance_id=ctx.instance_id)
    return {"sent": True}
