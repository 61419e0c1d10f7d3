"""Year-month arithmetic (年月: 缴至年月, 应汇缴年月, 生效年月…)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .text import ascii_number_text, shown

_PATTERN = re.compile(r"^\s*([0-9]{4})[-/.年]?([0-9]{1,2})月?\s*$")


@dataclass(frozen=True, order=True)
class YearMonth:
    year: int
    month: int

    def __post_init__(self):
        if not 1 <= self.month <= 12 or not 1900 <= self.year <= 2999:
            raise ValueError(f"年月无效：{self.year}-{self.month}")

    @classmethod
    def parse(cls, text: object, label: str = "年月") -> YearMonth:
        """Accepts 2026-07, 202607, 2026/7, 2026年7月."""
        if isinstance(text, YearMonth):
            return text
        if isinstance(text, date):
            return cls(text.year, text.month)
        if not isinstance(text, (str, int)) or isinstance(text, bool):
            raise ValueError(f"{label}格式应为 YYYY-MM，收到：{shown(repr(text))}")
        match = _PATTERN.match(ascii_number_text(text, label))
        if not match:
            raise ValueError(f"{label}格式应为 YYYY-MM，收到：{shown(text)}")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"{label}的月份应在 1-12 之间，收到：{shown(text)}")
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> YearMonth:
        return cls(day.year, day.month)

    @classmethod
    def from_int(cls, value: int) -> YearMonth:
        return cls(value // 100, value % 100)

    def to_int(self) -> int:
        return self.year * 100 + self.month

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __add__(self, months: int) -> YearMonth:
        index = self.year * 12 + (self.month - 1) + months
        return YearMonth(index // 12, index % 12 + 1)

    def __sub__(self, other: int | YearMonth):
        if isinstance(other, YearMonth):
            return (self.year * 12 + self.month) - (other.year * 12 + other.month)
        return self + (-other)

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def contribution_year_start(self, start_month: int) -> YearMonth:
        """First month of the 缴存年度 this month belongs to (July by default)."""
        year = self.year if self.month >= start_month else self.year - 1
        return YearMonth(year, start_month)

    def until(self, last: YearMonth) -> list[YearMonth]:
        """Months from self to last, both included."""
        return [self + i for i in range(last - self + 1)] if last >= self else []
