"""A printed document as data: what it says, not where it says it.

A `Layout` (one per kind, see layouts.py) names a document's header fields, table columns
and totals; a `Document` carries the values. The renderer places them, so no business
hand-places text. Every value is turned into its printed text by one function
(`printed`), and the check code and the rows' digest are computed from that same text:
what the verifier confirms is exactly what the paper shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from ..clock import CST, local
from ..money import CENT, fmt

#: How a value prints: text as is, money as 1,234.56, a rate fraction as 12%, a count as
#: 216, a date as 2026-11-29, a month as 2026-11, money in Chinese capitals (人民币大写).
KINDS = ("text", "money", "rate", "count", "date", "month", "time", "capital")


@dataclass(frozen=True)
class Column:
    """A table column; `width` is relative to the other columns of the layout."""

    key: str
    label: str
    kind: str = "text"
    width: float = 1.0

    @property
    def numeric(self) -> bool:
        return self.kind in ("money", "rate", "count")


@dataclass(frozen=True)
class Item:
    """A labelled value: a header field or a total. `suffix` follows the value (元, 人);
    a `wide` item takes a whole line (an opinion, a list of filters)."""

    key: str
    label: str
    kind: str = "text"
    suffix: str = ""
    wide: bool = False


@dataclass(frozen=True)
class Layout:
    """How one kind of document looks. The unit's name and account, the date, the check
    code, the QR code, the page numbers and the seal are on every kind; the rest is here."""

    kind: str
    title: str
    fields: tuple[Item, ...] = ()
    columns: tuple[Column, ...] = ()
    totals: tuple[Item, ...] = ()
    #: What the document's date means: the day printed, or the day decided (审批日期).
    date_label: str = "打印日期"
    note: str = ""
    #: Landscape A4 for tables too wide for a portrait page.
    landscape: bool = False


@dataclass(frozen=True)
class Document:
    """One document's data. `fields`, `rows` and `totals` are keyed as the layout names
    them; values are Decimal, int, date, datetime, YearMonth or text."""

    kind: str
    unit_id: int
    unit_name: str
    unit_account: str
    date: date
    fields: Mapping[str, object] = field(default_factory=dict)
    rows: Sequence[Mapping[str, object]] = ()
    totals: Mapping[str, object] = field(default_factory=dict)
    #: The application (申请) the document belongs to, if any.
    instance_id: int | None = None


def printed(value: object, kind: str = "text") -> str:
    """The text a value prints as. Missing values print as empty."""
    if value is None or value == "":
        return ""
    if kind == "money":
        return fmt(Decimal(str(value)).quantize(CENT))
    if kind == "capital":
        return capital_amount(Decimal(str(value)))
    if kind == "rate":
        return f"{(Decimal(str(value)) * 100).normalize():f}%"
    if kind == "date" and isinstance(value, datetime):
        return beijing(value).strftime("%Y-%m-%d")
    if kind == "time" and isinstance(value, datetime):
        return beijing(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def beijing(value: datetime) -> datetime:
    """A stored time (naive UTC) or an aware one, in Beijing time."""
    return value.astimezone(CST) if value.tzinfo else local(value)


def item_text(item: Item, values: Mapping[str, object]) -> str:
    text = printed(values.get(item.key), item.kind)
    return f"{text} {item.suffix}" if text and item.suffix else text


def cells(layout: Layout, document: Document) -> list[list[str]]:
    """Every table row as the texts printed in its cells."""
    columns = [(c.key, c.kind) for c in layout.columns]
    return [[printed(row.get(key), kind) for key, kind in columns] for row in document.rows]


def rows_digest(table: list[list[str]]) -> str:
    """SHA-256 of the printed rows: one changed cell changes it."""
    text = json.dumps(table, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical(layout: Layout, document: Document, digest: str) -> bytes:
    """Everything the paper shows, in one fixed order: the input of the check code."""
    body = {
        "kind": layout.kind, "title": layout.title, "unit": document.unit_id,
        "unit_name": document.unit_name, "unit_account": document.unit_account,
        "date": document.date.isoformat(), "instance": document.instance_id,
        "fields": [[f.label, item_text(f, document.fields)] for f in layout.fields],
        "totals": [[t.label, item_text(t, document.totals)] for t in layout.totals],
        "rows": len(document.rows), "digest": digest,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
BIG_UNITS = ("", "万", "亿", "兆")


def capital_amount(amount: Decimal) -> str:
    """人民币大写 as payment papers print it: 12,345.60 → 壹万贰仟叁佰肆拾伍元陆角整."""
    amount = amount.quantize(CENT)
    sign = "负" if amount < 0 else ""
    cents = abs(int(amount * 100))
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    words = _integer_words(yuan) + "元" if yuan else ""
    if jiao:
        words += ("零" if yuan and yuan % 10 == 0 else "") + DIGITS[jiao] + "角"
    if fen:
        words += ("零" if (yuan or jiao) and not jiao else "") + DIGITS[fen] + "分"
    if not words:
        return "零元整"
    return sign + words + ("" if fen else "整")


def _integer_words(number: int) -> str:
    groups = []
    while number:
        groups.append(number % 10000)
        number //= 10000
    words = ""
    zero_pending = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_pending = bool(words)
            continue
        if words and (zero_pending or group < 1000):
            words += "零"
        words += _group_words(group) + BIG_UNITS[index]
        zero_pending = False
    return words


def _group_words(group: int) -> str:
    """0 < group < 10000: 1005 → 壹仟零伍."""
    digits = f"{group:04d}".lstrip("0")
    words, zero = "", False
    for position, char in enumerate(digits):
        digit = int(char)
        unit = SMALL_UNITS[len(digits) - position - 1]
        if digit == 0:
            zero = True
            continue
        if zero:
            words += "零"
            zero = False
        words += DIGITS[digit] + unit
    return words
