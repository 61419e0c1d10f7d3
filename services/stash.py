"""Leave a note for the next page and take it there once (see models.stash). Notes are
read once, only by their owner, and forgotten after an hour either way."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from .db import db, utcnow
from .models.stash import Stash

LIFETIME = timedelta(hours=1)


def put(owner: str, payload: dict) -> str:
    """Store `payload` for `owner`; returns the key to hand to the next page. Commits (the
    action that failed was rolled back; its note must outlive that)."""
    now = utcnow()
    db.session.execute(delete(Stash).where(Stash.created_at < now - LIFETIME))
    key = secrets.token_urlsafe(16)
    db.session.add(Stash(key=key, owner=owner, created_at=now,
                         payload=json.dumps(payload, ensure_ascii=False, default=str)))
    db.session.commit()
    return key


def take(owner: str, key: str | None) -> dict | None:
    """The note under `key` if it is `owner`'s and fresh, removed as it is read."""
    if not key or len(key) > 32:
        return None
    note = db.session.execute(select(Stash).where(Stash.key == key)).scalar_one_or_none()
    if note is None or note.owner != owner:
        return None
    db.session.delete(note)
    db.session.commit()
    if note.created_at < utcnow() - LIFETIME:
        return None
    return json.loads(note.payload)
