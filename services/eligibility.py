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


def first_effective_month(due_month: YearMonth, verified: YearMonth | None) -> YearMonth:
    """The earliest 生效年月: the unit's 应汇缴年月, or the month after one whose 汇缴核定
    stands (`verified`): that fixed its amounts, so a base changed in it would not be paid."""
    return max(due_month, verified + 1) if verified else due_month


def effective_month_problem(month: YearMonth, due_month: YearMonth, current_month: YearMonth,
                            verified: YearMonth | None = None) -> str | None:
    """生效年月 of a base adjustment: from the unit's 应汇缴年月 (and after any month already
    verified, `verified`) to the current month."""
    first = first_effective_month(due_month, verified)
    if first <= month <= current_month:
        return None
    if verified and due_month <= month <= verified:
        return _verified_text(month, verified)
    return no_effective_month(due_month, current_month, verified) or (
        f"生效年月须在 {first} 至 {current_month} 之间（不早于应汇缴年月，不晚于当前月份）")


def no_effective_month(due_month: YearMonth, current_month: YearMonth,
                       verified: YearMonth | None = None) -> str | None:
    """Why no month can be a 生效年月 now, if none can: the unit has already remitted, or
    verified, the current month, so the window up to the current month is empty."""
    if first_effective_month(due_month, verified) <= current_month:
        return None
    if due_month <= current_month:  # verified, not yet paid
        return "本月已没有可调整的生效年月：" + _verified_text(due_month, verified)
    return (f"本单位已汇缴至 {due_month - 1}，本月已没有可调整的生效年月（须不早于应汇缴年月 "
            f"{due_month}、不晚于当前月份）：请于 {due_month} 起办理基数调整")


def _verified_text(month: YearMonth, verified: YearMonth) -> str:
    months = str(month) if month == verified else f"{month} 至 {verified}"
    return (f"{verified} 已完成汇缴核定，缴存额已按原基数确定：如需自 {month} 起调整，请先在"
            f"汇缴核定中删除 {months} 的核定，再办理基数调整")
