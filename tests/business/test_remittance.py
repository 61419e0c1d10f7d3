"""汇缴 (manual 5.1, 5.2) through the JSON API as a unit uses it: 汇缴核定 with its
reconciliation (a transfer's 转出 and 转入 too) and its refusals, 汇缴核定查询 with 明细
(its .xlsx export) and 删除, a new unit's first month, the overdue reminder, and twenty
verifications of one month racing on PostgreSQL. Every money step is followed by the
books check (tests/money_helpers.py)."""

from __future__ import annotations

import io
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from engine import runner
from engine.models import COMPLETED, ProcessInstance
from services import remittance
from services.db import db
from services.models import (
    LedgerEntry,
    Message,
    Payable,
    PayableLine,
    Person,
    PersonAccount,
    UnitAccount,
)
from services.months import YearMonth
from tests.money_helpers import (
    Today,
    change_status,
    check_books,
    new_base,
    new_unit,
    register_person,
    unit_id_of,
)
from tests.ukey import ukey_login_fields

from .helpers import add, decide, start

API = "/api/v1"


@pytest.fixture
def today(monkeypatch):
    return Today(monkeypatch)


def login(make_api, unit: dict):
    api = make_api()
    response = api.post(f"{API}/auth/login", {"unit_account": unit["unit_account"],
                                              "login_name": unit["login_name"],
                                              "password": unit["password"],
                                              "ukey": ukey_login_fields(api.client, unit)})
    assert response.status_code == 200, response.json
    return api


def pay(finance, unit_account: str, amount, key: str, method: str = "transfer"):
    return finance.post(f"{API}/payments", {"unit_account": unit_account, "amount": str(amount),
                                            "method": method, "reference": f"BK{key}",
                                            "idempotency_key": f"bank-{key}-0000"})


def test_verifying_fixes_the_month_says_so_and_moves_on(app, make_api, demo):
    unit = make_api().login_operator()
    unit_id = unit_id_of(app, demo)
    check_books(app, unit_id, unit)
    preview = unit.get(f"{API}/remittance").json
    month = preview["month"]
    assert preview["can_verify"] and preview["head_count"] == 216
    rec = preview["reconciliation"]
    assert rec["prev_month"] == str(YearMonth.parse(month) - 1)
    assert (rec["prev_count"], rec["count"]) == (216, 216) and rec["added"] == rec["removed"] == []

    verified = unit.post(f"{API}/remittances", {})
    assert verified.status_code == 201, verified.json
    assert verified.json["message"] == "核定成功"
    assert verified.json["month"] == month and verified.json["amount"] == preview["amount"]
    assert verified.json["next_month"] == str(YearMonth.parse(month) + 1)
    assert unit.get(f"{API}/remittance").json["month"] == str(YearMonth.parse(month) + 1)
    notice = unit.get(f"{API}/messages").json["items"][0]
    assert notice["content"] == f"尊敬的{demo['units'][0]['name']}，您已完成办理汇缴核定（{month}）"

    with app.app_context():  # the lines are the persons in 正常 at their amounts, to the 分
        active = db.session.execute(select(func.count(), func.sum(PersonAccount.unit_amount),
                                           func.sum(PersonAccount.person_amount)).where(
            PersonAccount.unit_id == unit_id, PersonAccount.status == "01")).one()
        payable = db.session.get(Payable, verified.json["payable_id"])
        lines = db.session.execute(select(func.count(), func.sum(PayableLine.amount)).where(
            PayableLine.payable_id == payable.id)).one()
        assert lines == (active[0], active[1] + active[2]) == (216, payable.amount)
        memo = db.session.execute(select(LedgerEntry).where(
            LedgerEntry.serial_no == payable.verify_serial)).scalar_one()
        assert (memo.biz_type, memo.amount, memo.head_count) == ("verify", payable.amount, 216)
    check_books(app, unit_id, unit)  # a verification moves no money

    listed = unit.get(f"{API}/remittances").json["items"]
    assert [r["month"] for r in listed] == [month]
    page = unit.get(f"{API}/remittances/{month}/lines?per_page=50&page=5").json
    assert page["total"] == 216 and len(page["items"]) == 16


def cell_money(value) -> Decimal:
    """An amount cell as the unit's spreadsheet holds it (a number), to the 分."""
    assert isinstance(value, int | float), value
    return Decimal(repr(value)).quantize(Decimal("0.01"))


def test_the_details_export_lists_every_person_to_the_fen_and_only_the_units_own(app, make_api,
                                                                                 demo):
    """汇缴核定查询 【明细】【导出】: one row per person of the verified month, by 个人账号,
    the amounts as numbers to the 分 and summing to the month's amount; another unit asking
    for the same month gets nothing of this unit's."""
    unit = make_api().login_operator()
    unit_id = unit_id_of(app, demo)
    month = YearMonth.parse(unit.get(f"{API}/remittance").json["month"])
    with app.app_context():  # amounts that round to the 分 (at 12%: 3333.33 → 399.9996)
        rates = db.session.execute(select(UnitAccount.unit_rate, UnitAccount.person_rate).where(
            UnitAccount.unit_id == unit_id)).one()
        odd = register_person(unit_id, month, "3333.33", "钱零头")
        db.session.commit()
    verified = unit.post(f"{API}/remittances", {}).json
    check_books(app, unit_id, unit)

    with app.app_context():  # what the month should list: the persons in 正常, as they stand
        expected = [(no, name, idn, base, u, p, u + p) for no, name, idn, base, u, p in
                    db.session.execute(select(
                        PersonAccount.account_no, Person.name, Person.id_number, PersonAccount.base,
                        PersonAccount.unit_amount, PersonAccount.person_amount)
                        .join(Person, Person.id == PersonAccount.person_id)
                        .where(PersonAccount.unit_id == unit_id, PersonAccount.status == "01")
                        .order_by(PersonAccount.account_no)).all()]
        odd_no = db.session.get(PersonAccount, odd).account_no
        db.session.remove()
    response = unit.get(f"/remittance/{month}/lines.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"filename*=UTF-8''{quote(f'汇缴明细_{month}.xlsx')}" in \
        response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet.title == f"{month}汇缴明细"
    assert [c.value for c in sheet[1]] == ["个人账号", "姓名", "证件号码", "缴存基数",
                                           "单位月缴存额", "个人月缴存额", "月缴存额"]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert len(rows) == verified["head_count"] == len(expected) == 217
    got = [(no, name, idn, *(cell_money(v) for v in amounts))
           for no, name, idn, *amounts in rows]
    assert got == expected
    assert all(sheet.cell(row=2, column=c).number_format == "#,##0.00" for c in range(4, 8))
    half_up = [(Decimal("3333.33") * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
               for rate in rates]
    assert next(r[4:] for r in got if r[0] == odd_no) == (*half_up, sum(half_up))
    for column, key in ((4, "unit_amount"), (5, "person_amount"), (6, "amount")):
        assert sum(r[column] for r in got) == Decimal(verified[key])

    other = make_api().login_operator(unit=1)
    assert other.get(f"/remittance/{month}/lines.xlsx").status_code == 404
    assert other.get(f"/remittance/{month}/lines").status_code == 404
    own = other.post(f"{API}/remittances", {"month": str(month)})
    assert own.status_code == 201, own.json
    theirs = load_workbook(io.BytesIO(other.get(f"/remittance/{month}/lines.xlsx").data)).active
    listed = {r[0].value for r in theirs.iter_rows(min_row=2)}
    assert len(listed) == own.json["head_count"] and not listed & {e[0] for e in expected}
    anonymous = app.test_client().get(f"/remittance/{month}/lines.xlsx")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    check_books(app, unit_id_of(app, demo, 1), other)


def test_a_future_month_or_one_out_of_turn_is_refused_with_the_reason(app, make_api, demo, today):
    unit = make_api().login_operator()
    month = YearMonth.parse(unit.get(f"{API}/remittance").json["month"])
    assert unit.post(f"{API}/remittances", {}).status_code == 201

    future = unit.post(f"{API}/remittances", {})  # the next month has not come yet
    assert future.status_code == 422
    assert future.json["message"] == f"不能核定未来月份：{month + 1} 尚未到来（当前月份为 {month}）"
    shown = unit.get(f"{API}/remittance").json
    assert not shown["can_verify"] and "尚未到来" in shown["problem"]

    today.set((month + 2).first_day())
    skipped = unit.post(f"{API}/remittances", {"month": str(month + 2)})
    assert skipped.status_code == 422
    assert skipped.json["message"] == (f"汇缴核定须逐月办理：本单位下一个应核定的年月为 "
                                       f"{month + 1}，不能核定 {month + 2}")
    again = unit.post(f"{API}/remittances", {"month": str(month)})
    assert again.status_code == 422 and again.json["message"] == f"{month} 已核定，不能重复核定"
    paid = unit.post(f"{API}/remittances", {"month": str(month - 1)})
    assert paid.status_code == 422 and "已汇缴" in paid.json["message"]
    assert unit.post(f"{API}/remittances", {"month": str(month + 1)}).status_code == 201


def test_an_unfinished_base_adjustment_or_a_sealed_unit_stops_verification(app, make_api, demo):
    unit = make_api().login_operator()
    started = unit.post(f"{API}/processes/base_adjustment/instances", {"data": {}}).json
    refused = unit.post(f"{API}/remittances", {})
    assert refused.status_code == 422
    assert refused.json["message"] == (f"您单位有未办结的基数调整（申请号 #{started['instance_id']}），"
                                       "请办结或结束该流程后再办理汇缴核定")
    assert unit.post(f"{API}/instances/{started['instance_id']}/terminate",
                     {"reason": ""}).status_code == 200

    with app.app_context():
        account = db.session.execute(select(UnitAccount).where(
            UnitAccount.account_no == demo["units"][0]["unit_account"])).scalar_one()
        account.status = "05"
        db.session.commit()
    sealed = unit.post(f"{API}/remittances", {})
    assert sealed.status_code == 422 and sealed.json["message"] == "单位账户已封存，不能办理汇缴核定"
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.process_key == "remittance")).scalar_one() == 0  # nothing kept


def test_the_reconciliation_names_who_joined_and_left_and_why(app, make_api, demo, today):
    unit = make_api().login_operator()
    unit_id = unit_id_of(app, demo)
    month = YearMonth.parse(unit.get(f"{API}/remittance").json["month"])
    with app.app_context():
        accounts = db.session.execute(select(PersonAccount).where(
            PersonAccount.unit_id == unit_id).order_by(PersonAccount.id)).scalars().all()
        active = [a for a in accounts if a.status == "01"]
        sealed = [a for a in accounts if a.status == "02"]
        joined_new = register_person(unit_id, month, "8000.00", "新入职")
        new_amount = db.session.get(PersonAccount, joined_new).monthly_amount
        change_status(sealed[0].id, "unseal", month)
        back_amount = sealed[0].monthly_amount
        change_status(active[0].id, "seal", month)
        left_amount = active[0].monthly_amount
        before = active[1].monthly_amount
        up = new_base(active[1].id, month, str(active[1].base + 1000)) - before
        before = active[2].monthly_amount
        down = before - new_base(active[2].id, month, "2540.00")
        db.session.commit()

    rec = unit.get(f"{API}/remittance").json["reconciliation"]
    added = {c["key"]: (c["count"], Decimal(c["amount"])) for c in rec["added"]}
    removed = {c["key"]: (c["count"], Decimal(c["amount"])) for c in rec["removed"]}
    assert added == {"open": (1, new_amount), "unseal": (1, back_amount), "base": (0, up)}
    assert removed == {"seal": (1, left_amount), "base": (0, down)}
    assert [c["label"] for c in rec["added"]] == ["登记", "启封", "基数调整"]
    assert [c["label"] for c in rec["removed"]] == ["封存", "基数调整"]
    assert rec["count"] == rec["prev_count"] + 2 - 1 == 217
    assert Decimal(rec["amount"]) == (Decimal(rec["prev_amount"]) + new_amount + back_amount + up
                                      - left_amount - down)

    verified = unit.post(f"{API}/remittances", {}).json
    assert verified["reconciliation"] == rec  # as stored with the month
    assert Decimal(verified["amount"]) == Decimal(rec["amount"])
    assert verified["head_count"] == 217


def test_a_transfer_shows_as_transfer_out_in_one_unit_and_transfer_in_in_the_other(
        app, make_api, demo, today):
    """A person in unit A's verified month is sealed and, once that month is paid (a
    transfer waits for it) and before A's next month, moved to unit B by 缴存人单位调整
    (approved by a reviewer): A's next reconciliation names them
    under 减少 as 转出 (they are no longer A's at all, not merely sealed there), B's under
    增加 as 转入, each at that unit's amount; both months verify as reconciled."""
    unit_a, unit_b = make_api().login_operator(unit=0), make_api().login_operator(unit=1)
    reviewer = make_api().login_reviewer()
    a_id, b_id = unit_id_of(app, demo, 0), unit_id_of(app, demo, 1)
    first = unit_a.post(f"{API}/remittances", {}).json
    month = YearMonth.parse(first["month"])
    assert make_api().login_finance().post(f"{API}/payments", {
        "unit_account": demo["units"][0]["unit_account"], "amount": first["amount"],
        "method": "transfer", "reference": "A-PAID", "idempotency_key": "a-month-paid"}
    ).json["allocated"]
    with app.app_context():
        leaving = db.session.execute(select(PersonAccount).where(
            PersonAccount.unit_id == a_id, PersonAccount.status == "01")
            .order_by(PersonAccount.account_no)).scalars().first()
        number, amount_in_a = leaving.account_no, leaving.monthly_amount
        change_status(leaving.id, "seal", month + 1)
        db.session.commit()
    check_books(app, a_id, unit_a)
    b_before = check_books(app, b_id, unit_b)

    instance_id, task_id = start(unit_b, key="transfer")
    assert add(unit_b, instance_id, from_unit_account=demo["units"][0]["unit_account"],
               person_account=number).status_code == 201
    assert unit_b.post(f"{API}/tasks/{task_id}/complete", {"data": {}}).status_code == 200
    decide(reviewer, instance_id, "approve", "同意调整")
    with app.app_context():
        moved = db.session.execute(select(PersonAccount).where(
            PersonAccount.account_no == number)).scalar_one()
        assert (moved.unit_id, moved.status) == (b_id, "01")
        amount_in_b = moved.monthly_amount
        db.session.remove()
    a_books, b_books = check_books(app, a_id, unit_a), check_books(app, b_id, unit_b)
    assert b_books["persons"] - b_before["persons"] > 0

    today.set((month + 1).first_day().replace(day=8))
    a_rec = unit_a.get(f"{API}/remittance").json["reconciliation"]
    assert a_rec["month"] == str(month + 1) and a_rec["added"] == []
    assert [(c["key"], c["label"], c["count"], Decimal(c["amount"])) for c in a_rec["removed"]] \
        == [("transfer_out", "转出", 1, amount_in_a)]
    assert (a_rec["prev_count"], a_rec["count"]) == (first["head_count"], first["head_count"] - 1)
    b_preview = unit_b.get(f"{API}/remittance").json
    b_rec = b_preview["reconciliation"]
    assert [(c["key"], c["label"], c["count"], Decimal(c["amount"])) for c in b_rec["added"]] \
        == [("transfer_in", "转入", 1, amount_in_b)]
    assert b_rec["removed"] == [] and b_rec["count"] == b_rec["prev_count"] + 1

    a_next = unit_a.post(f"{API}/remittances", {}).json
    assert a_next["reconciliation"] == a_rec
    assert Decimal(a_next["amount"]) == Decimal(first["amount"]) - amount_in_a
    b_next = unit_b.post(f"{API}/remittances", {"month": b_preview["month"]}).json
    assert b_next["reconciliation"] == b_rec and b_next["head_count"] == b_rec["count"]
    assert check_books(app, a_id, unit_a) == a_books  # verifying moves no money
    assert check_books(app, b_id, unit_b) == b_books


def test_a_verification_is_deleted_while_unpaid_and_the_month_is_due_again(app, make_api, demo,
                                                                          today):
    unit = make_api().login_operator()
    finance = make_api().login_finance()
    unit_id = unit_id_of(app, demo)
    first = unit.post(f"{API}/remittances", {}).json
    month = YearMonth.parse(first["month"])
    today.set((month + 1).first_day())
    second = unit.post(f"{API}/remittances", {}).json
    older = unit.delete(f"{API}/remittances/{month}")
    assert older.status_code == 422
    assert older.json["message"] == f"请先删除 {month + 1} 的核定记录（须从最近核定的月份起删除）"

    deleted = unit.delete(f"{API}/remittances/{month + 1}")
    assert deleted.status_code == 200 and deleted.json["message"] == "核定删除成功"
    assert deleted.json["next_month"] == str(month + 1)
    assert [r["month"] for r in unit.get(f"{API}/remittances").json["items"]] == [str(month)]
    with app.app_context():
        instance = db.session.get(ProcessInstance, second["instance_id"])
        assert instance.status == COMPLETED  # its diagram heard 核定已删除 and ended
        reversal = db.session.execute(select(LedgerEntry).where(
            LedgerEntry.unit_id == unit_id, LedgerEntry.summary == f"{month + 1} 汇缴核定删除")
        ).scalar_one()
        assert reversal.amount == -Decimal(second["amount"])
    check_books(app, unit_id, unit)

    assert pay(finance, demo["units"][0]["unit_account"], first["amount"], "d1").status_code == 201
    paid = unit.delete(f"{API}/remittances/{month}")
    assert paid.status_code == 422 and paid.json["message"] == f"{month} 已缴款分配，不能删除"
    again = unit.post(f"{API}/remittances", {})
    assert again.status_code == 201 and again.json["month"] == str(month + 1)
    check_books(app, unit_id, unit)


def test_a_new_unit_pays_its_first_month_and_becomes_normal(app, make_api, demo, today):
    with app.app_context():
        first = YearMonth.of(today.day) - 2
        unit = new_unit(first, ["3000.00", "5000.00", "12000.50"])
        db.session.commit()
    api = login(make_api, unit)
    finance = make_api().login_finance()
    preview = api.get(f"{API}/remittance").json
    assert preview["month"] == str(first)
    assert [(c["label"], c["count"]) for c in preview["reconciliation"]["added"]] == [("登记", 3)]
    verified = api.post(f"{API}/remittances", {}).json
    assert verified["head_count"] == 3
    assert Decimal(verified["amount"]) == Decimal("600.00") + Decimal("1000.00") + Decimal("2400.10")
    assert api.get(f"{API}/units/me").json["status"] == "02"

    paid = pay(finance, unit["unit_account"], verified["amount"], "n1").json
    assert [p["month"] for p in paid["allocated"]] == [str(first)]
    me = api.get(f"{API}/units/me").json
    assert (me["status"], me["paid_through"]) == ("01", str(first))  # 开户 → 正常
    assert Decimal(me["balance"]) == Decimal(verified["amount"])
    check_books(app, unit["unit_id"], api)


def test_the_reminder_comes_the_day_after_the_due_day_or_the_day_after_a_late_verification():
    from services.policy import Policy

    policy = Policy()  # due on the 15th
    month = YearMonth(2026, 11)
    assert remittance.reminder_at(month, policy, date(2026, 11, 3)) == "2026-11-16T00:00:00+08:00"
    assert remittance.reminder_at(month, policy, date(2026, 11, 30)) == "2026-12-01T00:00:00+08:00"


def test_an_unpaid_month_past_its_due_day_reminds_the_unit_once(app, make_api, demo, today,
                                                                monkeypatch):
    with app.app_context():
        first = YearMonth.of(today.day) - 2
        unit = new_unit(first, ["4000.00"])
        db.session.commit()
    api = login(make_api, unit)
    # The due day's end, a few seconds from now (the diagram's timer runs on real time;
    # one second was less than a verification took on a loaded machine).
    soon = (datetime.now(UTC) + timedelta(seconds=4)).isoformat()
    monkeypatch.setattr(remittance, "reminder_at", lambda *args: soon)
    verified = api.post(f"{API}/remittances", {}).json
    due = remittance.due_date(first, app_policy(app))
    with app.app_context():
        assert runner.run_timers() == 0  # not due yet
        # The timer waits whole seconds from the moment the verification reached it, so it
        # falls due at the reminder time or up to a second and the verification's own
        # time after it; the test waits for the moment the instance records.
        due_at = db.session.get(ProcessInstance, verified["instance_id"]).next_timer_at
        db.session.rollback()
        reminder = datetime.fromisoformat(soon).replace(tzinfo=None)
        assert reminder <= due_at <= reminder + timedelta(seconds=3)
        time.sleep(max(0.0, (due_at - datetime.now(UTC).replace(tzinfo=None)).total_seconds())
                   + 0.1)
        assert runner.run_timers() == 1
        assert runner.run_timers() == 0  # once
        reminders = db.session.execute(select(Message.content).where(
            Message.instance_id == verified["instance_id"], Message.content.like("%截止日%"))
        ).scalars().all()
    assert reminders == [f"您单位 {first} 的汇缴已核定但尚未缴款，已超过缴款截止日 {due}，请尽快缴款。"]
    finance = make_api().login_finance()  # still waiting for the money after the reminder
    assert pay(finance, unit["unit_account"], verified["amount"], "r1").json["allocated"]
    with app.app_context():
        assert db.session.get(ProcessInstance, verified["instance_id"]).status == COMPLETED
    check_books(app, unit["unit_id"], api)


def app_policy(app):
    with app.app_context():
        from services.models import City
        return db.session.execute(select(City)).scalars().first().policy


def test_twenty_simultaneous_verifications_of_a_month_leave_one(app, make_api, demo, databases):
    if not databases.is_postgres:
        pytest.skip("real concurrent writers: PostgreSQL (SQLite serializes writers)")
    clients = [make_api().login_operator() for _ in range(20)]
    month = clients[0].get(f"{API}/remittance").json["month"]
    barrier = threading.Barrier(20)
    answers: list[tuple[int, str]] = []

    def verify(api):
        barrier.wait()
        response = api.post(f"{API}/remittances", {"month": month})
        answers.append((response.status_code, response.json.get("message", "")))

    threads = [threading.Thread(target=verify, args=(api,)) for api in clients]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert time.monotonic() - started < 120
    codes = sorted(code for code, _ in answers)
    assert len(codes) == 20 and codes.count(201) == 1
    assert all(code in (409, 422) and "已核定" in message
               for code, message in answers if code != 201), answers
    with app.app_context():
        unit_id = unit_id_of(app, demo)
        assert db.session.execute(select(func.count()).select_from(Payable).where(
            Payable.unit_id == unit_id, Payable.kind == "remit", Payable.active.is_(True),
            Payable.status == "unpaid")).scalar_one() == 1
        assert db.session.execute(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.process_key == "remittance")).scalar_one() == 1
    check_books(app, unit_id_of(app, demo))


def test_a_start_may_name_the_month_and_nothing_else(app, make_api, demo):
    """INTERFACES: remittance's start data is {"month": "YYYY-MM"} (default: the 应汇缴年月);
    anything else, or a malformed month, is refused by field path and nothing is started."""
    unit = make_api().login_operator()
    due = unit.get(f"{API}/remittance").json["month"]
    for data, field in (({"month": "2026-13"}, "data.month"), ({"amount": "1"}, "data.amount")):
        refused = unit.post(f"{API}/processes/remittance/instances", {"data": data})
        assert refused.status_code == 422 and field in refused.json["errors"], refused.json
    with app.app_context():
        assert db.session.scalar(select(func.count(ProcessInstance.id))) == 0
    started = unit.post(f"{API}/processes/remittance/instances", {"data": {"month": due}})
    assert started.status_code == 201, started.json
    task = unit.get(f"{API}/tasks/{started.json['tasks'][0]['task_id']}").json
    assert task["values"]["month"] == due
    plain = make_api().login_operator(unit=1)
    assert plain.post(f"{API}/processes/remittance/instances", {"data": {}}).status_code == 201
