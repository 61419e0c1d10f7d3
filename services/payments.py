"""缴款: money received for a unit by 转账 or 托收, as centre finance records it or a bank
integration delivers it, once per idempotency key.

A delivery inserts its payment row first, inside a savepoint: the unique key makes every
other delivery of the same notice fail there (on PostgreSQL it waits for the first to
commit), and that delivery then answers what the first one answered, changing nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import ledger
from .db import db
from .errors import Conflict, InvalidInput
from .models import Payment, UnitAccount
from .models.ledger import UNALLOCATED
from .money import parse_money
from .text import shown

#: 缴款方式 a payment may arrive by.
METHODS = {"transfer": "转账", "collection": "托收"}
_KEY = re.compile(r"[\x21-\x7e]{8,80}")


@dataclass(frozen=True)
class Notice:
    """A payment notice as delivered, checked."""

    unit_id: int
    unit_account: str
    amount: object
    method: str
    reference: str
    idempotency_key: str


#: A notice's fields and what users call them; all are text but `amount` (text or an
#: integer).
FIELDS = {"unit_account": "单位账号", "amount": "缴款金额", "method": "缴款方式",
          "reference": "银行流水号", "idempotency_key": "幂等键"}


def check(data: dict) -> Notice:
    """The notice's fields, or InvalidInput naming each bad field (a field it does not
    know, or a number where text belongs, as the rest of the API refuses them)."""
    errors: dict[str, list[str]] = {}
    account_no = str(data.get("unit_account") or "").strip()
    unit_id = None
    if not account_no:
        errors["unit_account"] = ["单位账号为必填项"]
    else:
        unit_id = db.session.execute(select(UnitAccount.unit_id).where(
            UnitAccount.account_no == account_no[:20])).scalar()
        if unit_id is None:
            errors["unit_account"] = [f"单位账号不存在：{shown(account_no)}"]
    amount = None
    try:
        amount = parse_money(data.get("amount"), "缴款金额") \
            if data.get("amount") not in (None, "") else None
        if amount is None:
            errors["amount"] = ["缴款金额为必填项"]
        elif amount <= 0:
            errors["amount"] = ["缴款金额须大于 0"]
    except ValueError as exc:
        errors["amount"] = [str(exc)]
    method = str(data.get("method") or "")
    if method not in METHODS:
        errors["method"] = ["缴款方式须为 transfer（转账）或 collection（托收）"]
    reference = str(data.get("reference") or "").strip()
    if len(reference) > 60:
        errors["reference"] = ["银行流水号不能超过 60 个字符"]
    key = str(data.get("idempotency_key") or "")
    if not _KEY.fullmatch(key):
        errors["idempotency_key"] = ["幂等键须为 8-80 个可见 ASCII 字符（同一到账通知重发时须相同）"]
    errors.update({name: [f"{label}须为文本"] for name, label in FIELDS.items()
                   if name != "amount" and data.get(name) is not None
                   and not isinstance(data[name], str)})
    errors.update({name: [f"不允许的字段：{shown(name)}"] for name in data if name not in FIELDS})
    if errors:
        raise InvalidInput("缴款信息有误：" + "；".join(m[0] for m in errors.values()), errors)
    return Notice(unit_id, account_no, amount, method, reference, key)


@dataclass(frozen=True)
class Received:
    payment: Payment
    #: True when this key was delivered before: nothing changed, the first answer stands.
    replayed: bool


def receive(notice: Notice, actor: str, actor_name: str, day: date) -> Received:
    """Record the payment and its 缴款 row in 未分配 (unless the key was delivered
    before). Allocation is the caller's next step (it needs the workflows)."""
    earlier = by_key(notice.idempotency_key)
    if earlier is not None:
        return Received(_same(earlier, notice), True)
    serial = ledger.new_serial_no(day)
    payment = Payment(unit_id=notice.unit_id, amount=notice.amount, method=notice.method,
                      reference=notice.reference, idempotency_key=notice.idempotency_key,
                      serial_no=serial, received_on=day, recorded_by=actor,
                      recorded_by_name=actor_name, result_json="{}")
    try:
        with db.session.begin_nested():
            db.session.add(payment)
            db.session.flush()
    except IntegrityError:
        earlier = by_key(notice.idempotency_key)
        if earlier is None:
            raise
        return Received(_same(earlier, notice), True)
    way = METHODS[notice.method]
    summary = f"缴款（{way}）" + (f" {notice.reference}" if notice.reference else "")
    ledger.post([ledger.entry(serial_no=serial, unit_id=notice.unit_id, kind=UNALLOCATED,
                              biz_type="payment", summary=summary, amount=notice.amount,
                              booked_on=day)])
    return Received(payment, False)


def by_key(key: str) -> Payment | None:
    return db.session.execute(select(Payment).where(Payment.idempotency_key == key)
                              ).scalar_one_or_none()


def _same(earlier: Payment, notice: Notice) -> Payment:
    """A repeated key must carry the same notice; the same key for different money is an
    integration error, refused."""
    if (earlier.unit_id, earlier.amount, earlier.method, earlier.reference) != \
            (notice.unit_id, notice.amount, notice.method, notice.reference):
        raise Conflict("该幂等键已用于另一笔缴款（单位、金额、方式或银行流水号不同），未做任何更改",
                       {"idempotency_key": ["已用于另一笔缴款"]})
    return earlier


def record_result(payment: Payment, result: dict) -> None:
    """What every later delivery of the same key is answered."""
    payment.result_json = json.dumps(result, ensure_ascii=False)


def result_of(payment: Payment) -> dict:
    return json.loads(payment.result_json or "{}")


def by_serial(unit_id: int, serial_no: str) -> Payment | None:
    return db.session.execute(select(Payment).where(
        Payment.unit_id == unit_id, Payment.serial_no == serial_no)).scalar_one_or_none()


def recent(limit: int = 20) -> list[Payment]:
    """The latest payments recorded, for centre finance's page."""
    return list(db.session.execute(select(Payment).order_by(Payment.id.desc()).limit(limit))
                .scalars())
