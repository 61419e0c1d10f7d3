"""Check codes (校验码) and what the verify page may say about a printed document.

A code is an HMAC of the document's canonical text under a server secret: the same
document always gets the same code, a changed one a different code, and nobody without
the secret can make one up. The PDF is never stored; a small record (code → kind, unit,
date, totals, digest of the rows) is, so a bank scanning the QR code can confirm what the
paper shows. Codes use Crockford's base-32 (no I, L, O, U): 16 characters, 80 bits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, db, utcnow
from .model import Document, Layout, item_text

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
#: Look-alikes people type for the code's characters.
TYPOS = str.maketrans({"O": "0", "I": "1", "L": "1"})


class DocumentRecord(Base):
    """What the verify page shows for a check code; one row per distinct document."""

    __tablename__ = "document_record"
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(60))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    #: The unit's name as printed (a later rename does not change the paper).
    unit_name: Mapped[str] = mapped_column(String(100))
    doc_date: Mapped[date] = mapped_column(Date)
    date_label: Mapped[str] = mapped_column(String(20))
    #: [[label, printed text], …] as the paper's 合计 shows them.
    totals_json: Mapped[str] = mapped_column(Text)
    row_count: Mapped[int]
    rows_digest: Mapped[str] = mapped_column(String(64))
    instance_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class Verified:
    """A genuine document as the verify page shows it: nothing beyond the paper's own
    summary, and the unit's name partly masked."""

    code: str
    kind: str
    title: str
    unit_name: str
    date: date
    date_label: str
    totals: list[tuple[str, str]]
    rows: int
    rows_digest: str

    def to_dict(self) -> dict:
        return {"genuine": True, "code": self.code, "kind": self.kind, "title": self.title,
                "unit_name": self.unit_name, "date": self.date.isoformat(),
                "date_label": self.date_label, "rows": self.rows,
                "rows_digest": self.rows_digest,
                "totals": [{"label": label, "value": value} for label, value in self.totals]}


def check_code(secret: str, canonical_text: bytes) -> str:
    key = hmac.new(secret.encode(), b"hpf-hall printed documents v1", hashlib.sha256).digest()
    mac = int.from_bytes(hmac.new(key, canonical_text, hashlib.sha256).digest()[:10], "big")
    return "".join(ALPHABET[(mac >> (5 * i)) & 31] for i in reversed(range(CODE_LENGTH)))


def record(layout: Layout, document: Document, code: str, digest: str) -> None:
    """Keep the document's summary under its code, once; printing it again adds nothing.
    Two simultaneous first prints both add it: the caller records in a savepoint, whose
    second insert fails on the key and is rolled back alone, since the row it wanted is
    there (`exists`; web/printing.py)."""
    if exists(code):
        return
    row = DocumentRecord(
        code=code, kind=layout.kind, title=layout.title, unit_id=document.unit_id,
        unit_name=document.unit_name, doc_date=document.date, date_label=layout.date_label,
        totals_json=json.dumps([[t.label, item_text(t, document.totals)] for t in layout.totals],
                               ensure_ascii=False),
        row_count=len(document.rows), rows_digest=digest, instance_id=document.instance_id)
    db.session.add(row)


def exists(code: str) -> bool:
    return db.session.get(DocumentRecord, code) is not None


def normalize(text: str) -> str | None:
    """The code as typed or scanned (any case, dashes, spaces, O for 0) → its canonical
    form, or None when it cannot be a code at all."""
    code = "".join(text.split()).replace("-", "").upper().translate(TYPOS)
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def verify(text: str) -> Verified | None:
    """The genuine document behind a code, or None for a made-up or altered code."""
    code = normalize(text)
    if code is None:
        return None
    row = db.session.execute(select(DocumentRecord).where(DocumentRecord.code == code)
                             ).scalar_one_or_none()
    if row is None:
        return None
    return Verified(code=code, kind=row.kind, title=row.title, unit_name=mask_name(row.unit_name),
                    date=row.doc_date, date_label=row.date_label,
                    totals=[tuple(pair) for pair in json.loads(row.totals_json)],
                    rows=row.row_count, rows_digest=row.rows_digest)


def mask_name(name: str) -> str:
    """示范市星河信息科技有限公司 → 示范市******有限公司: enough to match the paper in
    hand, not enough to learn who a stranger's code belongs to."""
    length = len(name)
    if length <= 2:
        return name[:1] + "*" * (length - 1)
    keep_front = min(3, max(1, length // 4))
    keep_back = min(4, max(1, length // 3))
    return name[:keep_front] + "*" * (length - keep_front - keep_back) + name[length - keep_back:]
