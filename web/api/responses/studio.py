"""What the studio's and 缴存人单位调整's look-ups answer, for the OpenAPI document."""

from __future__ import annotations

from marshmallow import fields

from .core import Doc, Text


class Catalog(Doc):
    forms = fields.List(fields.Dict(), required=True)
    handlers = fields.List(fields.Dict(), required=True)
    lanes = fields.List(fields.Dict(), required=True)
    messages = fields.List(fields.Dict(), required=True)


class Check(Doc):
    ok = fields.Boolean(required=True)
    message = Text(required=True)


class Validation(Doc):
    ok = fields.Boolean(required=True)
    readable = fields.Boolean(required=True)
    problems = fields.List(fields.Dict(), required=True)


class Comparison(Doc):
    added = fields.List(fields.Dict(), required=True)
    changed = fields.List(fields.Dict(), required=True)
    removed = fields.List(fields.Dict(), required=True)


class DryRunResult(Doc):
    items = fields.List(fields.Dict(), required=True)
    counts = fields.Dict(keys=Text(), values=fields.Integer(), required=True)


class SealedPersons(Doc):
    """The transferring-out unit's sealed persons: 个人账号, 姓名, masked ID only."""

    items = fields.List(fields.Dict(), required=True)
    total = fields.Integer(required=True)
    from_unit_name = Text()
