"""The database handle and the column types every model shares.

Money is stored as whole 分 (BIGINT) so sums are exact on SQLite and PostgreSQL alike;
rates as 万分之 (integer); year-months as YYYYMM integers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from .money import CENT
from .months import YearMonth

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    """Naive UTC timestamp, stored the same way on both databases."""
    return datetime.now(UTC).replace(tzinfo=None)


class Money(TypeDecorator):
    """Decimal 元 with two places, stored as integer 分."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        cents = value * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"金额超过两位小数：{value}")
        return int(cents)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)


class Rate(TypeDecorator):
    """A fraction such as 0.12, stored as 万分之 (1200)."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        scaled = Decimal(value) * 10000
        if scaled != scaled.to_integral_value():
            raise ValueError(f"比例精度超过万分之一：{value}")
        return int(scaled)

    def process_result_value(self, value, dialect):
        return None if value is None else (Decimal(int(value)) / 10000).normalize()


class YearMonthType(TypeDecorator):
    """A `YearMonth`, stored as YYYYMM."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return YearMonth.parse(value).to_int()

    def process_result_value(self, value, dialect):
        return None if value is None else YearMonth.from_int(int(value))
