"""The per-city policy (政策参数): every rate, limit and rounding rule the hall applies.

Code reads these values from a `Policy`, never from literals; a city differing from the
demo city changes its row in the `city` table, not the code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from functools import lru_cache


@dataclass(frozen=True)
class Policy:
    city_name: str = "示范市"
    #: 缴存基数下限 = local minimum wage; 上限 = 3 × last year's average monthly wage.
    base_floor: Decimal = Decimal("2540.00")
    base_ceiling: Decimal = Decimal("35811.00")
    #: 单位 / 个人缴存比例 limits (fractions).
    rate_min: Decimal = Decimal("0.05")
    rate_max: Decimal = Decimal("0.12")
    #: Whether the unit rate and the person rate must be equal.
    rates_must_be_equal: bool = False
    #: Rounding of each side of a monthly contribution: "fen" (分, half-up) or "yuan" (元).
    rounding: str = "fen"
    #: First month of the contribution year (缴存年度), 7 = 1 July – 30 June.
    year_start_month: int = 7
    #: Yearly interest rate (结息), settled on 30 June.
    interest_rate: Decimal = Decimal("0.015")
    #: 补缴: earliest month = latest remitted month − this many months.
    back_pay_months: int = 3
    #: 办结时限: days (自然日) the centre promises from an application reaching a group
    #: to its decision; the 中心监控 page counts those past it.
    service_days: int = 5
    #: 补缴原因 (code, label).
    back_pay_reasons: tuple[tuple[str, str], ...] = (
        ("01", "漏缴"), ("02", "少缴"), ("03", "基数调整补差"), ("04", "新入职补缴"), ("99", "其他"))
    #: 封存原因 and 启封原因 (code, label).
    seal_reasons: tuple[tuple[str, str], ...] = (
        ("01", "离职/解除劳动关系"), ("02", "单位暂停缴存"), ("03", "退休"), ("04", "出境定居"),
        ("05", "死亡"), ("99", "其他"))
    unseal_reasons: tuple[tuple[str, str], ...] = (
        ("01", "重新在职"), ("02", "恢复缴存"), ("99", "其他"))
    #: 单位信息变更: fields greyed (置灰) beside the account's own (单位账号, 开户日期,
    #: 单位账户状态, 缴至年月), e.g. ("uscc",) to keep the USCC fixed.
    unit_info_locked: tuple[str, ...] = ()
    #: 职务 and 职称 code lists (code, label) of 缴存人信息变更.
    position_codes: tuple[tuple[str, str], ...] = (
        ("1", "高级领导"), ("2", "中级领导"), ("3", "一般员工"), ("9", "其他"))
    title_codes: tuple[tuple[str, str], ...] = (("1", "高级"), ("2", "中级"), ("3", "初级"),
                                                ("9", "无"))
    #: 缴款截止日: a verified month is due by this day of the month; unpaid after it, the
    #: unit is reminded.
    remittance_due_day: int = 15
    #: 收款单位 and 收款账号 printed on 汇补缴书 (the centre's collection account).
    collection_bank: str = "中国建设银行示范市分行"
    collection_account: str = "35050188000000000001"

    def to_json(self) -> str:
        return json.dumps({k: str(v) if isinstance(v, Decimal) else v
                           for k, v in asdict(self).items()}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> Policy:
        return _parsed(cls, text or "")

    @classmethod
    def _from_text(cls, text: str) -> Policy:
        if not text:
            return cls()
        raw = json.loads(text)
        kinds = {f.name: f.type for f in fields(cls)}
        values = {}
        for name, value in raw.items():
            if name not in kinds:
                continue
            if kinds[name] == "Decimal":
                value = Decimal(value)
            elif isinstance(value, list):  # a code list: JSON arrays back to tuples
                value = tuple(tuple(item) if isinstance(item, list) else item for item in value)
            values[name] = value
        return cls(**values)

    def base_range_text(self) -> str:
        return f"{self.base_floor:.2f} - {self.base_ceiling:.2f}"

    def rate_range_text(self) -> str:
        return f"{self.rate_min * 100:.0f}% - {self.rate_max * 100:.0f}%"

    @property
    def max_monthly_amount(self) -> Decimal:
        """The most one person can owe for a month: the base ceiling at the top rate on
        both sides (a back-pay amount above it is a typo)."""
        return (self.base_ceiling * self.rate_max * 2).quantize(Decimal("0.01"))


@lru_cache(maxsize=64)
def _parsed(cls, text: str) -> Policy:
    """Policies are read on every action and change rarely: parse each text once (a
    changed policy is a new text, so it is parsed afresh)."""
    return cls._from_text(text)


DEMO_POLICY = Policy()
