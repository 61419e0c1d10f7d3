"""补缴 (manual ch.6) as the unit, a reviewer and centre finance walk it: single entry shows
the person back and says “录入成功” with the amount; the window, the person's status in
the month and the amount are checked; import and delete; 【完成办理】 asks “提交审批完成，
是否打印凭条？”; after approval a 待办 prints the 补缴书, and the payment is allocated
(ledger type 补缴). One open back pay per unit."""

from __future__ import annotations

import io
from decimal import Decimal
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from engine.models import COMPLETED, ProcessInstance
from services.db import db
from services.ledger import PERSON_ROWS
from services.models import Payable, PersonAccount, UnitAccount
from services.months import YearMonth
from tests.money_helpers import check_books, unit_id_of
from tests.pdf import check_code, pdf_text

from . import helpers
from .helpers import add, fill_template

API = "/api/v1"


start = partial(helpers.start, key="back_pay")


def latest_month(app, demo) -> YearMonth:
    with app.app_context():
        return db.session.execute(select(UnitAccount.paid_through).where(
            UnitAccount.account_no == demo["units"][0]["unit_account"])).scalar_one()


def persons(app, demo, status: str) -> list[PersonAccount]:
    with app.app_context():
        rows = db.session.execute(select(PersonAccount).options(joinedload(PersonAccount.person)).where(
            PersonAccount.unit_id == unit_id_of(app, demo), PersonAccount.status == status)
            .order_by(PersonAccount.account_no)).scalars().all()
        db.session.expunge_all()
        return rows


def test_entries_are_checked_against_the_window_the_status_and_the_amount(app, make_api, demo):
    unit = make_api().login_operator()
    instance_id, _ = start(unit)
    latest = latest_month(app, demo)
    active, sealed = persons(app, demo, "01")[0], persons(app, demo, "02")[0]

    added = add(unit, instance_id, person_account=active.account_no, reason="02",
                month=str(latest), amount="500")
    assert added.status_code == 201, added.json
    assert (added.json["name"], added.json["id_number"], added.json["reason_name"],
            added.json["amount"]) == (active.person.name, active.person.id_number, "少缴", "500.00")
    twice = add(unit, instance_id, person_account=active.account_no, reason="02",
                month=str(latest), amount="10")
    assert twice.status_code == 422 and "已在清册中" in twice.json["message"]

    early = add(unit, instance_id, person_account=active.account_no, reason="01",
                month=str(latest - 4), amount="500")
    assert early.status_code == 422
    assert early.json["errors"]["month"] == [f"补缴年月须在 {latest - 3} 至 {latest} 之间"
                                             "（不早于最近一次汇缴前 3 个月，不晚于最近一次汇缴的月份）"]
    late = add(unit, instance_id, person_account=active.account_no, reason="01",
               month=str(latest + 1), amount="500")
    assert late.status_code == 422 and "month" in late.json["errors"]

    # the demo's sealed persons were sealed from the latest month: not before it
    while_sealed = add(unit, instance_id, person_account=sealed.account_no, reason="02",
                       month=str(latest), amount="100")
    assert while_sealed.status_code == 422
    assert while_sealed.json["errors"]["month"] == [
        f"该职工 {latest} 的账户状态为「封存」，只能补缴其状态正常的月份"]
    before = add(unit, instance_id, person_account=sealed.account_no, reason="02",
                 month=str(latest - 1), amount="100")
    assert before.status_code == 201, before.json

    too_much = add(unit, instance_id, person_account=active.account_no, reason="99",
                   month=str(latest - 1), amount="9000")
    assert too_much.status_code == 422 and "8,594.64" in too_much.json["errors"]["amount"][0]
    odd = add(unit, instance_id, person_account=active.account_no, reason="07",
              month=str(latest - 1), amount="-1")
    assert set(odd.json["errors"]) == {"reason", "amount"}
    manifest = unit.get(f"{API}/instances/{instance_id}/manifest").json
    assert manifest["count"] == 2 and manifest["total_amount"] == "600.00"

    second = unit.post(f"{API}/processes/back_pay/instances", {"data": {}})
    assert second.status_code == 409 and "已有一笔未办结的补缴" in second.json["message"]


def test_single_entry_on_the_page_says_entered_with_the_amount(app, make_api, demo):
    unit = make_api().login_operator()
    instance_id, task_id = start(unit)
    person = persons(app, demo, "01")[1]
    page = unit.client.post(f"/instances/{instance_id}/manifest/rows", data={
        "csrf_token": unit.csrf(), "task_id": task_id, "person_account": person.account_no,
        "reason": "02", "month": str(latest_month(app, demo)), "amount": "1234.50"},
        follow_redirects=True)
    text = page.get_data(as_text=True)
    # money as the 清册 shows it
    assert f"录入成功：{person.person.name} {latest_month(app, demo)} 补缴金额 1,234.50 元" in text


def test_import_and_delete(app, make_api, demo):
    unit = make_api().login_operator()
    instance_id, _ = start(unit)
    latest = latest_month(app, demo)
    people = persons(app, demo, "01")
    template = unit.get(f"{API}/processes/back_pay/template.xlsx").data
    filled = fill_template(template, [
        {"个人账号": people[0].account_no, "补缴原因": "少缴", "补缴年月": str(latest),
         "补缴金额": "300"},
        {"个人账号": people[1].account_no, "补缴原因": "03", "补缴年月": str(latest - 2),
         "补缴金额": "88.8"}])
    imported = unit.client.post(f"{API}/instances/{instance_id}/manifest/import",
                                data={"file": (io.BytesIO(filled), "back_pay.xlsx")},
                                headers={"X-CSRF-Token": unit.csrf()},
                                content_type="multipart/form-data")
    assert imported.status_code == 200, imported.json
    assert imported.json["imported"] == 2
    rows = unit.get(f"{API}/instances/{instance_id}/manifest").json
    assert rows["total_amount"] == "388.80"
    assert [r["reason_name"] for r in rows["items"]] == ["少缴", "基数调整补差"]
    deleted = unit.delete(f"{API}/instances/{instance_id}/manifest/rows/{rows['items'][0]['row_id']}")
    assert deleted.status_code == 200
    assert unit.get(f"{API}/instances/{instance_id}/manifest").json["total_amount"] == "88.80"


def test_approved_printed_paid_and_allocated_as_back_pay(app, make_api, demo):
    unit = make_api().login_operator()
    reviewer = make_api().login_reviewer()
    finance = make_api().login_finance()
    unit_id = unit_id_of(app, demo)
    latest = latest_month(app, demo)
    people = persons(app, demo, "01")
    instance_id, task_id = start(unit)
    for person, month, amount in ((people[0], latest, "500.00"), (people[0], latest - 1, "250.50"),
                                  (people[1], latest - 3, "1000")):
        assert add(unit, instance_id, person_account=person.account_no, reason="02",
                   month=str(month), amount=amount).status_code == 201

    done = unit.client.post(f"/tasks/{task_id}", data={"csrf_token": unit.csrf(), "remark": "补缴"})
    assert done.status_code == 302 and f"/instances/{instance_id}?done=1" in done.location
    prompt = unit.get(done.location).get_data(as_text=True)
    assert "提交审批完成，是否打印凭条？" in prompt
    receipt = unit.get(f"/documents/back_pay_receipt/{instance_id}.pdf")
    assert receipt.status_code == 200
    text = pdf_text(receipt.data)
    assert "补缴业务凭条" in text and "1,750.50" in text and "壹仟柒佰伍拾元零伍角整" in text
    assert f"{latest - 3}、{latest - 1}、{latest}" in text
    # a slip without a table says nothing of 明细 (it said “明细 0 行”), nor does its check
    assert "明细" not in text
    verified = unit.client.get(f"/verify/{check_code(text)}").get_data(as_text=True)
    assert "补缴业务凭条" in verified and "明细行数" not in verified

    queue = reviewer.get(f"{API}/tasks?list=group").json["items"]
    review_id = next(t["task_id"] for t in queue if t["instance_id"] == instance_id)
    assert reviewer.post(f"{API}/tasks/{review_id}/claim").status_code == 200
    assert reviewer.post(f"{API}/tasks/{review_id}/complete", {"data": {
        "decision": "approve", "opinion": "同意补缴"}}).status_code == 200
    messages = unit.get(f"{API}/messages").json["items"]
    assert "已审核通过，请在待办中打印补缴书" in messages[0]["content"]
    todo = next(t for t in unit.get(f"{API}/tasks?list=todo").json["items"]
                if t["instance_id"] == instance_id)
    assert todo["title"] == "打印补缴书"
    # what the centre approved is what is printed and paid: the 清册 no longer changes
    late = add(unit, instance_id, person_account=people[1].account_no, reason="01",
               month=str(latest - 1), amount="10")
    assert late.status_code == 409 and "已审核通过" in late.json["message"]
    first_row = unit.get(f"{API}/instances/{instance_id}/manifest").json["items"][0]
    removed = unit.delete(f"{API}/instances/{instance_id}/manifest/rows/{first_row['row_id']}")
    assert removed.status_code == 409
    page = unit.get(f"/tasks/{todo['task_id']}").get_data(as_text=True)
    assert "打印补缴书" in page and "录入清册" not in page and "批量导入" not in page
    assert unit.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 3
    printed = unit.client.post(f"/tasks/{todo['task_id']}", data={"csrf_token": unit.csrf()})
    assert f"/instances/{instance_id}?done=1" in printed.location
    # printed, it waits for the money: the page says so rather than “当前环节 —”
    shown = unit.get(f"{API}/instances/{instance_id}").json
    assert (shown["status"], shown["tasks"], shown["waiting"]) == ("running", [], ["缴款到账"])
    assert "等待：缴款到账" in unit.get(f"/instances/{instance_id}").get_data(as_text=True)
    notice = unit.get(f"/documents/back_pay_notice/{instance_id}.pdf")
    text = pdf_text(notice.data)
    assert "住房公积金补缴书" in text and "同意" not in text and "1,750.50" in text
    assert people[1].account_no in text
    check_books(app, unit_id, unit)

    paid = finance.post(f"{API}/payments", {
        "unit_account": demo["units"][0]["unit_account"], "amount": "1750.50",
        "method": "transfer", "reference": "BP-1", "idempotency_key": "back-pay-0001"}).json
    assert [(p["kind"], p["amount"]) for p in paid["allocated"]] == [("back_pay", "1750.50")]
    with app.app_context():
        assert db.session.get(ProcessInstance, instance_id).status == COMPLETED
        rows = db.session.execute(select(PERSON_ROWS).where(
            PERSON_ROWS.c.unit_id == unit_id, PERSON_ROWS.c.biz_type == "back_pay")
            .order_by(PERSON_ROWS.c.month)).all()
        assert [(r.month, r.amount, r.summary) for r in rows] == [
            (latest - 3, Decimal("1000.00"), f"{latest - 3} 补缴（少缴）"),
            (latest - 1, Decimal("250.50"), f"{latest - 1} 补缴（少缴）"),
            (latest, Decimal("500.00"), f"{latest} 补缴（少缴）")]
    assert "补缴款 1,750.50 元已到账" in unit.get(f"{API}/messages").json["items"][0]["content"]
    check_books(app, unit_id, unit)
    assert unit.post(f"{API}/processes/back_pay/instances", {"data": {}}).status_code == 201


def submitted(app, demo, unit, month: YearMonth, amount: str) -> int:
    """A back pay of one 正常 person's `month` for `amount`, 完成办理 (with the centre now)."""
    active = persons(app, demo, "01")[0]
    instance_id, task_id = start(unit)
    assert add(unit, instance_id, person_account=active.account_no, reason="02",
               month=str(month), amount=amount).status_code == 201
    assert unit.post(f"{API}/tasks/{task_id}/complete", {"data": {}}).status_code == 200
    return instance_id


def test_a_month_that_left_the_window_during_the_review_refuses_the_approval(app, make_api, demo):
    """A later month remitted while the centre reviews moves the window on: a row for the
    month that fell out of it refuses the approval by row, and no 应缴 is made."""
    unit = make_api().login_operator()
    reviewer = make_api().login_reviewer()
    latest = latest_month(app, demo)
    instance_id = submitted(app, demo, unit, latest - 3, "300")
    with app.app_context():  # the next month remitted meanwhile
        account = db.session.execute(select(UnitAccount).where(
            UnitAccount.account_no == demo["units"][0]["unit_account"])).scalar_one()
        account.paid_through = latest + 1
        db.session.commit()
        db.session.remove()

    review_id = helpers.claim_review(reviewer, instance_id)
    refused = reviewer.post(f"{API}/tasks/{review_id}/complete", {"data": {
        "decision": "approve", "opinion": "同意补缴"}})
    assert refused.status_code == 422, refused.json
    assert "不能审批通过" in refused.json["message"]
    [error] = refused.json["errors"]
    assert (error["row"], error["column"]) == (1, "补缴年月")
    with app.app_context():
        assert not db.session.execute(select(Payable).where(
            Payable.instance_id == instance_id)).first()
        db.session.remove()
    back = reviewer.post(f"{API}/tasks/{review_id}/complete", {"data": {
        "decision": "reject", "opinion": "补缴年月已超出可补缴区间"}})
    assert back.status_code == 200 and back.json["tasks"][0]["lane"] == "employer"


def test_money_that_arrives_before_the_notice_is_printed_is_allocated_at_once(
        app, make_api, demo):
    """Printing the 补缴书 and paying do not wait for each other: a transfer that reaches
    the centre before the unit prints is allocated when it arrives, and printing then ends
    the application."""
    unit = make_api().login_operator()
    finance = make_api().login_finance()
    unit_id = unit_id_of(app, demo)
    instance_id = submitted(app, demo, unit, latest_month(app, demo), "20")
    helpers.decide(make_api().login_reviewer(), instance_id, opinion="同意补缴")
    todo = next(t for t in unit.get(f"{API}/tasks?list=todo").json["items"]
                if t["instance_id"] == instance_id)
    assert todo["title"] == "打印补缴书"
    # approved, it is money owed: the unit cannot end it (the 应缴 would stay unpayable)
    ended = unit.post(f"{API}/instances/{instance_id}/terminate", {"reason": "不补了"})
    assert ended.status_code == 409 and "不能结束流程" in ended.json["message"]
    assert unit.get(f"{API}/instances/{instance_id}").json["status"] == "running"

    paid = finance.post(f"{API}/payments", {
        "unit_account": demo["units"][0]["unit_account"], "amount": "20.00",
        "method": "transfer", "reference": "BP-EARLY", "idempotency_key": "back-pay-early"})
    assert paid.status_code == 201, paid.json
    assert [(p["kind"], p["amount"]) for p in paid.json["allocated"]] == [("back_pay", "20.00")]
    assert paid.json["unallocated"] == "0.00"
    assert "补缴款 20.00 元已到账" in unit.get(f"{API}/messages").json["items"][0]["content"]
    check_books(app, unit_id, unit)

    printed = unit.post(f"{API}/tasks/{todo['task_id']}/complete", {"data": {}})
    assert printed.status_code == 200 and printed.json["status"] == COMPLETED


def test_a_months_amount_pays_that_month_before_an_older_back_pay(app, make_api, demo):
    """A back pay approved before a month is verified does not take the money sent for
    the month's 汇补缴书: verified months are paid first, back pays from what is left,
    and money too short for either says so."""
    unit = make_api().login_operator()
    finance = make_api().login_finance()
    instance_id = submitted(app, demo, unit, latest_month(app, demo), "20")
    helpers.decide(make_api().login_reviewer(), instance_id, opinion="同意补缴")
    verified = unit.post(f"{API}/remittances", {}).json
    account = demo["units"][0]["unit_account"]

    def pay(amount: str, key: str):
        return finance.post(f"{API}/payments", {
            "unit_account": account, "amount": amount, "method": "transfer",
            "reference": key, "idempotency_key": key}).json

    month = pay(verified["amount"], "month-exactly")
    assert [(p["kind"], p["month"]) for p in month["allocated"]] == [("remit", verified["month"])]
    short = pay("5.00", "back-pay-short")
    assert short["allocated"] == []
    assert "暂未分配（单位未分配金额 5.00 元，不足以缴纳补缴（20.00 元））" in short["message"]
    rest = pay("15.00", "back-pay-rest")
    assert [(p["kind"], p["amount"]) for p in rest["allocated"]] == [("back_pay", "20.00")]
    check_books(app, unit_id_of(app, demo), unit)


def test_a_missed_month_is_one_the_person_was_left_out_of_and_is_made_up_once(
        app, make_api, demo):
    """漏缴 for a month the person was remitted in would pay it twice (an underpayment is
    少缴); a person left out of a month can make it up as 漏缴, once."""
    unit = make_api().login_operator()
    reviewer, finance = make_api().login_reviewer(), make_api().login_finance()
    latest = latest_month(app, demo)
    active = persons(app, demo, "01")[0]
    with app.app_context():  # opened from last month on, after that month was remitted
        from tests.money_helpers import register_person
        left_out = register_person(unit_id_of(app, demo), latest - 1, "5000.00", "补录职工")
        db.session.commit()
        account_no = db.session.get(PersonAccount, left_out).account_no
        db.session.remove()

    instance_id, task_id = start(unit)
    remitted = add(unit, instance_id, person_account=active.account_no, reason="01",
                   month=str(latest), amount="500")
    assert remitted.status_code == 422, remitted.json
    assert remitted.json["errors"] == {"reason": [
        f"该职工 {latest} 已在当月汇缴中缴存，不属于漏缴；缴存额不足请选择补缴原因「02 少缴」"]}
    assert add(unit, instance_id, person_account=active.account_no, reason="02",
               month=str(latest), amount="500").status_code == 201
    missed = add(unit, instance_id, person_account=account_no, reason="01",
                 month=str(latest - 1), amount="1200")
    assert missed.status_code == 201, missed.json
    assert unit.post(f"{API}/tasks/{task_id}/complete", {"data": {}}).status_code == 200
    helpers.decide(reviewer, instance_id, opinion="同意补缴")
    todo = next(t for t in unit.get(f"{API}/tasks?list=todo").json["items"]
                if t["instance_id"] == instance_id)
    assert unit.post(f"{API}/tasks/{todo['task_id']}/complete", {"data": {}}).status_code == 200
    paid = finance.post(f"{API}/payments", {
        "unit_account": demo["units"][0]["unit_account"], "amount": "1700.00",
        "method": "transfer", "reference": "BP-2", "idempotency_key": "back-pay-missed"}).json
    assert [p["kind"] for p in paid["allocated"]] == ["back_pay"]

    with app.app_context():  # its own 漏缴 does not cover it (a dry run replays it)
        from services import back_pay
        window = back_pay.Window(latest - 3, latest)
        assert back_pay.covered_months([left_out], window, instance_id) == {}
        assert back_pay.covered_months([left_out], window, None) == {
            (left_out, latest - 1): "back_pay"}
        db.session.remove()

    second, _ = start(unit)  # the first is done: the month it made up is not missed again
    again = add(unit, second, person_account=account_no, reason="01", month=str(latest - 1),
                amount="1200")
    assert again.status_code == 422
    assert again.json["errors"] == {"reason": [f"该职工 {latest - 1} 的漏缴已补缴过，不能重复补缴"]}
    assert add(unit, second, person_account=account_no, reason="01", month=str(latest),
               amount="1200").status_code == 201  # still left out of that one
    check_books(app, unit_id_of(app, demo), unit)
