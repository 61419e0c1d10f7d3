"""What a service-task handler knows about the application it runs in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HandlerContext:
    instance_id: int
    unit_id: int
    process_key: str
    process_name: str
    actor: str
    actor_name: str
    now: datetime
