"""缴存人单位调整 (manual ch.12) as the receiving unit, a reviewer and the unit the person
leaves see it: the receiving unit finds the other unit by its 单位账号, picks its sealed
persons (only account, name and masked ID), 【提交审批】; the reviewer claims and approves
with an opinion; the account is 正常 in the new unit and its balance moved with it, both
units are told and see the 转移 row in their 业务流水. Refused: a person not sealed in the
out unit, the same unit on both sides, a person already in another open transfer."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from functools import partial

from openpyxl import Workbook
from sqlalchemy import select

from services import ledger
from services.db import db, utcnow
from services.models import AccountEvent, ChangeRecord, Message, PersonAccount
from tests.money_helpers import check_books, unit_id_of

from . import helpers
from .helpers import add, decide, numbers

API = "/api/v1"


start = partial(helpers.start, key="transfer")


def submit(api, task_id):
    return api.post(f"{API}/tasks/{task_id}/complete", {"data": {"remark": "新入职"}})


def test_the_receiving_unit_asks_the_reviewer_approves_and_the_balance_moves(app, make_api, demo):
    out_unit = make_api().login_operator(unit=0)
    in_unit = make_api().login_operator(unit=1)
    reviewer = make_api().login_reviewer()
    out_no = demo["units"][0]["unit_account"]
    out_id, in_id = unit_id_of(app, demo, 0), unit_id_of(app, demo, 1)
    books_before = check_books(app, out_id, out_unit)["persons"] + check_books(
        app, in_id, in_unit)["persons"]
    out_before, in_before = out_unit.get(f"{API}/units/me").json, in_unit.get(f"{API}/units/me").json

    found = in_unit.get(f"{API}/transfer/units?q={out_no}").json["items"]
    assert found == [{"unit_account": out_no, "name": demo["units"][0]["name"]}]
    by_name = in_unit.get(f"{API}/transfer/units?q=星河信息").json["items"]
    assert [u["unit_account"] for u in by_name] == [out_no]
    assert in_unit.get(f"{API}/transfer/units?q=示").json["items"] == []  # at least 2 characters
    picked = in_unit.get(f"{API}/transfer/sealed-persons?from_unit_account={out_no}").json["items"]
    sealed = numbers(app, demo, "02")
    assert [p["person_account"] for p in picked] == sealed
    assert set(picked[0]) == {"person_account", "name", "id_number", "id_number_masked"}
    assert "*" in picked[0]["id_number"]
    with app.app_context():
        balance = ledger.balance_in_unit(db.session.execute(select(PersonAccount.id).where(
            PersonAccount.account_no == sealed[0])).scalar_one(), out_id)
        db.session.remove()
    assert balance > 0

    with app.app_context():  # a change the out unit made while the person was its own
        db.session.add(ChangeRecord(
            unit_id=out_id, person_account_id=db.session.execute(select(PersonAccount.id).where(
                PersonAccount.account_no == sealed[0])).scalar_one(), subject="person",
            field="phone", field_label="固定电话", old_value="", new_value="0591-87654321",
            changed_at=utcnow(), actor="operator:1", actor_name="陈思远",
            business="缴存人信息变更", instance_id=None))
        db.session.commit()
    instance_id, task_id = start(in_unit)
    added = add(in_unit, instance_id, from_unit_account=out_no, person_account=sealed[0])
    assert added.status_code == 201, added.json
    assert added.json["from_unit_name"] == demo["units"][0]["name"]
    assert submit(in_unit, task_id).status_code == 200
    assert out_unit.get(f"{API}/instances/{instance_id}").status_code == 404
    decide(reviewer, instance_id, "approve", "材料齐全，同意调整")

    with app.app_context():
        account = db.session.execute(select(PersonAccount).where(
            PersonAccount.account_no == sealed[0])).scalar_one()
        assert (account.unit_id, account.status) == (in_id, "01")
        assert ledger.balance_in_unit(account.id, in_id) == balance
        assert ledger.balance_in_unit(account.id, out_id) == Decimal("0.00")
        events = db.session.execute(select(AccountEvent.unit_id, AccountEvent.change).where(
            AccountEvent.instance_id == instance_id).order_by(AccountEvent.id)).all()
        assert events == [(out_id, "transfer_out"), (in_id, "transfer_in")]
        records = db.session.execute(select(ChangeRecord.unit_id, ChangeRecord.field).where(
            ChangeRecord.instance_id == instance_id)).all()
        assert {u for u, _ in records} == {in_id} and ("status" in {f for _, f in records})
        told = dict(db.session.execute(select(Message.unit_id, Message.content).where(
            Message.business == "缴存人单位调整")).all())
        assert sealed[0] in told[out_id] and "随之转出" in told[out_id]
        assert "已审核通过" in told[in_id]
        db.session.remove()

    after = check_books(app, out_id, out_unit)["persons"] + check_books(app, in_id, in_unit)["persons"]
    assert after == books_before
    out_after, in_after = out_unit.get(f"{API}/units/me").json, in_unit.get(f"{API}/units/me").json
    assert Decimal(out_after["balance"]) == Decimal(out_before["balance"]) - balance
    assert Decimal(in_after["balance"]) == Decimal(in_before["balance"]) + balance
    assert in_after["active_persons"] == in_before["active_persons"] + 1
    assert out_after["active_persons"] == out_before["active_persons"]
    for api, sign in ((out_unit, -1), (in_unit, 1)):
        rows = api.get(f"{API}/units/me/ledger?type=transfer").json["items"]
        assert len(rows) == 1 and Decimal(rows[0]["amount"]) == sign * balance
        details = api.get(f"{API}/units/me/ledger/{rows[0]['serial_no']}/details").json["items"]
        assert [d["person_account"] for d in details] == [sealed[0]]
    assert [p["status"] for p in in_unit.get(f"{API}/persons?q={sealed[0]}").json["items"]] == ["01"]
    assert out_unit.get(f"{API}/persons?q={sealed[0]}").json["items"] == []

    # what each unit keeps of the person: the out unit its own change records (7.2), the in
    # unit an account statement of its own rows, from the 转入 on
    with app.app_context():
        from services import person_query
        from services.documents import builders
        kept, _ = person_query.changes(out_id, person_query.Filters(q=sealed[0]))
        assert [r["field"] for r in kept] == ["固定电话"]
        statement = builders.person_statement(in_id, sealed[0], date.today())
        assert [(r["biz_type"], r["amount"]) for r in statement.rows] == [("转移", balance)]
        assert statement.totals["balance"] == balance
        db.session.remove()


def test_refusals(app, make_api, demo):
    in_unit = make_api().login_operator(unit=1)
    out_no, own_no = demo["units"][0]["unit_account"], demo["units"][1]["unit_account"]
    active, sealed = numbers(app, demo, "01")[0], numbers(app, demo, "02")
    instance_id, task_id = start(in_unit)

    # another unit's person: whether they are there and sealed is all the unit learns
    not_sealed = add(in_unit, instance_id, from_unit_account=out_no, person_account=active)
    assert not_sealed.status_code == 422
    assert not_sealed.json["errors"]["person_account"] == ["转出单位没有该个人账号的封存职工"]
    own = numbers(app, demo, "01", unit=1)[0]
    same = add(in_unit, instance_id, from_unit_account=own_no, person_account=own)
    assert same.json["errors"]["from_unit_account"] == ["转出单位与转入单位不能相同"]
    nowhere = add(in_unit, instance_id, from_unit_account="1234567890", person_account=sealed[0])
    assert nowhere.json["errors"]["from_unit_account"] == ["没有该单位账号，请核对转出单位账号"]
    wrong_unit = add(in_unit, instance_id, from_unit_account=out_no, person_account=own)
    assert wrong_unit.json["errors"]["person_account"] == ["转出单位没有该个人账号的封存职工"]
    assert in_unit.get(f"{API}/transfer/sealed-persons?from_unit_account={own_no}").json[
        "items"] == []
    # found by account, name or whole ID; never by part of an ID (the masked digits)
    with app.app_context():
        person = db.session.execute(select(PersonAccount).where(
            PersonAccount.account_no == sealed[0])).scalar_one().person
        id_number, name = person.id_number, person.name
        db.session.remove()
    url = f"{API}/transfer/sealed-persons?from_unit_account={out_no}&q="

    def found(q: str) -> list[str]:
        return [p["person_account"] for p in in_unit.get(url + q).json["items"]]

    assert sealed[0] in found(id_number) and sealed[0] in found(name) and found(sealed[0][-6:])
    assert found(id_number[6:14]) == [] and found(id_number[:17]) == []
    assert submit(in_unit, task_id).status_code == 422

    assert add(in_unit, instance_id, from_unit_account=out_no,
               person_account=sealed[0]).status_code == 201
    second_id, _ = start(in_unit)
    twice = add(in_unit, second_id, from_unit_account=out_no, person_account=sealed[0])
    assert twice.status_code == 422
    assert twice.json["errors"]["person_account"] == ["该职工已在另一笔未办结的单位调整中"]


def test_one_open_transfer_per_person_is_the_database_s_rule(ctx, demo):
    """Past the checks (two applications racing), the 清册's unique index on open keys
    refuses the second row."""
    from sqlalchemy.exc import IntegrityError

    from services import manifest_rows

    row = manifest_rows.NewRow("000000000001", None, {})
    manifest_rows.add_row(1001, "transfer", row, 1)
    try:
        with db.session.begin_nested():
            manifest_rows.add_row(1002, "transfer", row, 1)
    except IntegrityError:
        pass
    else:
        raise AssertionError("a person was let into two open transfers")


def test_the_out_unit_changing_the_person_before_approval_is_caught(app, make_api, demo):
    """The out unit unseals the person while the transfer waits: approval refuses, clearly."""
    out_unit = make_api().login_operator(unit=0)
    in_unit = make_api().login_operator(unit=1)
    reviewer = make_api().login_reviewer()
    sealed = numbers(app, demo, "02")[0]
    instance_id, task_id = start(in_unit)
    assert add(in_unit, instance_id, from_unit_account=demo["units"][0]["unit_account"],
               person_account=sealed).status_code == 201
    assert submit(in_unit, task_id).status_code == 200
    change = out_unit.post(f"{API}/processes/status_change/instances", {"data": {}}).json
    assert add(out_unit, change["instance_id"], person_account=sealed, change="unseal",
               reason="01").status_code == 201
    assert out_unit.post(f"{API}/tasks/{change['tasks'][0]['task_id']}/complete",
                         {"data": {}}).status_code == 200
    queue = reviewer.get(f"{API}/tasks?list=group&per_page=100").json["items"]
    review = next(t["task_id"] for t in queue if t["instance_id"] == instance_id)
    assert reviewer.post(f"{API}/tasks/{review}/claim").status_code == 200
    refused = reviewer.post(f"{API}/tasks/{review}/complete",
                            {"data": {"decision": "approve", "opinion": "同意"}})
    assert refused.status_code == 422
    assert "不能审批通过，请退回单位修改" in refused.json["message"]  # the reviewer deletes nothing
    assert "转出单位没有该个人账号的封存职工" in refused.json["errors"][0]["message"]


def test_a_person_on_the_out_units_unpaid_verification_waits_until_it_is_paid(
        app, make_api, demo):
    """Sealed after the out unit verified a month that lists them, a person would be owed
    that month in both units, and its money booked where they no longer are: the transfer
    waits until the month is paid."""
    out_unit = make_api().login_operator(unit=0)
    in_unit = make_api().login_operator(unit=1)
    finance = make_api().login_finance()
    out_no = demo["units"][0]["unit_account"]
    verified = out_unit.post(f"{API}/remittances", {}).json
    listed = out_unit.get(f"{API}/remittances/{verified['month']}/lines?per_page=1").json
    person = listed["items"][0]["person_account"]
    change = out_unit.post(f"{API}/processes/status_change/instances", {"data": {}}).json
    assert add(out_unit, change["instance_id"], person_account=person, change="seal",
               reason="01").status_code == 201
    assert out_unit.post(f"{API}/tasks/{change['tasks'][0]['task_id']}/complete",
                         {"data": {}}).status_code == 200

    instance_id, _ = start(in_unit)
    waiting = add(in_unit, instance_id, from_unit_account=out_no, person_account=person)
    assert waiting.status_code == 422
    assert f"{verified['month']} 的汇缴核定 尚未缴款分配" in waiting.json["errors"]["person_account"][0]
    assert finance.post(f"{API}/payments", {
        "unit_account": out_no, "amount": verified["amount"], "method": "transfer",
        "reference": "OUT-PAID", "idempotency_key": "transfer-after-paid"}).status_code == 201
    assert add(in_unit, instance_id, from_unit_account=out_no,
               person_account=person).status_code == 201


def test_the_start_may_name_the_out_unit_for_rows_that_do_not(app, make_api, demo):
    """INTERFACES: transfer's start data is {"from_unit_account"}; rows then name only the
    person. The same unit, an unknown unit or another field is refused at start."""
    in_unit = make_api().login_operator(unit=1)
    out_no, own_no = demo["units"][0]["unit_account"], demo["units"][1]["unit_account"]
    url = f"{API}/processes/transfer/instances"
    for data, problem in (({"from_unit_account": own_no}, "不能相同"),
                          ({"from_unit_account": "9999999999"}, "没有该单位账号"),
                          ({"to": out_no}, "不允许")):
        refused = in_unit.post(url, {"data": data})
        assert refused.status_code == 422, refused.json
        assert any(problem in m for ms in refused.json["errors"].values() for m in ms)
    started = in_unit.post(url, {"data": {"from_unit_account": out_no}})
    assert started.status_code == 201, started.json
    sealed = numbers(app, demo, "02")[0]
    added = add(in_unit, started.json["instance_id"], person_account=sealed)
    assert added.status_code == 201, added.json
    assert added.json["from_unit_account"] == out_no

    # a file of 个人账号 alone, as INTERFACES.md describes it; without the start's unit,
    # each row says it lacks one
    others = numbers(app, demo, "02")[1:3]
    book = Workbook()
    book.active.append(["个人账号"])
    for number in others:
        book.active.append([number])
    content = io.BytesIO()
    book.save(content)

    def upload(instance_id: int):
        return in_unit.client.post(f"{API}/instances/{instance_id}/manifest/import",
                                   data={"file": (io.BytesIO(content.getvalue()), "调整.xlsx")},
                                   headers={"X-CSRF-Token": in_unit.csrf()},
                                   content_type="multipart/form-data")

    imported = upload(started.json["instance_id"])
    assert imported.status_code == 200 and imported.json["imported"] == len(others), imported.json
    bare, _ = start(in_unit)
    refused = upload(bare)
    assert refused.status_code == 422
    assert [(e["row"], e["column"]) for e in refused.json["errors"]] == [
        (2, "转出单位账号"), (3, "转出单位账号")]
