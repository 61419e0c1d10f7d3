"""What a service-task handler knows about the application it runs in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HandlerContext:
    """`actor` acts now (e.g. the reviewer approving); `initiator` applied (the unit's
    operator, 经办人), which change records name."""

    instance_id: int
    unit_id: int
    process_key: str
    process_name: str
    actor: str
    actor_name: str
    now: datetime
    initiator: str = ""
    initiator_name: str = ""
