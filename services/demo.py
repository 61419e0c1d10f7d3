"""Demo data (`hpf seed-demo`): a demo city with two units, their depositors, a remittance
history in the ledger, and centre staff. Deterministic, so tests and screenshots repeat."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from stdnum.cn import ric, uscc

from . import allocation, clock, payments, remittance
from .accounts import hash_password
from .changes import Who
from .contribution import monthly_amounts
from .db import db
from .files import write_private
from .identifiers import USCC_ALPHABET
from .models import (
    AccountEvent,
    BasePeriod,
    City,
    Message,
    Operator,
    Person,
    PersonAccount,
    Staff,
    Unit,
    UnitAccount,
)
from .months import YearMonth
from .numbers import new_person_accounts, new_unit_accounts
from .policy import DEMO_POLICY
from .ukey.registry import demo_ukey

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
            "于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛段雷龙"
            "黎史陶贺毛郝顾龚邵万武钱戴严孔向常汤康易乔赖文")
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰",
         "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "建华", "志强", "晓东", "海燕", "思远",
         "雨桐", "子涵", "浩然", "欣怡", "梓萱", "俊杰", "佳琪", "宇航", "诗涵", "博文", "晨曦",
         "嘉怡", "一鸣", "文静", "国栋", "丽娟", "春梅", "振华", "雪梅", "立新", "婉婷", "泽宇"]
AREAS = ["350102", "350103", "350104", "350105", "350111", "350121", "350122", "350181",
         "350182", "350203", "350582", "360102", "110105", "310104", "440106"]
#: 学历, 职务 and 婚姻状况 as stored: codes of their lists (services.info_changes), which
#: the pages show by label and 缴存人信息变更 starts from.
EDUCATION = ["20", "30", "10", "60", "20"]  # 大学本科, 大学专科, 研究生, 高中
#: (As many choices as the names it replaced: the demo's random sequence, and so every
#: later person, stays the same.)
POSITIONS = ["3", "3", "2", "2", "3", "3", "3", "1"]  # 一般员工 mostly, 中级领导, 高级领导
MARITAL = ["20", "10"]  # 已婚, 未婚

DEMO_PASSWORDS = {"operator": "Hall2026demo", "reviewer": "Review2026demo",
                  "analyst": "Model2026demo", "finance": "Money2026demo"}
DEMO_UKEY_PIN = "123456"
#: Centre staff roles and the group each one's tasks and pages belong to.
STAFF_GROUPS = {"reviewer": "centre_reviewer", "finance": "centre_finance"}


@dataclass
class DemoUnit:
    name: str
    uscc_region: str
    unit_type: str
    address: str
    legal_rep: str
    contact: tuple[str, str]
    bank: str
    rates: tuple[str, str]
    active: int
    sealed: int
    months: int
    operators: list[tuple[str, str]] = field(default_factory=list)


DEMO_UNITS = [
    DemoUnit("示范市星河信息科技有限公司", "350100", "有限责任公司",
             "示范市鼓楼区五四路 158 号环球广场 21 层", "林振华", ("陈思远", "13859012345"),
             "中国建设银行示范市分行", ("0.12", "0.12"), active=216, sealed=4, months=6,
             operators=[("jbr01", "陈思远"), ("jbr02", "黄海燕")]),
    DemoUnit("示范市青禾餐饮管理有限公司", "350100", "有限责任公司",
             "示范市台江区江滨中大道 66 号", "郑国栋", ("吴婉婷", "13905918888"),
             "中国工商银行示范市台江支行", ("0.08", "0.08"), active=18, sealed=1, months=3,
             operators=[("jbr01", "吴婉婷")]),
]
STAFF = [("shenhe01", "李文静", "reviewer"), ("shenhe02", "王立新", "reviewer"),
         ("fenxi01", "张博文", "analyst"), ("caiwu01", "赵敏", "finance")]


def seed_demo(instance_dir: Path, today: date | None = None, ca_dir: Path | None = None) -> dict:
    """Create the demo data unless present; always (re)write demo.json. Returns its content.
    Each demo unit gets a UKey (a virtual card's key and certificate under `ukeys/`),
    issued by the CA in `ca_dir` (default: the instance dir's `ukey-ca/`)."""
    today = today or clock.today()
    city = db.session.execute(select(City).where(City.code == "DEMO")).scalar_one_or_none()
    if city is None:
        _create(today)
        db.session.commit()
    info = demo_info()
    for unit in info["units"]:
        unit["ukey"] = demo_ukey(unit["unit_account"], Path(ca_dir or Path(instance_dir) / "ukey-ca"),
                                 Path(instance_dir) / "ukeys", DEMO_UKEY_PIN)
    db.session.commit()
    path = Path(instance_dir) / "demo.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, json.dumps(info, ensure_ascii=False, indent=2))
    return info


def demo_info() -> dict:
    units = []
    for spec in DEMO_UNITS:
        unit = db.session.execute(select(Unit).where(Unit.name == spec.name)).scalar_one()
        units.append({"unit_account": unit.account.account_no, "name": unit.name,
                      "uscc": unit.uscc,
                      "operators": [{"login_name": login, "password": DEMO_PASSWORDS["operator"]}
                                    for login, _ in spec.operators]})
    return {
        "units": units,
        "reviewers": [{"login_name": login, "password": DEMO_PASSWORDS["reviewer"],
                       "group": "centre_reviewer"} for login, _, role in STAFF
                      if role == "reviewer"],
        "analysts": [{"login_name": login, "password": DEMO_PASSWORDS["analyst"]}
                     for login, _, role in STAFF if role == "analyst"],
        "finance": [{"login_name": login, "password": DEMO_PASSWORDS["finance"],
                     "group": "centre_finance"} for login, _, role in STAFF if role == "finance"],
    }


def _create(today: date) -> None:
    rng = random.Random(20260701)
    city = City(code="DEMO", name=DEMO_POLICY.city_name,
                centre_name=f"{DEMO_POLICY.city_name}住房公积金管理中心",
                policy_json=DEMO_POLICY.to_json())
    db.session.add(city)
    db.session.flush()
    used_ids: set[str] = set()
    operator_hash = hash_password(DEMO_PASSWORDS["operator"])
    for spec, account_no in zip(DEMO_UNITS, new_unit_accounts(len(DEMO_UNITS)), strict=True):
        _create_unit(rng, city, spec, account_no, today, used_ids, operator_hash)
    for login, name, role in STAFF:
        db.session.add(Staff(login_name=login, name=name, role=role,
                             group=STAFF_GROUPS.get(role),
                             password_hash=hash_password(DEMO_PASSWORDS[role])))


def _create_unit(rng: random.Random, city: City, spec: DemoUnit, account_no: str, today: date,
                 used_ids: set[str], operator_hash: str) -> None:
    current = YearMonth.of(today)
    first_month = current - spec.months
    paid_through = current - 1
    opened_on = first_month.first_day() - timedelta(days=12)
    unit_rate, person_rate = Decimal(spec.rates[0]), Decimal(spec.rates[1])
    unit = Unit(city_id=city.id, name=spec.name, uscc=_uscc(rng, spec.uscc_region),
                unit_type=spec.unit_type, address=spec.address, postcode="350001",
                legal_rep=spec.legal_rep, contact_name=spec.contact[0],
                contact_phone=spec.contact[1], bank_name=spec.bank)
    db.session.add(unit)
    db.session.flush()
    db.session.add(UnitAccount(unit_id=unit.id, account_no=account_no, status="02",
                               unit_rate=unit_rate, person_rate=person_rate, opened_on=opened_on,
                               first_month=first_month, paid_through=None))
    operators = [Operator(unit_id=unit.id, login_name=login, name=name, mobile=spec.contact[1],
                          password_hash=operator_hash) for login, name in spec.operators]
    db.session.add_all(operators)
    db.session.flush()

    total = spec.active + spec.sealed
    accounts = []
    for number in new_person_accounts(total):
        person = _person(rng, used_ids)
        db.session.add(person)
        base = _base(rng)
        unit_amount, person_amount, _ = monthly_amounts(base, unit_rate, person_rate,
                                                        policy=city.policy)
        accounts.append(PersonAccount(
            account_no=number, person=person, unit_id=unit.id, status="01", base=base,
            person_rate=person_rate, unit_amount=unit_amount, person_amount=person_amount,
            opened_on=opened_on, first_month=first_month, paid_through=None))
    db.session.add_all(accounts)
    db.session.flush()
    db.session.add_all(BasePeriod(person_account_id=a.id, from_month=first_month, base=a.base,
                                  unit_rate=unit_rate, person_rate=a.person_rate,
                                  unit_amount=a.unit_amount, person_amount=a.person_amount)
                       for a in accounts)
    who = Who(f"operator:{operators[0].id}", operators[0].name, "汇缴")
    for month in first_month.until(paid_through):
        if month == paid_through:  # the demo's sealed persons left before the last month
            _seal(accounts[spec.active:], month, who)
        _remitted_month(unit, account_no, month, who)
    db.session.add(Message(unit_id=unit.id, business="汇缴",
                           content=f"尊敬的{spec.name}，您已完成办理汇缴核定（{paid_through}）",
                           created_at=_at(paid_through.first_day() + timedelta(days=9))))


def _seal(accounts: list[PersonAccount], month: YearMonth, who: Who) -> None:
    for account in accounts:
        account.status = "02"
        db.session.add(AccountEvent(unit_id=account.unit_id, person_account_id=account.id,
                                    change="seal", reason="01", from_status="01", to_status="02",
                                    month=month, actor=who.actor, actor_name=who.actor_name))
    db.session.flush()


def _remitted_month(unit: Unit, account_no: str, month: YearMonth, who: Who) -> None:
    """One month verified, paid by transfer and allocated, through the hall's own
    services (so the demo's ledger, 应缴 and balances are what the hall would write)."""
    verified_on = month.first_day() + timedelta(days=9)
    paid_on = month.first_day() + timedelta(days=14)
    payable = remittance.verify(unit.id, month, who, verified_on)
    notice = payments.Notice(unit.id, account_no, payable.amount, "transfer",
                             f"DEMO{month.to_int()}", f"demo-{account_no}-{month}")
    received = payments.receive(notice, who.actor, who.actor_name, paid_on)
    allocation.allocate(payable.id, who, paid_on, "transfer")
    # what a delivery records of itself (its 缴费凭条 names the month it paid)
    payments.record_result(received.payment, {
        "payment_id": received.payment.id, "serial_no": received.payment.serial_no,
        "amount": str(payable.amount), "method": "transfer", "allocated": [
            {"payable_id": payable.id, "kind": payable.kind, "kind_name": "汇缴",
             "month": str(month), "amount": str(payable.amount), "instance_id": None}]})


def _at(day: date) -> datetime:
    """09:30 Beijing time, stored as UTC."""
    return datetime(day.year, day.month, day.day, 1, 30)


def _person(rng: random.Random, used_ids: set[str]) -> Person:
    while True:
        birth = date(1965, 1, 1) + timedelta(days=rng.randrange(0, 365 * 37))
        gender = rng.choice("12")
        order = rng.randrange(0, 100) * 10 + (rng.choice([1, 3, 5, 7, 9]) if gender == "1"
                                              else rng.choice([0, 2, 4, 6, 8]))
        body = f"{rng.choice(AREAS)}{birth:%Y%m%d}{order:03d}"
        number = body + ric.calc_check_digit(body + "0")
        if number not in used_ids:
            used_ids.add(number)
            break
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    return Person(id_type="01", id_number=number, name=name, gender=gender, birth_date=birth,
                  mobile=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                  education=rng.choice(EDUCATION), position=rng.choice(POSITIONS),
                  marital_status=rng.choice(MARITAL),
                  address=f"示范市{rng.choice(['鼓楼区', '台江区', '仓山区', '晋安区'])}"
                          f"{rng.choice(['东街', '西湖路', '湖东路', '福新路', '华林路'])}"
                          f"{rng.randrange(1, 300)} 号")


def _base(rng: random.Random) -> Decimal:
    base = Decimal(rng.choice([rng.randrange(2540, 6000), rng.randrange(6000, 15000),
                               rng.randrange(15000, 30000)]))
    if rng.random() < 0.2:
        base += Decimal(rng.randrange(1, 100)) / 100
    return base


def _uscc(rng: random.Random, region: str) -> str:
    body = "91" + region + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body + "0")
