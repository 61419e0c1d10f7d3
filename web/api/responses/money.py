"""What the money operations answer (汇缴, 缴款, 单位信息查询), for the OpenAPI document."""

from __future__ import annotations

from marshmallow import fields

from .core import Doc, Money, Paged, Text, maybe


class Payable(Doc):
    payable_id = fields.Integer(required=True)
    instance_id = maybe(fields.Integer())
    kind = Text(required=True, metadata={"description": "remit 汇缴 / back_pay 补缴"})
    month = Text(required=True)
    amount = Money(required=True)
    head_count = fields.Integer()
    unit_amount = Money()
    person_amount = Money()
    status = Text()
    status_name = Text()
    verify_serial = maybe(Text())
    verified_on = maybe(Text())
    reconciliation = maybe(fields.Dict(metadata={"description": "与上月相比的增减"}))


class VerifiedMonth(Payable):
    message = Text(required=True)
    next_month = Text(required=True)


class Payables(Doc):
    items = fields.List(fields.Nested(Payable), required=True)
    unallocated = Money(required=True)


class Preview(Doc):
    month = Text(required=True)
    amount = Money(required=True)
    head_count = fields.Integer(required=True)
    can_verify = fields.Boolean(required=True)
    problem = maybe(Text())
    reconciliation = maybe(fields.Dict())
    unallocated = Money(required=True)


class VerificationDeleted(Doc):
    message = Text(required=True)
    next_month = Text(required=True)


class Paid(Doc):
    payable_id = fields.Integer(required=True)
    amount = Money(required=True)
    unallocated = Money(required=True)


class Payment(Doc):
    payment_id = fields.Integer(required=True)
    amount = Money(required=True)
    serial_no = Text(required=True)
    replayed = fields.Boolean(required=True)
    allocated = fields.List(fields.Dict(), required=True)
    unallocated = Money(required=True)
    message = Text()


class Account(Doc):
    opening_balance = Money(required=True)
    increase = Money(required=True)
    decrease = Money(required=True)
    closing_balance = Money(required=True)
    unallocated = Money()


class Rows(Paged):
    items = fields.List(fields.Dict(), required=True)


class LedgerDetails(Rows):
    business = fields.Dict(required=True)


