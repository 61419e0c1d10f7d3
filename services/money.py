"""Money is `Decimal` with two places (分); never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
YUAN = Decimal("1")
ZERO = Decimal("0.00")
#: No amount, base or rate in the hall comes near this; larger input is a typo.
MAX_MAGNITUDE = Decimal(10) ** 12


def parse_decimal(value: object, label: str) -> Decimal:
    """Read a user-supplied number exactly. Floats are refused: they cannot hold 分 exactly."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"{label}须为精确的数字（请以文本或 Decimal 提供），收到：{value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"{label}不是有效的数字：{value}") from None
    else:
        raise ValueError(f"{label}不是有效的数字：{value!r}")
    if not number.is_finite() or abs(number) >= MAX_MAGNITUDE:
        raise ValueError(f"{label}不是有效的数字：{value}")
    return number


def parse_money(value: object, label: str = "金额") -> Decimal:
    """An amount to the 分: at most two decimal places, returned quantized to 0.01."""
    number = parse_decimal(value, label)
    if number != number.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValueError(f"{label}最多保留两位小数：{value}")
    return number.quantize(CENT)


def round_amount(value: Decimal, rounding: str) -> Decimal:
    """Round one side of a contribution: "fen" half-up to 0.01, "yuan" half-up to 1."""
    if rounding == "fen":
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    if rounding == "yuan":
        return value.quantize(YUAN, rounding=ROUND_HALF_UP).quantize(CENT)
    raise ValueError(f"未知的舍入方式：{rounding!r}（应为 fen 或 yuan）")


def fmt(value: Decimal | None) -> str:
    """Thousands-separated display, e.g. 35,811.00."""
    return "" if value is None else f"{value:,.2f}"
