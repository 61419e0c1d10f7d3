"""Every printed document of the manual, one layout per kind.

Each layout has a data builder (builders.py or money.py) that fills a `Document` with
these keys; a new kind of document adds its layout here first.
"""

from __future__ import annotations

from .model import Column, Item, Layout

MONEY = "money"
YUAN = "元"
PERSONS = "人"

UNIT_QUERY = Item("filters", "查询条件", wide=True)
PERSON_COLUMNS = (Column("person_account", "个人账号", width=1.25),
                  Column("name", "姓名", width=0.9),
                  Column("id_number", "证件号码", width=1.75))

LAYOUTS: dict[str, Layout] = {}


def _add(layout: Layout) -> Layout:
    LAYOUTS[layout.kind] = layout
    return layout


# 7.1 缴存人账户信息: the unit's list as filtered on the query page.
PERSON_ACCOUNTS = _add(Layout(
    kind="person_accounts", title="缴存人账户信息",
    fields=(UNIT_QUERY,),
    columns=(*PERSON_COLUMNS, Column("status_name", "账户状态", width=0.75),
             Column("opened_on", "开户日期", "date", 1.0), Column("base", "缴存基数", MONEY, 1.05),
             Column("person_rate", "个人比例", "rate", 0.7),
             Column("monthly_amount", "月缴存额", MONEY, 1.0),
             Column("paid_through", "缴至年月", "month", 0.8),
             Column("balance", "账户余额", MONEY, 1.2)),
    totals=(Item("count", "人数", "count", PERSONS), Item("monthly_total", "月缴存额合计", MONEY, YUAN),
            Item("balance_total", "账户余额合计", MONEY, YUAN)),
    note="账户余额为截至打印日期的业务流水合计（含结息）。"))

# 7.1 one depositor's account with its 明细 (the ledger rows), kept after each allocation.
PERSON_STATEMENT = _add(Layout(
    kind="person_statement", title="缴存人账户明细",
    fields=(Item("person_account", "个人账号"), Item("name", "姓名"),
            Item("id_number", "证件号码"), Item("status_name", "账户状态"),
            Item("opened_on", "开户日期", "date"), Item("paid_through", "缴至年月", "month"),
            Item("base", "缴存基数", MONEY, YUAN), Item("monthly_amount", "月缴存额", MONEY, YUAN),
            Item("unit_rate", "单位缴存比例", "rate"), Item("person_rate", "个人缴存比例", "rate")),
    columns=(Column("booked_on", "记账日期", "date", 1.0), Column("serial_no", "业务流水号", width=1.5),
             Column("biz_type", "业务类型", width=0.85), Column("summary", "摘要", width=1.6),
             Column("amount", "发生额", MONEY, 1.1), Column("interest", "利息额", MONEY, 0.9),
             Column("balance", "余额", MONEY, 1.2)),
    totals=(Item("count", "笔数", "count", "笔"), Item("amount_total", "发生额合计", MONEY, YUAN),
            Item("interest_total", "利息额合计", MONEY, YUAN),
            Item("balance", "账户余额", MONEY, YUAN))))

# 7.2 客户信息变更 records of the unit's depositors.
PERSON_CHANGES = _add(Layout(
    kind="person_changes", title="缴存人客户信息变更记录",
    fields=(UNIT_QUERY,),
    columns=(Column("changed_at", "变更时间", "time", 1.3), Column("person_account", "个人账号", width=1.25),
             Column("name", "姓名", width=0.8), Column("field", "变更项目", width=1.05),
             Column("old_value", "变更前", width=1.3), Column("new_value", "变更后", width=1.3),
             Column("business", "业务", width=0.9), Column("actor", "经办人", width=0.8)),
    totals=(Item("count", "记录数", "count", "条"), Item("persons", "涉及人数", "count", PERSONS))))

# 7.3 账户状态变更 records (开户, 封存, 启封, 转入, 转出) as filtered on the query page.
PERSON_STATUS_CHANGES = _add(Layout(
    kind="person_status_changes", title="缴存人账户状态变更记录",
    fields=(UNIT_QUERY,),
    columns=(Column("at", "变更时间", width=1.2), *PERSON_COLUMNS,
             Column("change_name", "变更类型", width=0.7),
             Column("from_status", "变更前状态", width=0.85),
             Column("to_status", "变更后状态", width=0.85), Column("month", "生效年月", width=0.8),
             Column("reason", "变更原因", width=1.25), Column("actor", "经办人", width=0.8)),
    totals=(Item("count", "记录数", "count", "条"), Item("sealed", "封存人数", "count", PERSONS),
            Item("unsealed", "启封人数", "count", PERSONS)),
    landscape=True))

# Ch.3 “完成办理，是否打印？” and 8.1: 单位信息变更 records.
UNIT_CHANGES = _add(Layout(
    kind="unit_changes", title="单位信息变更记录",
    fields=(UNIT_QUERY,),
    columns=(Column("changed_at", "变更时间", "time", 1.2), Column("field", "变更项目", width=1.1),
             Column("old_value", "变更前", width=1.8), Column("new_value", "变更后", width=1.8),
             Column("business", "业务", width=0.9), Column("actor", "经办人", width=0.8)),
    totals=(Item("count", "记录数", "count", "条"),)))

# 5.2 汇补缴书: a verified, unpaid month, printed to pay it.
REMITTANCE_NOTICE = _add(Layout(
    kind="remittance_notice", title="住房公积金汇补缴书", date_label="核定日期",
    fields=(Item("month", "汇缴年月", "month"), Item("unit_rate", "单位缴存比例", "rate"),
            Item("payee", "收款单位"), Item("payee_account", "收款账号"),
            Item("last_count", "上月汇缴人数", "count", PERSONS),
            Item("last_amount", "上月汇缴金额", MONEY, YUAN),
            Item("added_count", "本月增加人数", "count", PERSONS),
            Item("added_amount", "本月增加金额", MONEY, YUAN),
            Item("removed_count", "本月减少人数", "count", PERSONS),
            Item("removed_amount", "本月减少金额", MONEY, YUAN)),
    columns=(*PERSON_COLUMNS, Column("base", "缴存基数", MONEY, 1.05),
             Column("unit_amount", "单位月缴存额", MONEY, 1.05),
             Column("person_amount", "个人月缴存额", MONEY, 1.05),
             Column("monthly_amount", "月缴存额", MONEY, 1.05)),
    totals=(Item("count", "本月汇缴人数", "count", PERSONS),
            Item("unit_total", "单位缴存额合计", MONEY, YUAN),
            Item("person_total", "个人缴存额合计", MONEY, YUAN),
            Item("amount", "本月汇缴金额", MONEY, YUAN),
            Item("amount_words", "金额大写", "capital", wide=True)),
    note="请按本汇补缴书金额缴款；缴款到账并分配后，职工个人账户方记入本月缴存额。"))

# Ch.6 补缴书: the 待办 print that completes an approved back pay.
BACK_PAY_NOTICE = _add(Layout(
    kind="back_pay_notice", title="住房公积金补缴书", date_label="审批日期",
    fields=(Item("instance", "申请号"), Item("reviewer", "审批人"),
            Item("payee", "收款单位"), Item("payee_account", "收款账号")),
    columns=(*PERSON_COLUMNS, Column("month", "补缴年月", "month", 0.8),
             Column("reason", "补缴原因", width=1.0), Column("amount", "补缴金额", MONEY, 1.1)),
    totals=(Item("persons", "补缴人数", "count", PERSONS), Item("count", "补缴笔数", "count", "笔"),
            Item("amount", "补缴金额合计", MONEY, YUAN),
            Item("amount_words", "金额大写", "capital", wide=True))))

# Ch.6 “提交审批完成，是否打印凭条？”: the receipt of a submitted back pay.
BACK_PAY_RECEIPT = _add(Layout(
    kind="back_pay_receipt", title="补缴业务凭条", date_label="提交日期",
    fields=(Item("instance", "申请号"), Item("business", "业务类型"),
            Item("submitted_at", "提交时间", "time"), Item("operator", "经办人"),
            Item("months", "补缴年月", wide=True)),
    totals=(Item("persons", "补缴人数", "count", PERSONS), Item("amount", "补缴金额", MONEY, YUAN),
            Item("amount_words", "金额大写", "capital", wide=True)),
    note="本凭条证明补缴申请已提交中心审批，不作缴款凭证。"))

# 8.3 业务流水 of the unit.
LEDGER = _add(Layout(
    kind="ledger", title="单位业务流水",
    fields=(UNIT_QUERY,),
    columns=(Column("serial_no", "业务流水号", width=1.5), Column("booked_on", "记账日期", "date", 1.0),
             Column("biz_type", "业务类型", width=0.85), Column("summary", "摘要", width=1.7),
             Column("amount", "发生额", MONEY, 1.2), Column("interest", "利息额", MONEY, 0.9),
             Column("head_count", "人数", "count", 0.6)),
    totals=(Item("count", "笔数", "count", "笔"), Item("amount_total", "发生额合计", MONEY, YUAN),
            Item("interest_total", "利息额合计", MONEY, YUAN))))

# 8.2 账户信息 for the dates queried, with the period's 业务流水 (打印单位账户变更记录).
UNIT_ACCOUNT = _add(Layout(
    kind="unit_account", title="单位账户信息",
    fields=(Item("period", "查询期间", wide=True), Item("opening", "期初余额", MONEY, YUAN),
            Item("increase", "本期增加", MONEY, YUAN), Item("decrease", "本期减少", MONEY, YUAN),
            Item("closing", "期末余额", MONEY, YUAN), Item("unallocated", "单位未分配金额", MONEY, YUAN)),
    columns=LEDGER.columns, totals=(Item("count", "笔数", "count", "笔"),),
    note="期初余额 + 本期增加 − 本期减少 = 期末余额；余额为职工个人账户合计（含结息）。"))

# 8.3 明细 of one 业务流水: its rows per person.
LEDGER_DETAILS = _add(Layout(
    kind="ledger_details", title="业务明细",
    fields=(Item("serial_no", "业务流水号"), Item("booked_on", "记账日期", "date"),
            Item("biz_type", "业务类型"), Item("summary", "摘要")),
    columns=(Column("person_account", "个人账号", width=1.25), Column("name", "姓名", width=0.9),
             Column("booked_on", "记账日期", "date", 1.0), Column("amount", "发生额", MONEY, 1.1),
             Column("interest", "发生利息额", MONEY, 1.0), Column("detail_type", "业务明细类型", width=1.1)),
    totals=(Item("count", "人数", "count", PERSONS), Item("amount_total", "发生额合计", MONEY, YUAN),
            Item("interest_total", "利息额合计", MONEY, YUAN))))

# 8.3.3 缴费凭条: a payment (缴款) received, with the centre's seal.
PAYMENT_RECEIPT = _add(Layout(
    kind="payment_receipt", title="住房公积金缴费凭条", date_label="缴款日期",
    fields=(Item("serial_no", "业务流水号"), Item("method", "缴款方式"),
            Item("month", "缴存年月", "month"), Item("reference", "银行流水号"),
            Item("payee", "收款单位"), Item("summary", "摘要")),
    totals=(Item("amount", "缴款金额", MONEY, YUAN),
            Item("amount_words", "金额大写", "capital", wide=True))))

# Ch.4: the approval notice of a finished base adjustment, with its 清册.
BASE_ADJUSTMENT_NOTICE = _add(Layout(
    kind="base_adjustment_notice", title="基数调整审批通知书", date_label="审批日期",
    fields=(Item("instance", "申请号"), Item("initiator", "经办人"),
            Item("submitted_at", "提交时间", "time"), Item("decision", "审批结果"),
            Item("reviewer", "审批人"), Item("reviewed_at", "审批时间", "time"),
            Item("opinion", "审批意见", wide=True)),
    columns=(*PERSON_COLUMNS, Column("old_base", "调整前基数", MONEY, 1.0),
             Column("new_base", "调整后基数", MONEY, 1.0),
             Column("new_person_rate", "个人比例", "rate", 0.65),
             Column("effective_month", "生效年月", "month", 0.8),
             Column("old_monthly", "调整前月缴存额", MONEY, 1.1),
             Column("new_monthly", "调整后月缴存额", MONEY, 1.1)),
    totals=(Item("count", "调整人数", "count", PERSONS),
            Item("old_total", "调整前月缴存额合计", MONEY, YUAN),
            Item("new_total", "调整后月缴存额合计", MONEY, YUAN),
            Item("difference", "月缴存额变化", MONEY, YUAN)),
    note="自生效年月起按调整后缴存基数核定汇缴。", landscape=True))
