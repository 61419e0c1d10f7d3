"""Editing an application's 清册 while it is in the unit's hands.

Every edit locks the instance and bumps its revision, so an edit racing a submission
either lands before it (and is validated with it) or fails with a conflict after it. An
edit costs what it changes: the 清册's count and sums live on the instance and move by the
rows added or deleted; who is already in the 清册 is asked of the database by key (a
unique index refuses a person twice in open applications of one business).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from forms.manifest_file import read_rows
from forms.manifest_file import template as template_file
from forms.manifest_spec import ManifestSpec, build_context
from services import manifest_rows
from services.db import bulk_work, db, utcnow
from services.errors import Conflict, Forbidden, InvalidInput, NotFound

from . import access, registry, store
from .actors import EMPLOYER_LANE, Actor
from .models import READY, RUNNING, HumanTask

CLASH = "刚刚有其他申请录入了同一缴存人，本次未做任何更改，请刷新后重试"


def spec_for(process_key: str) -> ManifestSpec:
    spec = registry.manifest(process_key)
    if spec is None:
        raise NotFound("该业务没有清册")
    return spec


@dataclass
class Editing:
    """An application open for editing: its locked row, its spec, the kept totals."""

    instance: store.InstanceRow
    spec: ManifestSpec
    totals: manifest_rows.Totals
    start_data: dict


@contextmanager
def editing(instance_id: int, actor: Actor) -> Iterator[Editing]:
    instance = check_editable(instance_id, actor)  # its totals read with the lock
    spec = spec_for(instance.process_key)
    edit = Editing(instance, spec, manifest_rows.Totals(
        instance.manifest_count, instance.manifest_amount, instance.manifest_amount_before), {})
    try:
        yield edit
        db.session.flush()
    except IntegrityError:
        raise Conflict(CLASH) from None
    save_totals(instance, edit.totals)


def check_editable(instance_id: int, actor: Actor) -> store.InstanceRow:
    """The application (locked) if `actor` may edit its 清册 now; else why not."""
    instance = store.lock_instance(instance_id, with_state=False)
    access.check_can_view(instance, actor)
    if not actor.is_operator:
        raise Forbidden("清册由缴存单位经办人维护")
    if instance.status != RUNNING:
        raise Conflict("该业务已办结或已结束，清册不能再修改")
    ready = db.session.execute(select(HumanTask.form_key).where(
        HumanTask.instance_id == instance.id, HumanTask.state == READY,
        HumanTask.lane == EMPLOYER_LANE)).scalars().all()
    if not ready:
        raise Conflict("申请已提交中心审核，审核结束前清册不能修改")
    if not any(registry.form(key).edits_manifest for key in ready):
        # e.g. 打印补缴书: the 清册 the centre approved is what is printed and paid
        raise Conflict("该业务已审核通过，清册不能再修改")
    return instance


def save_totals(instance: store.InstanceRow, totals: manifest_rows.Totals) -> None:
    """Write the 清册's totals and the business's summary of them on the instance."""
    store.save(instance, {"updated_at": utcnow(), **totals_values(instance.process_key, totals)})


def totals_values(process_key: str, totals: manifest_rows.Totals) -> dict:
    """The instance's columns holding a 清册's totals, and the business's summary of them."""
    values = {"manifest_count": totals.count, "manifest_amount": totals.amount,
              "manifest_amount_before": totals.amount_before}
    business = registry.business(process_key)
    if business.summary:
        values["summary_json"] = json.dumps(business.summary(totals), ensure_ascii=False)
    return values


def _refuse_clashes(edit: Editing, rows: list[manifest_rows.NewRow]) -> None:
    """Single entry: refuse a row about someone already in this 清册 or in another open
    application of the business."""
    if clashes := _clashes(edit, rows):
        message = clashes[0]["message"]
        raise InvalidInput(f"录入的数据有误：{message}", {edit.spec.key_column: [message]})


def _clashes(edit: Editing, rows: list[manifest_rows.NewRow]) -> list[dict]:
    """The rows (a file's, or an entry's) about someone already in this 清册 or in another
    open application of the business, as (file row, column, message)."""
    holders = manifest_rows.open_keys(edit.spec.business, [r.key for r in rows])
    header = edit.spec.column(edit.spec.key_column).header
    return [{"row": row.source_row, "column": header,
             "message": edit.spec.in_this_manifest if holders[row.key] == edit.instance.id
             else edit.spec.in_other_application}
            for row in rows if row.key in holders]


class Added(NamedTuple):
    #: The (first) row stored; an entry may make several (`count`).
    row: manifest_rows.Row
    #: What the unit reads: the business's text (录入清册成功：张三) with the row's values.
    message: str
    count: int = 1


def add_row(instance_id: int, actor: Actor, values: dict, change_type: str | None = None,
            today: date | None = None) -> Added:
    """录入清册: one row by hand; errors come back by field."""
    with editing(instance_id, actor) as edit:
        field = edit.spec.change_type_field
        if field:
            values = dict(values)
            sent = values.pop(field, None)
            field = field if change_type is None and sent is not None else None
            change_type = change_type or sent
        try:
            kind = edit.spec.change_type(change_type, entry=True)
        except InvalidInput as exc:
            if field:  # named by the field that was sent (`change`), not the parameter
                exc.errors = {field: exc.errors["change_type"]}
            raise
        context = build_context(edit.spec, edit.instance.unit_id, instance_id, today=today)
        rows = edit.spec.check_one(context, values, kind)
        _refuse_clashes(edit, rows)
        stored = []
        for row in rows:
            edit.totals = edit.totals.plus([row])
            stored.append(manifest_rows.add_row(instance_id, edit.spec.business, row,
                                                edit.totals.count))
        return Added(stored[0], edit.spec.added_message(stored[0].values, len(stored)),
                     len(stored))


def import_file(instance_id: int, actor: Actor, content: bytes, change_type: str | None = None,
                today: date | None = None, progress=None) -> dict:
    """批量导入: all rows or none; every bad row is reported as (row, column, message).
    `progress(done, total)`, if given, hears how far the work is, in rows of the file:
    checking them is the first CHECKING part of the way, storing them the rest."""
    with bulk_work(), editing(instance_id, actor) as edit:
        kind = edit.spec.change_type(change_type) if change_type else None
        parsed, skipped, problems, kind = read_rows(edit.spec, content, kind)
        count = len(parsed)
        heard = _Progress(progress, count)
        context = build_context(edit.spec, edit.instance.unit_id, instance_id, today=today)
        checked, errors = edit.spec.check_many(context, parsed, kind, problems, heard.checked)
        del parsed  # the cells as read: free before the rows are stored
        if errors:  # every problem at once: the rows' own, and who is held elsewhere
            raise edit.spec.file_refused(errors + _clashes(edit, checked))
        try:
            # The open-key index refuses anyone already in an open application; only
            # then is it worth asking who (a 100,000-row file's keys, looked up once).
            with db.session.begin_nested():
                manifest_rows.add_rows(instance_id, edit.spec.business, checked, heard.stored)
        except IntegrityError:
            if clashes := _clashes(edit, checked):
                raise edit.spec.file_refused(clashes) from None
            raise
        edit.totals = edit.totals.plus(checked)
        heard.done()
        return {"imported": len(checked), "skipped": skipped}


#: The share of an import's way that is checking its rows (then storing them).
CHECKING = 0.8


class _Progress:
    """An import's progress in rows of the file, told to `report(done, total)` if any."""

    def __init__(self, report, rows: int):
        self.report, self.rows = report, rows
        if report:
            report(0, rows)

    def checked(self, rows: int) -> None:
        if self.report:
            self.report(int(rows * CHECKING))

    def stored(self, rows: int, of: int) -> None:
        if self.report and of:
            self.report(int(self.rows * (CHECKING + (1 - CHECKING) * rows / of)))

    def done(self) -> None:
        if self.report:
            self.report(self.rows, self.rows)


def delete_row(instance_id: int, actor: Actor, row_id: int) -> manifest_rows.Row:
    with editing(instance_id, actor) as edit:
        row = manifest_rows.delete_row(instance_id, row_id)
        edit.totals = edit.totals.plus([row], sign=-1)
        return row


def template(process_key: str, unit_id: int, change_type: str | None, prefill: bool
             ) -> tuple[bytes, str]:
    """The import template and the file name it downloads as (基数调整清册模板（…）.xlsx)."""
    spec = spec_for(process_key)
    kind = spec.change_type(change_type)
    content = template_file(spec, build_context(spec, unit_id, None), kind,
                            prefill and spec.prefillable)
    return content, f"{spec.title}模板（{kind.label}）.xlsx"
