"""单位信息查询 (manual ch.8) for unit operators: one page whose tabs each query one thing.
This module builds 8.2 账户信息 and 8.3 业务流水 (with each row's 明细, export and print);
another business adds its tab (8.1 客户信息变更) with `@query_tab`, nothing else to edit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import render_template, request

from engine.actors import OPERATOR, Actor
from services import clock, unit_query
from services.models import BIZ_TYPES
from services.spreadsheets import table_xlsx

from .. import auth, money_prints  # noqa: F401  (money_prints registers the print points)
from ..query_args import date_filters, page_number
from ..xlsx import xlsx_response
from . import bp

PER_PAGE = 20
DETAILS_PER_PAGE = 50
#: key → (label, build): `build(actor)` answers (the tab's template, its context).
UNIT_QUERY_TABS: dict[str, tuple[str, Callable[[Actor], tuple[str, dict]]]] = {}
LEDGER_COLUMNS = [("serial_no", "业务流水号", 22), ("booked_on", "记账日期", 12),
                  ("biz_type_name", "业务类型", 10), ("summary", "摘要", 30),
                  ("amount", "发生额", 16), ("interest", "利息额", 14), ("head_count", "人数", 8)]
DETAIL_COLUMNS = [("person_account", "个人账号", 16), ("name", "姓名", 10),
                  ("booked_on", "记账日期", 12), ("amount", "发生额", 14),
                  ("interest", "发生利息额", 14), ("detail_type", "业务明细类型", 12),
                  ("summary", "摘要", 28)]


def query_tab(key: str, label: str):
    """Register a tab of 单位信息查询 (in the order registered)."""
    def register(build: Callable[[Actor], tuple[str, dict]]):
        UNIT_QUERY_TABS[key] = (label, build)
        return build
    return register


@bp.get("/queries/unit")
@auth.login_required(OPERATOR)
def unit_query_page():
    tab = request.args.get("tab") or next(iter(UNIT_QUERY_TABS))
    if tab not in UNIT_QUERY_TABS:
        tab = next(iter(UNIT_QUERY_TABS))
    template, context = UNIT_QUERY_TABS[tab][1](auth.current_actor())
    return render_template("unit_query/page.html", tab=tab,
                           tabs={k: v[0] for k, v in UNIT_QUERY_TABS.items()},
                           body=template, **context)


def _range() -> tuple[dict[str, date | None], dict[str, str]]:
    return date_filters(("since", "开始日期"), ("until", "结束日期"))


@query_tab("account", "账户信息")
def account_tab(actor: Actor) -> tuple[str, dict]:
    """8.2: 期初余额, 本期增加, 本期减少, 期末余额, 单位未分配金额 for the dates chosen
    (this year so far by default)."""
    dates, problems = _range()
    since, until, moved = unit_query.account_period(dates["since"], dates["until"],
                                                    clock.today())
    if moved:  # it says how the range was put right instead
        problems = {**{k: v for k, v in problems.items() if k != "until"}, "since": moved}
    info = unit_query.account_info(actor.unit_id, since, until)
    return "unit_query/account.html", {"info": info, "problems": problems}


def _ledger_filters() -> tuple[dict, dict[str, str]]:
    dates, problems = _range()
    biz = unit_query.parse_type(request.args.get("type"))
    return {"biz_type": biz, "since": dates["since"], "until": dates["until"]}, problems


@query_tab("ledger", "业务流水")
def ledger_tab(actor: Actor) -> tuple[str, dict]:
    """8.3: the 业务流水 by type and 记账日期, paged; 明细, export, print."""
    filters, problems = _ledger_filters()
    page = page_number()
    rows, total = unit_query.ledger_rows(actor.unit_id, filters["biz_type"], filters["since"],
                                         filters["until"], page, PER_PAGE)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    print_args = {k: v for k, v in (("type", filters["biz_type"]), ("since", filters["since"]),
                                    ("until", filters["until"])) if v}
    return "unit_query/ledger.html", {"rows": rows, "total": total, "page": page,
                                      "per_page": PER_PAGE, "filters": filters,
                                      "problems": problems, "types": BIZ_TYPES, "args": args,
                                      "print_args": print_args}


@bp.get("/queries/unit/ledger.xlsx")
@auth.login_required(OPERATOR)
def unit_ledger_export():
    filters, _ = _ledger_filters()
    rows, _ = unit_query.ledger_rows(auth.current_actor().unit_id, filters["biz_type"],
                                     filters["since"], filters["until"], per_page=0)
    return xlsx_response(table_xlsx("单位业务流水", LEDGER_COLUMNS, rows),
                         f"单位业务流水_{clock.today():%Y%m%d}.xlsx")


@bp.get("/queries/unit/ledger/<serial>")
@auth.login_required(OPERATOR)
def unit_ledger_details(serial: str):
    """明细 of one 业务流水."""
    page = page_number()
    entry, rows, total = unit_query.details(auth.current_actor().unit_id, serial, page,
                                            DETAILS_PER_PAGE)
    return render_template("unit_query/details.html", entry=unit_query.row_dict(entry),
                           rows=rows, total=total, page=page, per_page=DETAILS_PER_PAGE)


@bp.get("/queries/unit/ledger/<serial>.xlsx")
@auth.login_required(OPERATOR)
def unit_ledger_details_export(serial: str):
    entry, rows, _ = unit_query.details(auth.current_actor().unit_id, serial, per_page=0)
    return xlsx_response(table_xlsx("业务明细", DETAIL_COLUMNS, rows),
                         f"业务明细_{entry.serial_no}.xlsx")
