"""Files only the hall's own user may read: the database, the session key, demo logins."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, text: str) -> None:
    """Write `text` to a file created (or kept) as 0600: never readable by others, not
    even for the moment between creating and restricting it."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def create_private(path: Path) -> None:
    """Create an empty 0600 file unless it exists (SQLite then opens it, keeping the mode;
    its -wal and -shm files take the database file's mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
