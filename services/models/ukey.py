"""UKey tables: the centre CA certificates logins trust, the certificate issued to each
unit's UKey (the revocation list is this table's status), and login challenges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow
from .org import Unit

ACTIVE = "active"
REVOKED = "revoked"


class UKeyAuthority(Base):
    """A centre CA certificate that logins trust. Kept in the database, not only beside the
    CA key in one instance dir, so every app process and host verifies logins alike; the
    private key stays in the instance dir of the host that issues UKeys."""

    __tablename__ = "ukey_authority"
    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    algorithm: Mapped[str] = mapped_column(String(40))
    certificate_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UKeyCertificate(Base):
    """The certificate of one unit's UKey. A unit has at most one ACTIVE certificate, which
    the database itself enforces (a partial unique index); reissuing revokes the old one."""

    __tablename__ = "ukey_certificate"
    __table_args__ = (
        Index("uq_ukey_certificate_active_unit", "unit_id", unique=True,
              sqlite_where=text("status = 'active'"),
              postgresql_where=text("status = 'active'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("ukey_authority.id"))
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str] = mapped_column(String(200), default="")

    unit: Mapped[Unit] = relationship()


class UKeyChallenge(Base):
    """A login challenge: random, bound to the browser session that asked for it (its
    `binding` lives in that session), valid for a minute, used at most once. Marked used
    in the database, so a copied cookie with a captured login request is still refused."""

    __tablename__ = "ukey_challenge"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    binding: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    used_at: Mapped[datetime | None]
