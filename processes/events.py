"""Message events the hall delivers to waiting applications (`engine.runner.send_message`),
by the name a diagram's message must carry. A diagram may wait only for these: a message
nobody sends would leave the application waiting for ever."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "payment_arrived": "缴款到账",
    "verification_deleted": "汇缴核定已删除",
}
