"""Who acts: a unit's operator, a centre staff member, or the system (timers, messages)."""

from __future__ import annotations

from dataclasses import dataclass, field

OPERATOR, STAFF, SYSTEM = "operator", "staff", "system"
EMPLOYER_LANE, REVIEWER_LANE, FINANCE_LANE = "employer", "centre_reviewer", "centre_finance"
ANALYST = "analyst"  # a centre staff role
#: Lane roles a diagram may use (lane id or name).
ROLES = {EMPLOYER_LANE: "缴存单位", REVIEWER_LANE: "中心审核", FINANCE_LANE: "中心财务"}


@dataclass(frozen=True)
class Actor:
    kind: str
    id: int
    name: str
    unit_id: int | None = None
    groups: frozenset[str] = field(default_factory=frozenset)
    role: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def is_operator(self) -> bool:
        return self.kind == OPERATOR

    @property
    def is_staff(self) -> bool:
        return self.kind == STAFF

    @property
    def is_analyst(self) -> bool:
        """业务分析员: deploys new versions of the businesses' diagrams."""
        return self.kind == STAFF and self.role == ANALYST


SYSTEM_ACTOR = Actor(kind=SYSTEM, id=0, name="系统")


def role_of(lane_id: str, name: str) -> str | None:
    """The role a lane stands for: its id or its name must be a role key."""
    return lane_id if lane_id in ROLES else name if name in ROLES else None
