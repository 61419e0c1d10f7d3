"""Short-lived notes a page leaves for the next page (a refused entry's errors and typed
values, shown after the redirect that follows every form post)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow


class Stash(Base):
    __tablename__ = "stash"
    __table_args__ = (Index("ix_stash_created", "created_at"),)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: Whose it is (the login key): nobody else can read it.
    owner: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
