"""Reading and writing 清册 rows (see `models.manifest.ManifestRow`).

Every function costs what it touches: a page reads its page, a delete its row, a key check
the keys asked about; nothing here reads a whole 清册 except `stream` and `aggregate`,
which submission and approval call because they must look at every row anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import orjson
from sqlalchemy import bindparam, func, insert, literal_column, select, update

from .db import db, defer, one_of, utcnow
from .direct_sql import insert_tuples
from .errors import NotFound
from .jobs import report_progress
from .models.manifest import ManifestRow
from .money import ZERO

_TABLE = ManifestRow.__table__
#: “The row is open”, written exactly as the open-key index's condition (`active`): SQLite
#: uses a partial index only for a query that repeats its condition, and read every open
#: row of the business for `active IS 1` (a 10,000-row 清册 made a single entry 2× slower).
OPEN = literal_column("manifest_row.active")
_CLOSE = (update(_TABLE).where(_TABLE.c.instance_id == bindparam("b_instance_id"), OPEN)
          .values(active=None))
_COLUMNS = (ManifestRow.id, ManifestRow.row_key, ManifestRow.person_account_id,
            ManifestRow.data, ManifestRow.amount, ManifestRow.amount_before)


@dataclass
class NewRow:
    """A checked row ready to store."""

    key: str
    person_account_id: int | None
    values: dict
    amount: Decimal = ZERO
    amount_before: Decimal | None = None
    #: The file row it came from (an entry may make several rows).
    source_row: int = 0


@dataclass
class Row:
    """A stored row as pages and handlers read it; `position` is its 序号 (1-based, in
    entry order, so deleting a row renumbers the ones after it without rewriting them)."""

    id: int
    key: str
    person_account_id: int | None
    values: dict
    amount: Decimal
    amount_before: Decimal | None
    position: int = 0


@dataclass
class Totals:
    """Count and sums of a 清册, kept on the application and moved by each edit."""

    count: int = 0
    amount: Decimal = ZERO
    amount_before: Decimal = ZERO

    def plus(self, rows: list[NewRow] | list[Row], sign: int = 1) -> Totals:
        amount = sum((r.amount for r in rows), ZERO)
        before = sum((r.amount_before or ZERO for r in rows), ZERO)
        return Totals(self.count + sign * len(rows), self.amount + sign * amount,
                      self.amount_before + sign * before)


def _row(values: tuple, position: int = 0) -> Row:
    row_id, key, person_id, data, amount, before = values
    return Row(row_id, key, person_id, orjson.loads(data), amount, before, position)


def _json(values: dict) -> str:
    return orjson.dumps(values, default=str).decode()  # orjson: ~8x json's speed here


#: Rows per bulk INSERT: a 100,000-row import never holds all its statement parameters.
INSERT_CHUNK = 5000


def add_rows(instance_id: int, business: str, rows: list[NewRow],
             progress: Callable[[int, int], None] | None = None) -> None:
    """Append rows in bulk INSERTs of INSERT_CHUNK rows (the direct path: a 10,000-row
    import spends its time checking rows, not handing them to the driver);
    `progress(stored, of)` hears after each."""
    shared = {"instance_id": instance_id, "business": business, "active": True,
              "created_at": utcnow()}
    for start in range(0, len(rows), INSERT_CHUNK):
        defer(insert_tuples, ManifestRow, shared, _ADDED, [
            (r.key, r.person_account_id, _json(r.values), r.amount, r.amount_before)
            for r in rows[start:start + INSERT_CHUNK]])
        if progress:
            progress(min(start + INSERT_CHUNK, len(rows)), len(rows))


_ADDED = ("row_key", "person_account_id", "data", "amount", "amount_before")


def add_row(instance_id: int, business: str, row: NewRow, position: int) -> Row:
    """One row; returned as stored, without reading the 清册 back."""
    result = db.session.execute(insert(_TABLE).values(
        instance_id=instance_id, business=business, row_key=row.key,
        person_account_id=row.person_account_id, data=_json(row.values),
        amount=row.amount, amount_before=row.amount_before, active=True, created_at=utcnow()))
    return Row(result.inserted_primary_key[0], row.key, row.person_account_id, row.values,
               row.amount, row.amount_before, position)


def page(instance_id: int, number: int = 1, per_page: int = 50) -> list[Row]:
    """One page in entry order, numbered (序号) from the page's offset."""
    offset = (number - 1) * per_page
    found = db.session.execute(select(*_COLUMNS).where(ManifestRow.instance_id == instance_id)
                               .order_by(ManifestRow.id).limit(per_page).offset(offset)).all()
    return [_row(values, offset + index) for index, values in enumerate(found, start=1)]


def batches(instance_id: int, size: int = 2000) -> Iterator[list[Row]]:
    """Every row in entry order, a list of up to `size` at a time, each list one keyset
    read (memory stays flat; handlers work a batch at a time)."""
    last, position = 0, 0
    while True:
        found = db.session.execute(select(*_COLUMNS).where(
            ManifestRow.instance_id == instance_id, ManifestRow.id > last)
            .order_by(ManifestRow.id).limit(size)).all()
        if found:
            yield [_row(values, position + index) for index, values in enumerate(found, 1)]
            position += len(found)
            report_progress(position)  # a job applying a large 清册 moves its bar
        if len(found) < size:
            return
        last = found[-1][0]


def stream(instance_id: int, chunk: int = 2000) -> Iterator[Row]:
    """Every row in entry order, read a chunk at a time (see `batches`)."""
    for batch in batches(instance_id, chunk):
        yield from batch


def delete_row(instance_id: int, row_id: int) -> Row:
    """Delete one row; returns it (its amounts leave the totals)."""
    found = db.session.execute(select(*_COLUMNS).where(
        ManifestRow.id == row_id, ManifestRow.instance_id == instance_id)).first()
    if found is None:
        raise NotFound("清册中没有这一行，可能已被删除")
    db.session.execute(_TABLE.delete().where(_TABLE.c.id == row_id))
    return _row(found)


def left_out(data: dict, every: Callable[[], set[int]]) -> set[int]:
    """The row ids a submission that chooses rows leaves out: those its page listed
    (`shown_rows`) and the unit did not tick (`rows`); or, from the API, every row of
    `every()` not in `rows` when it is given; none when it chooses none."""
    ticked = set(data.get("rows") or [])
    if data.get("shown_rows"):
        return set(data["shown_rows"]) - ticked
    if data.get("rows") is None:
        return set()
    return every() - ticked


def unchosen(instance_id: int, data: dict) -> set[int]:
    """The rows of the 清册 a confirmation leaves unticked (`left_out`)."""
    return left_out(data, lambda: set(db.session.execute(select(ManifestRow.id).where(
        ManifestRow.instance_id == instance_id)).scalars()))


def drop(instance_id: int, row_ids: set[int]) -> Totals:
    """Delete rows of the 清册; its exact totals after."""
    db.session.execute(_TABLE.delete().where(_TABLE.c.instance_id == instance_id,
                                             one_of(_TABLE.c.id, row_ids)))
    return aggregate(instance_id)


def open_keys(business: str, keys: list[str]) -> dict[str, int]:
    """Of `keys`, those in an open row of the business: key → the application holding it."""
    return dict(db.session.connection().execute(
        select(ManifestRow.row_key, ManifestRow.instance_id).where(
            ManifestRow.business == business, OPEN, one_of(ManifestRow.row_key, set(keys)))).all())


def aggregate(instance_id: int) -> Totals:
    """The exact totals, summed by the database (submission re-checks the kept ones)."""
    count, amount, before = db.session.execute(
        select(func.count(), func.sum(ManifestRow.amount), func.sum(ManifestRow.amount_before))
        .where(ManifestRow.instance_id == instance_id)).one()
    return Totals(count, amount if amount is not None else ZERO,
                  before if before is not None else ZERO)


def close(instance_id: int) -> None:
    """The application ended: its rows no longer hold their keys."""
    db.session.execute(_CLOSE, {"b_instance_id": instance_id})
