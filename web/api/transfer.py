"""缴存人单位调整's look-ups for the receiving unit: the transferring-out unit by 单位账号 or
name, and that unit's sealed persons (account, name and masked ID only)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import validate

from engine.actors import OPERATOR
from forms.fields import HallSchema, Int, Str
from services import transfer

from ..auth import require_actor
from . import responses as R

PREFIX = "/transfer"
blp = Blueprint("api_transfer", __name__, description="缴存人单位调整：查找转出单位及其封存职工")


class UnitArgs(HallSchema):
    q = Str(load_default="")


class SealedArgs(HallSchema):
    from_unit_account = Str(load_default="")
    q = Str(load_default="")
    per_page = Int(load_default=10, validate=validate.Range(
        min=1, max=50, error="每页条数须在 1-50 之间"))


@blp.get("/units")
@blp.arguments(UnitArgs, location="query")
@blp.alt_response(200, schema=R.Items, success=True)
def find_units(args):
    """按单位账号或单位名称（至少 2 个字）查找转出单位，最多 10 个。"""
    require_actor(OPERATOR)
    return {"items": [{"unit_account": u.account_no, "name": u.name}
                      for u in transfer.search_units(args["q"])]}


@blp.get("/sealed-persons")
@blp.arguments(SealedArgs, location="query")
@blp.alt_response(200, schema=R.SealedPersons, success=True)
def sealed_persons(args):
    """转出单位中状态为封存的职工：个人账号、姓名、证件号码（部分隐藏）。"""
    actor = require_actor(OPERATOR)
    unit = transfer.find_unit(args["from_unit_account"].strip())
    if unit is None or unit.id == actor.unit_id:
        return {"items": [], "total": 0}
    items = transfer.sealed_persons(unit.id, args["q"], args["per_page"])
    return {"items": items, "total": len(items), "from_unit_name": unit.name}
