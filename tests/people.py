"""Made-up people for tests: valid 居民身份证号码 (GB 11643) and mobile numbers, none of
them a demo person's (the demo's region codes differ)."""

from __future__ import annotations

from datetime import date, timedelta

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECKS = "10X98765432"
#: A region code the demo never uses (its people come from 35xxxx).
REGION = "110105"


def resident_id(serial: int, female: bool = False, region: str = REGION) -> str:
    """The `serial`-th made-up ID: birth dates from 1970-01-01 on, 500 people per day."""
    born = date(1970, 1, 1) + timedelta(days=serial // 500)
    order = (serial % 500) * 2 + (0 if female else 1)
    body = f"{region}{born:%Y%m%d}{order:03d}"
    return body + CHECKS[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def mobile(serial: int) -> str:
    return f"139{serial % 100_000_000:08d}"
