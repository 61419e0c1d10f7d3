"""缴存人 and their 个人账户."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, Money, Rate, YearMonthType, utcnow
from ..months import YearMonth
from .org import Unit

#: 个人账户状态
PERSON_STATUSES = {"01": "正常", "02": "封存", "03": "合并销户", "04": "外部转出销户",
                   "05": "提取销户", "06": "冻结", "99": "其他"}
ACTIVE = "01"
SEALED = "02"
#: 销户 statuses: an account in any other status is the person's one account in the city.
CLOSED_STATUSES = ("03", "04", "05")
_NOT_CLOSED = "status NOT IN ('03', '04', '05')"


class Person(Base):
    """缴存人 (客户信息): one row per 证件类型 + 证件号码 in the city."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("id_type", "id_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    id_type: Mapped[str] = mapped_column(String(2), default="01")
    id_number: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(40))
    gender: Mapped[str] = mapped_column(String(1), default="")  # 1 男, 2 女
    birth_date: Mapped[date | None]
    mobile: Mapped[str] = mapped_column(String(11), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    postcode: Mapped[str] = mapped_column(String(6), default="")
    education: Mapped[str] = mapped_column(String(20), default="")
    position: Mapped[str] = mapped_column(String(40), default="")
    occupation: Mapped[str] = mapped_column(String(40), default="")
    title: Mapped[str] = mapped_column(String(40), default="")
    marital_status: Mapped[str] = mapped_column(String(10), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    family_income: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PersonAccount(Base):
    """个人账户: a person's account in one unit, with the current base and monthly amounts."""

    __tablename__ = "person_account"
    __table_args__ = (
        Index("ix_person_account_unit_status", "unit_id", "status"),
        # One account not closed per person in the city (DOMAIN.md), enforced here so
        # that two registrations racing for one person cannot both open one.
        Index("ux_person_account_one_open", "person_id", unique=True,
              sqlite_where=text(_NOT_CLOSED), postgresql_where=text(_NOT_CLOSED)),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_no: Mapped[str] = mapped_column(String(12), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    status: Mapped[str] = mapped_column(String(2), default=ACTIVE)
    base: Mapped[Decimal] = mapped_column(Money)
    person_rate: Mapped[Decimal] = mapped_column(Rate)
    unit_amount: Mapped[Decimal] = mapped_column(Money)
    person_amount: Mapped[Decimal] = mapped_column(Money)
    opened_on: Mapped[date]
    first_month: Mapped[YearMonth] = mapped_column(YearMonthType)
    paid_through: Mapped[YearMonth | None] = mapped_column(YearMonthType)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship()
    unit: Mapped[Unit] = relationship()

    @property
    def monthly_amount(self) -> Decimal:
        return self.unit_amount + self.person_amount

    @property
    def status_name(self) -> str:
        return PERSON_STATUSES.get(self.status, self.status)


class BasePeriod(Base):
    """The base and amounts in force from a month on (生效年月), so a month is always
    verified with the base that applied to it, even after a later adjustment."""

    __tablename__ = "base_period"
    __table_args__ = (Index("ix_base_period_account_month", "person_account_id", "from_month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_account_id: Mapped[int] = mapped_column(ForeignKey("person_account.id"))
    from_month: Mapped[YearMonth] = mapped_column(YearMonthType)
    base: Mapped[Decimal] = mapped_column(Money)
    unit_rate: Mapped[Decimal] = mapped_column(Rate)
    person_rate: Mapped[Decimal] = mapped_column(Rate)
    unit_amount: Mapped[Decimal] = mapped_column(Money)
    person_amount: Mapped[Decimal] = mapped_column(Money)
    instance_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
