"""缴存人信息变更 handlers: check the 待变更清册 on 【保存】, apply it once the centre
approves (a change record per field, naming the operator who applied)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from services import info_changes, manifest_rows
from services.changes import Who
from services.db import db
from services.errors import BusinessRuleViolation
from services.models import Person, PersonAccount
from services.units import get_unit

from . import Business, handler, register_business
from .context import HandlerContext
from .unit_info_change import initial_data, stale_rows

KEY = "person_info_change"
NAME = "缴存人信息变更"


def summary(totals: manifest_rows.Totals) -> dict:
    return {"rows": totals.count}


BUSINESS = register_business(Business(key=KEY, name=NAME, initial_data=initial_data,
                                      summary=summary))


def _by_person(ctx: HandlerContext) -> tuple[dict[int, list[manifest_rows.Row]], dict]:
    """The 清册's rows by account, and each account's (person, unit) as stored now."""
    rows: dict[int, list[manifest_rows.Row]] = defaultdict(list)
    for row in manifest_rows.stream(ctx.instance_id):
        rows[row.person_account_id].append(row)
    found = {account_id: (person, unit_id) for account_id, unit_id, person in db.session.execute(
        select(PersonAccount.id, PersonAccount.unit_id, Person)
        .join(Person, Person.id == PersonAccount.person_id)
        .where(PersonAccount.id.in_(list(rows)))).all()} if rows else {}
    return rows, found


@handler("person_info_change.validate_manifest")
def validate_manifest(ctx: HandlerContext, data: dict) -> dict:
    """【保存】: rows exist, each person is still this unit's and each 原值 still holds."""
    rows, found = _by_person(ctx)
    if not rows:
        raise BusinessRuleViolation("待变更清册为空，请先选择职工并修改信息后点击【确定】，再保存")
    errors = []
    for account_id, group in rows.items():
        person, unit_id = found.get(account_id, (None, None))
        if person is None or unit_id != ctx.unit_id:
            errors += [{"row": r.position, "column": "个人账号",
                        "message": f"{r.values['name']}：已不在本单位，请删除该行"} for r in group]
        else:
            errors += stale_rows(group, info_changes.person_values(person), f"{person.name}的")
    if errors:
        raise BusinessRuleViolation(f"待变更清册中有 {len(errors)} 行已不能变更，请修改后再提交",
                                    errors)
    return {"rows": sum(len(g) for g in rows.values()), "persons": len(rows)}


@handler("person_info_change.apply")
def apply(ctx: HandlerContext, data: dict) -> dict:
    """审核通过: every row in this one transaction; a field changed since refuses all."""
    rows, found = _by_person(ctx)
    policy = get_unit(ctx.unit_id).policy
    who = Who(ctx.initiator, ctx.initiator_name, NAME, ctx.instance_id)
    for account_id, group in rows.items():
        person, unit_id = found.get(account_id, (None, None))
        if person is None or unit_id != ctx.unit_id:
            raise BusinessRuleViolation(f"{group[0].values['name']}已不在本单位，不能变更其信息")
        info_changes.apply(Person.__table__, person.id, [r.values for r in group],
                           info_changes.PERSON_BY_NAME, policy, who, unit_id=ctx.unit_id,
                           subject="person", person_account_id=account_id,
                           whose=f"{person.name}的")
    return {"rows": sum(len(g) for g in rows.values()), "persons": len(rows)}
