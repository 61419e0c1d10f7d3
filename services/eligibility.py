"""Who may take part in a business, written once: the row check when a 清册 row is entered
and the submission check that runs again before the centre sees it both call these, so
the two can never disagree. Each answers the problem in Chinese, or None."""

from __future__ import annotations

from .models.person import PERSON_STATUSES
from .months import YearMonth


def status_problem(status: str, required: str, action: str) -> str | None:
    """A person's account must be in `required` (e.g. 01 正常) for `action`."""
    if status == required:
        return None
    return (f"该职工账户状态为「{PERSON_STATUSES.get(status, status)}」，只有状态"
            f"{PERSON_STATUSES.get(required, required)}的职工才可{action}")


def effective_month_problem(month: YearMonth, due_month: YearMonth,
                            current_month: YearMonth) -> str | None:
    """生效年月 of a base adjustment: from the unit's 应汇缴年月 to the current month."""
    if due_month <= month <= current_month:
        return None
    return no_effective_month(due_month, current_month) or (
        f"生效年月须在 {due_month} 至 {current_month} 之间（不早于应汇缴年月，不晚于当前月份）")


def no_effective_month(due_month: YearMonth, current_month: YearMonth) -> str | None:
    """Why no month can be a 生效年月 now, if none can: the unit has already remitted the
    current month, so the window from its 应汇缴年月 to the current month is empty."""
    if due_month <= current_month:
        return None
    return (f"本单位已汇缴至 {due_month - 1}，本月已没有可调整的生效年月（须不早于应汇缴年月 "
            f"{due_month}、不晚于当前月份）：请于 {due_month} 起办理基数调整")
