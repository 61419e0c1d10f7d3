"""Change records (变更记录) and messages (消息) pushed to a unit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow


class ChangeRecord(Base):
    """One changed field of a unit or a person: old, new, when, who, which process."""

    __tablename__ = "change_record"
    __table_args__ = (Index("ix_change_record_unit_at", "unit_id", "changed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    person_account_id: Mapped[int | None] = mapped_column(ForeignKey("person_account.id"),
                                                          index=True)
    subject: Mapped[str] = mapped_column(String(10))  # unit | person
    field: Mapped[str] = mapped_column(String(40))
    field_label: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str] = mapped_column(String(200), default="")
    new_value: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(40))
    actor_name: Mapped[str] = mapped_column(String(40), default="")
    business: Mapped[str] = mapped_column(String(40), default="")
    instance_id: Mapped[int | None]


class Message(Base):
    """消息: a notice pushed to a unit (业务名称, 消息内容, 时间, 推送渠道)."""

    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_unit_created", "unit_id", "created_at", "id"),
        # Unread counts read only the unread rows, however many have been read.
        Index("ix_message_unread", "unit_id", sqlite_where=text("read_at IS NULL"),
              postgresql_where=text("read_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    business: Mapped[str] = mapped_column(String(40))
    content: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20), default="网上业务大厅")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    instance_id: Mapped[int | None]
