"""DOMAIN.md › Contribution: each side rounded on its own (分 half-up or 元), limits, rates."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal as D

import pytest

from services.contribution import monthly_amounts
from services.policy import DEMO_POLICY


class TestWorkedExamples:
    def test_to_fen(self):
        assert monthly_amounts(D("3333.33"), D("0.05"), D("0.05")) == (
            D("166.67"), D("166.67"), D("333.34"))

    def test_to_yuan(self):
        assert monthly_amounts(D("3333.33"), D("0.05"), D("0.05"), rounding="yuan") == (
            D("167"), D("167"), D("334"))

    def test_twelve_per_cent(self):
        assert monthly_amounts(D("5000"), D("0.12"), D("0.12")) == (
            D("600.00"), D("600.00"), D("1200.00"))

    def test_results_are_decimals_with_two_places(self):
        for value in monthly_amounts(D("5000"), D("0.12"), D("0.12"), rounding="yuan"):
            assert isinstance(value, D)
            assert value.as_tuple().exponent == -2


class TestRounding:
    def test_half_up_at_half_a_fen(self):
        # 2540.10 × 5% = 127.005: half-up gives 127.01 (banker's rounding would give 127.00)
        unit, person, total = monthly_amounts(D("2540.10"), D("0.05"), D("0.05"))
        assert (unit, person, total) == (D("127.01"), D("127.01"), D("254.02"))

    def test_half_up_at_half_a_yuan(self):
        # 2550 × 5% = 127.5 → 128; 2650 × 5% = 132.5 → 133 (not 132)
        assert monthly_amounts(D("2550"), D("0.05"), D("0.05"), rounding="yuan")[0] == D("128")
        assert monthly_amounts(D("2650"), D("0.05"), D("0.05"), rounding="yuan")[0] == D("133")

    def test_each_side_is_rounded_before_the_sum(self):
        # 3333.33 × 10% = 333.333 would round to 333.33; the sum of rounded sides is 333.34
        assert monthly_amounts(D("3333.33"), D("0.05"), D("0.05"))[2] == D("333.34")

    def test_sides_may_differ(self):
        assert monthly_amounts(D("10000"), D("0.12"), D("0.08")) == (
            D("1200.00"), D("800.00"), D("2000.00"))

    def test_the_policy_decides_when_no_rounding_is_given(self):
        yuan_city = replace(DEMO_POLICY, rounding="yuan")
        assert monthly_amounts(D("3333.33"), D("0.05"), D("0.05"), policy=yuan_city)[2] == D("334")

    def test_an_unknown_rounding_is_a_value_error(self):
        with pytest.raises(ValueError, match="舍入"):
            monthly_amounts(D("5000"), D("0.12"), D("0.12"), rounding="jiao")


class TestLimits:
    def test_floor_and_ceiling_are_included(self):
        assert monthly_amounts(D("2540.00"), D("0.05"), D("0.05"))[0] == D("127.00")
        assert monthly_amounts(D("35811.00"), D("0.12"), D("0.12"))[0] == D("4297.32")

    @pytest.mark.parametrize("base", ["2539.99", "35811.01", "0", "-5000"])
    def test_a_base_outside_the_limits_names_the_range(self, base):
        with pytest.raises(ValueError) as raised:
            monthly_amounts(D(base), D("0.12"), D("0.12"))
        assert "缴存基数调整区间：2540.00 - 35811.00" in str(raised.value)

    @pytest.mark.parametrize("unit,person", [("0.05", "0.05"), ("0.12", "0.12"), ("0.07", "0.11")])
    def test_rates_at_and_inside_the_limits(self, unit, person):
        monthly_amounts(D("5000"), D(unit), D(person))

    @pytest.mark.parametrize("unit,person,label", [("0.0499", "0.05", "单位缴存比例"),
                                                   ("0.05", "0.1201", "个人缴存比例"),
                                                   ("12", "0.12", "单位缴存比例")])
    def test_a_rate_outside_the_limits_names_the_range(self, unit, person, label):
        with pytest.raises(ValueError) as raised:
            monthly_amounts(D("5000"), D(unit), D(person))
        assert label in str(raised.value) and "5% - 12%" in str(raised.value)

    @pytest.mark.parametrize("rate", ["0.07255", "0.100001"])
    def test_a_rate_finer_than_a_ten_thousandth_is_refused(self, rate):
        """Accounts store rates in 万分之: 7.255% could be entered but never saved."""
        monthly_amounts(D("5000"), D("0.0725"), D("0.0725"))
        with pytest.raises(ValueError) as raised:
            monthly_amounts(D("5000"), D("0.0725"), D(rate))
        assert "个人缴存比例最多精确到 0.01%" in str(raised.value)

    def test_a_city_that_requires_equal_rates(self):
        strict = replace(DEMO_POLICY, rates_must_be_equal=True)
        monthly_amounts(D("5000"), D("0.10"), D("0.10"), policy=strict)
        with pytest.raises(ValueError, match="须相同"):
            monthly_amounts(D("5000"), D("0.12"), D("0.10"), policy=strict)

    def test_strings_and_integers_are_read_exactly(self):
        assert monthly_amounts("5000.00", "0.12", "0.12") == monthly_amounts(5000, D("0.12"),
                                                                            D("0.12"))


BAD_INPUTS = [None, "", "abc", "5,000.5.0", "NaN", "Infinity", "-Infinity", "1e999", 5000.0,
              True, [5000], {"base": 5000}, b"5000", D("NaN"), D("sNaN"), D("Infinity"),
              "3333.333", object()]


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=repr)
def test_bad_input_raises_value_error_and_nothing_else(bad):
    for args in [(bad, D("0.12"), D("0.12")), (D("5000"), bad, D("0.12")),
                 (D("5000"), D("0.12"), bad)]:
        with pytest.raises(ValueError):
            monthly_amounts(*args)
    if bad is not None:  # rounding=None means "the policy's rounding"
        with pytest.raises(ValueError):
            monthly_amounts(D("5000"), D("0.12"), D("0.12"), rounding=bad)


def test_random_garbage_never_raises_anything_but_value_error():
    rng = random.Random(2026)
    alphabet = "0123456789.-+eE%, 元xX∞"
    for _ in range(3000):
        values = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
                  for _ in range(3)]
        try:
            result = monthly_amounts(*values)
        except ValueError:
            continue
        assert all(isinstance(v, D) for v in result)
