"""Contribution arithmetic (月缴存额): base × rate per side, each side rounded on its own."""

from __future__ import annotations

from decimal import Decimal

from .money import parse_decimal, parse_money, percent, round_amount
from .policy import DEMO_POLICY, Policy

#: The finest 缴存比例 an account stores (万分之一).
RATE_STEP = Decimal("0.0001")


def check_base(base: object, policy: Policy = DEMO_POLICY) -> Decimal:
    """A 缴存基数 within the policy's floor and ceiling (both included)."""
    value = parse_money(base, "缴存基数")
    if not policy.base_floor <= value <= policy.base_ceiling:
        raise ValueError(f"缴存基数 {value:.2f} 超出范围，缴存基数调整区间："
                         f"{policy.base_range_text()}")
    return value


def check_rate(rate: object, label: str, policy: Policy = DEMO_POLICY) -> Decimal:
    """A 缴存比例 as a fraction within the policy's limits (5%–12% by default), to 万分之一
    at most (0.01%, as accounts store rates: a finer one could never be saved)."""
    value = parse_decimal(rate, label)
    if not policy.rate_min <= value <= policy.rate_max:
        raise ValueError(f"{label} {percent(value)} 超出范围，允许区间：{policy.rate_range_text()}")
    if value != value.quantize(RATE_STEP):
        raise ValueError(f"{label}最多精确到 0.01%（如 7.25%），不能为 {(value * 100).normalize():f}%")
    return value


def monthly_amounts(base: object, unit_rate: object, person_rate: object,
                    rounding: str | None = None, policy: Policy | None = None
                    ) -> tuple[Decimal, Decimal, Decimal]:
    """单位月缴存额, 个人月缴存额 and 月缴存额 (the sum of the two rounded sides).

    `rounding` is "fen" (half-up to 0.01) or "yuan" (half-up to 1); when omitted, the
    policy's rule applies (the demo city rounds to 分). Raises ValueError with the Chinese
    message users see for a base or rate outside the policy.
    """
    policy = policy or DEMO_POLICY
    rounding = policy.rounding if rounding is None else rounding
    if rounding not in ("fen", "yuan"):
        raise ValueError(f"未知的舍入方式：{rounding!r}（应为 fen 或 yuan）")
    return split_amounts(check_base(base, policy), check_rate(unit_rate, "单位缴存比例", policy),
                         check_rate(person_rate, "个人缴存比例", policy), policy, rounding)


def split_amounts(base: Decimal, unit_rate: Decimal, person_rate: Decimal, policy: Policy,
                  rounding: str | None = None) -> tuple[Decimal, Decimal, Decimal]:
    """`monthly_amounts` for a base and rates already checked (a row check has just done
    so): only the policy's rule on equal rates and the rounding remain."""
    if policy.rates_must_be_equal and unit_rate != person_rate:
        raise ValueError(f"本市规定单位缴存比例与个人缴存比例须相同（单位 {percent(unit_rate)}，"
                         f"个人 {percent(person_rate)}）")
    rounding = policy.rounding if rounding is None else rounding
    unit_amount = round_amount(base * unit_rate, rounding)
    person_amount = round_amount(base * person_rate, rounding)
    return unit_amount, person_amount, unit_amount + person_amount
