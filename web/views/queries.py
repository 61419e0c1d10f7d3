"""缴存人信息查询 (manual chapter 7) for unit operators: 账户信息 with export, and the
depositors' 客户信息变更 records. Filters are GET parameters; nothing here changes data."""

from __future__ import annotations

from flask import render_template, request

from engine.actors import OPERATOR
from services import person_query
from services.clock import today
from services.models.person import PERSON_STATUSES
from services.spreadsheets import table_xlsx

from .. import auth
from ..query_args import page_number
from ..xlsx import xlsx_response
from . import bp, percent_text

PER_PAGE = 20
TABS = {"accounts": "账户信息", "changes": "客户信息变更"}
EXPORT_COLUMNS = [
    ("person_account", "个人账号", 16), ("name", "姓名", 10), ("id_number", "证件号码", 22),
    ("status_name", "账户状态", 10), ("opened_on", "开户日期", 12), ("base", "缴存基数", 14),
    ("person_rate_text", "个人缴存比例", 12), ("monthly_amount", "月缴存额", 14),
    ("paid_through", "缴至年月", 10), ("balance", "账户余额", 16),
]


@bp.get("/queries/persons")
@auth.login_required(OPERATOR)
def person_query_page():
    actor = auth.current_actor()
    tab = request.args.get("tab", "accounts")
    tab = tab if tab in TABS else "accounts"
    page = page_number()
    filters, problems = person_query.Filters.parse(request.args)
    query = person_query.accounts if tab == "accounts" else person_query.changes
    rows, total = query(actor.unit_id, filters, page, PER_PAGE)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("queries/persons.html", tab=tab, tabs=TABS, rows=rows, total=total,
                           page=page, per_page=PER_PAGE, filters=filters, problems=problems,
                           statuses=PERSON_STATUSES, args=args, print_args=filters.to_args())


@bp.get("/queries/persons/accounts.xlsx")
@auth.login_required(OPERATOR)
def person_accounts_export():
    """【导出】: every account matching the filters (not just the page shown)."""
    filters, _ = person_query.Filters.parse(request.args)
    rows, _ = person_query.accounts(auth.current_actor().unit_id, filters, per_page=0)
    for row in rows:
        row["person_rate_text"] = percent_text(row["person_rate"])
    content = table_xlsx("缴存人账户信息", EXPORT_COLUMNS, rows)
    return xlsx_response(content, f"缴存人账户信息_{today():%Y%m%d}.xlsx")
