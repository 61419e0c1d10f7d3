"""Organisations and the people who log in: city, 缴存单位, 单位账户, 经办人, centre staff."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, Rate, YearMonthType, utcnow
from ..months import YearMonth
from ..policy import Policy

#: 单位账户状态
UNIT_STATUSES = {"01": "正常", "02": "开户", "03": "缓缴", "04": "销户", "05": "封存"}


class City(Base):
    """A city's provident fund centre and its policy (政策参数)."""

    __tablename__ = "city"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    centre_name: Mapped[str] = mapped_column(String(60))
    policy_json: Mapped[str] = mapped_column(Text, default="")

    @property
    def policy(self) -> Policy:
        return Policy.from_json(self.policy_json)


class Unit(Base):
    """缴存单位: the employer's registered basic information (单位基本信息)."""

    __tablename__ = "unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    name: Mapped[str] = mapped_column(String(100))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    unit_type: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(6), default="")
    legal_rep: Mapped[str] = mapped_column(String(40), default="")
    contact_name: Mapped[str] = mapped_column(String(40), default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    bank_name: Mapped[str] = mapped_column(String(60), default="")
    #: 隶属关系, 经济类型, 行业, 发薪日 (day of the month, 1-31, as text).
    affiliation: Mapped[str] = mapped_column(String(40), default="", server_default="")
    economic_type: Mapped[str] = mapped_column(String(40), default="", server_default="")
    industry: Mapped[str] = mapped_column(String(60), default="", server_default="")
    pay_day: Mapped[str] = mapped_column(String(2), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Joined: whoever loads a unit reads its account and (for the policy) its city, so one
    # statement instead of three on every request that checks or applies a business.
    city: Mapped[City] = relationship(lazy="joined")
    account: Mapped[UnitAccount] = relationship(back_populates="unit", uselist=False,
                                                lazy="joined")

    @property
    def policy(self) -> Policy:
        return self.city.policy


class UnitAccount(Base):
    """单位账户: the unit's provident fund account (单位账号, rates, 缴至年月)."""

    __tablename__ = "unit_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), unique=True)
    account_no: Mapped[str] = mapped_column(String(10), unique=True)
    status: Mapped[str] = mapped_column(String(2), default="02")
    unit_rate: Mapped[Decimal] = mapped_column(Rate)
    #: The person rate new depositors get unless registered otherwise.
    person_rate: Mapped[Decimal] = mapped_column(Rate)
    opened_on: Mapped[date]
    first_month: Mapped[YearMonth] = mapped_column(YearMonthType)
    paid_through: Mapped[YearMonth | None] = mapped_column(YearMonthType)

    unit: Mapped[Unit] = relationship(back_populates="account")

    @property
    def status_name(self) -> str:
        return UNIT_STATUSES.get(self.status, self.status)

    @property
    def due_month(self) -> YearMonth:
        return self.due_of(self.paid_through, self.first_month)

    @staticmethod
    def due_of(paid_through: YearMonth | None, first_month: YearMonth) -> YearMonth:
        """应汇缴年月: 缴至年月 + 1, or 首次汇缴年月 for a unit that never paid."""
        return paid_through + 1 if paid_through else first_month


class LoginState:
    """What a login keeps beside its password: the session generation (bumped on logout
    and password change, so every earlier session cookie stops working) and consecutive
    failed attempts with the lock they lead to."""

    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column()


class Operator(LoginState, Base):
    """经办人: a login of a unit."""

    __tablename__ = "operator"
    __table_args__ = (UniqueConstraint("unit_id", "login_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    login_name: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(40))
    mobile: Mapped[str] = mapped_column(String(11), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    sound_enabled: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()


class Staff(LoginState, Base):
    """Centre staff: a reviewer (中心审核员, in a group that claims tasks) or an analyst."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    login_name: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))  # reviewer | analyst
    group: Mapped[str | None] = mapped_column("group_name", String(40))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
