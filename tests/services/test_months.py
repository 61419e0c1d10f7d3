"""Year-month arithmetic (缴至年月 + 1 = 应汇缴年月, the contribution year from July)."""

from __future__ import annotations

from datetime import date

import pytest

from services.months import YearMonth


def test_parse_forms():
    for text in ("2026-07", "202607", "2026/7", "2026年7月", " 2026-07 "):
        assert YearMonth.parse(text) == YearMonth(2026, 7)
    assert YearMonth.parse(date(2026, 7, 31)) == YearMonth(2026, 7)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-07", "July", "", None, "2026-07-01x"])
def test_bad_months_are_value_errors(text):
    with pytest.raises(ValueError):
        YearMonth.parse(text)


def test_arithmetic_across_years():
    assert YearMonth(2026, 12) + 1 == YearMonth(2027, 1)
    assert YearMonth(2026, 1) - 1 == YearMonth(2025, 12)
    assert YearMonth(2027, 2) - YearMonth(2026, 11) == 3
    assert YearMonth(2026, 11).until(YearMonth(2027, 1)) == [
        YearMonth(2026, 11), YearMonth(2026, 12), YearMonth(2027, 1)]
    assert YearMonth(2026, 11).until(YearMonth(2026, 10)) == []


def test_contribution_year_runs_july_to_june():
    assert YearMonth(2026, 6).contribution_year_start(7) == YearMonth(2025, 7)
    assert YearMonth(2026, 7).contribution_year_start(7) == YearMonth(2026, 7)
    assert str(YearMonth(2026, 7)) == "2026-07"
    assert YearMonth.from_int(YearMonth(2026, 7).to_int()) == YearMonth(2026, 7)
