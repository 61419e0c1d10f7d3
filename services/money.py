"""Money is `Decimal` with two places (分); never float."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from .text import ascii_number_text, shown

CENT = Decimal("0.01")
YUAN = Decimal("1")
ZERO = Decimal("0.00")
#: No amount, base or rate in the hall comes near this; larger input is a typo.
MAX_MAGNITUDE = Decimal(10) ** 12
#: A number as people write it: digits with optional thousands separators, a sign and a
#: decimal point. No exponent (1e4), no NaN or Infinity.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|[+-]?\.[0-9]+")


def parse_decimal(value: object, label: str) -> Decimal:
    """Read a user-supplied number exactly. Floats are refused: they cannot hold 分 exactly."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"{label}须为精确的数字（请以文本或 Decimal 提供），收到：{value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        text = ascii_number_text(value, label).replace("，", ",")
        if not _PLAIN_NUMBER.fullmatch(text):
            raise ValueError(f"{label}须为数字（如 8000 或 8000.50），收到：{shown(value)}")
        number = Decimal(text.replace(",", "")) if len(text) <= 30 else MAX_MAGNITUDE
    else:
        raise ValueError(f"{label}须为数字，收到：{shown(repr(value))}")
    if not number.is_finite():
        raise ValueError(f"{label}须为数字，收到：{shown(value)}")
    if abs(number) >= MAX_MAGNITUDE:
        raise ValueError(f"{label}数值过大（不能超过 {MAX_MAGNITUDE:,.0f}），收到：{shown(value)}")
    return number


def parse_money(value: object, label: str = "金额") -> Decimal:
    """An amount to the 分: at most two decimal places, returned quantized to 0.01."""
    number = parse_decimal(value, label)
    if number != number.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValueError(f"{label}最多保留两位小数，收到：{shown(value)}")
    return number.quantize(CENT)


def round_amount(value: Decimal, rounding: str) -> Decimal:
    """Round one side of a contribution: "fen" half-up to 0.01, "yuan" half-up to 1."""
    if rounding == "fen":
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    if rounding == "yuan":
        return value.quantize(YUAN, rounding=ROUND_HALF_UP).quantize(CENT)
    raise ValueError(f"未知的舍入方式：{rounding!r}（应为 fen 或 yuan）")


def percent(rate: Decimal) -> str:
    """A rate as people read it: 0.12 → 12%, 0.075 → 7.5%."""
    number = (Decimal(rate) * 100).normalize()
    return f"{number:f}%"


def fmt(value: Decimal | None) -> str:
    """Thousands-separated display, e.g. 35,811.00."""
    return "" if value is None else f"{value:,.2f}"
