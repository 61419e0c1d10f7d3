"""Editing an application's 清册 while it is in the unit's hands.

Every edit locks the instance and bumps its revision, so an edit racing a submission
either lands before it (and is validated with it) or fails with a conflict after it.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date

from sqlalchemy import select

from forms.manifest import ManifestSpec, build_context
from services import manifest as rows
from services.db import db, utcnow
from services.errors import Conflict, Forbidden, NotFound

from . import access, registry, store
from .actors import EMPLOYER_LANE, Actor
from .models import READY, RUNNING, HumanTask


def spec_for(process_key: str) -> ManifestSpec:
    spec = registry.manifest(process_key)
    if spec is None:
        raise NotFound("该业务没有清册")
    return spec


@contextmanager
def editing(instance_id: int, actor: Actor):
    instance = store.lock_instance(instance_id, with_state=False)
    access.check_can_view(instance, actor)
    if not actor.is_operator:
        raise Forbidden("清册由缴存单位经办人维护")
    if instance.status != RUNNING:
        raise Conflict("该业务已办结或已结束，清册不能再修改")
    ready = db.session.execute(select(HumanTask.id).where(
        HumanTask.instance_id == instance.id, HumanTask.state == READY,
        HumanTask.lane == EMPLOYER_LANE).limit(1)).scalar()
    if ready is None:
        raise Conflict("申请已提交中心审核，审核结束前清册不能修改")
    yield instance
    business = registry.business(instance.process_key)
    values = {"updated_at": utcnow()}
    if business.summary:
        values["summary_json"] = json.dumps(business.summary(instance.id), ensure_ascii=False)
    store.save(instance, values)


def add_row(instance_id: int, actor: Actor, values: dict, change_type: str | None = None,
            today: date | None = None) -> rows.ManifestRow:
    """录入清册: one row by hand; errors come back by field."""
    with editing(instance_id, actor) as instance:
        spec = spec_for(instance.process_key)
        kind = spec.change_type(change_type)
        context = build_context(instance.unit_id, instance.id, today)
        checked = spec.check_one(context, values, kind)
        rows.add_rows(instance.id, spec.business,
                      [(checked.person_account_id, checked.values, checked.amount)])
    return rows.list_rows(instance_id, per_page=0)[-1]


def import_file(instance_id: int, actor: Actor, content: bytes, change_type: str | None = None,
                today: date | None = None) -> dict:
    """批量导入: all rows or none; every bad row is reported as (row, column, message)."""
    with editing(instance_id, actor) as instance:
        spec = spec_for(instance.process_key)
        kind = spec.change_type(change_type)
        parsed, skipped = spec.read_xlsx(content, kind)
        context = build_context(instance.unit_id, instance.id, today)
        checked = spec.check_many(context, parsed, kind)
        count = rows.add_rows(instance.id, spec.business,
                              [(c.person_account_id, c.values, c.amount) for c in checked])
    return {"imported": count, "skipped": skipped}


def delete_row(instance_id: int, actor: Actor, row_id: int) -> None:
    with editing(instance_id, actor) as instance:
        rows.delete_row(instance.id, row_id)


def template(process_key: str, unit_id: int, change_type: str | None, prefill: bool
             ) -> tuple[bytes, str]:
    """The import template and the file name it downloads as (基数调整清册模板（…）.xlsx)."""
    spec = spec_for(process_key)
    kind = spec.change_type(change_type)
    content = spec.template(build_context(unit_id, None), kind, prefill)
    return content, f"{spec.title}模板（{kind.label}）.xlsx"
