"""客户信息变更查询: the unit's own changes (8.1, a tab of 单位信息查询) and the export of
its depositors' changes (7.2, shown on 缴存人信息查询), with the printed record of a
单位信息变更 (ch.3 “完成办理，是否打印？”). Each row links to its application, whose page
shows the flowchart."""

from __future__ import annotations

from collections.abc import Mapping

from flask import request

from engine.actors import OPERATOR, Actor
from engine.queries import instance_for
from services import clock, documents, person_query
from services.change_query import unit_changes
from services.documents import builders
from services.errors import Forbidden, InvalidInput, NotFound
from services.spreadsheets import table_xlsx

from .. import auth
from ..printing import print_point
from ..query_args import date_filters, page_number
from ..xlsx import xlsx_response
from . import bp
from .unit_query import PER_PAGE, query_tab

UNIT_COLUMNS = [("changed_at", "变更时间", 18), ("field", "变更项目", 18),
                ("old_value", "原值", 30), ("new_value", "新值", 30), ("business", "业务", 14),
                ("actor", "经办人", 12), ("instance_id", "申请号", 10)]
PERSON_COLUMNS = [("changed_at", "变更时间", 18), ("person_account", "个人账号", 16),
                  ("name", "姓名", 10), ("field", "变更项目", 16), ("old_value", "原值", 24),
                  ("new_value", "新值", 24), ("business", "业务", 14), ("actor", "经办人", 12),
                  ("instance_id", "申请号", 10)]


def _dates():
    return date_filters(("since", "开始日期"), ("until", "结束日期"))


@query_tab("changes", "客户信息变更")
def unit_changes_tab(actor: Actor) -> tuple[str, dict]:
    """8.1: the unit's changed fields by 变更日期, newest first; export and print."""
    dates, problems = _dates()
    page = page_number()
    rows, total = unit_changes(actor.unit_id, dates["since"], dates["until"], page, PER_PAGE)
    args = {k: str(v) for k, v in dates.items() if v}
    return "unit_query/changes.html", {"rows": rows, "total": total, "page": page,
                                       "per_page": PER_PAGE, "filters": dates,
                                       "problems": problems, "args": args}


@bp.get("/queries/unit/changes.xlsx")
@auth.login_required(OPERATOR)
def unit_changes_export():
    dates, _ = _dates()
    rows, _ = unit_changes(auth.current_actor().unit_id, dates["since"], dates["until"],
                           per_page=0)
    return xlsx_response(table_xlsx("单位信息变更记录", UNIT_COLUMNS, rows),
                         f"单位信息变更记录_{clock.today():%Y%m%d}.xlsx")


@bp.get("/queries/persons/changes.xlsx")
@auth.login_required(OPERATOR)
def person_changes_export():
    """7.2 【导出】: every record matching the page's filters (date range, person)."""
    filters, _ = person_query.Filters.parse(request.args)
    rows, _ = person_query.changes(auth.current_actor().unit_id, filters, per_page=0)
    return xlsx_response(table_xlsx("缴存人客户信息变更记录", PERSON_COLUMNS, rows),
                         f"缴存人客户信息变更记录_{clock.today():%Y%m%d}.xlsx")


@print_point("unit_changes")
def unit_changes_document(actor: Actor, ref: str, args: Mapping[str, str]
                          ) -> documents.Document:
    """`ref` “me”: 8.1 as queried; an application's number: the changes it made."""
    if not actor.is_operator:
        raise Forbidden("该文件由缴存单位经办人打印")
    if ref.isdigit() and len(ref) <= 12:
        instance = instance_for(int(ref), actor)
        if instance.process_key != "unit_info_change":
            raise NotFound("没有这份打印文件")
        return builders.unit_changes(actor.unit_id, clock.today(), instance_id=instance.id)
    if ref != "me":
        raise NotFound("没有这份打印文件")
    dates, problems = clock.dates_from(args, ("since", "开始日期"), ("until", "结束日期"))
    if problems:
        raise InvalidInput("查询条件有误：" + "；".join(problems.values()),
                           {name: [message] for name, message in problems.items()})
    return builders.unit_changes(actor.unit_id, clock.today(), dates["since"], dates["until"])
