"""缴存人状态变更 (manual ch.11) as the unit walks it: on the 封存 or 启封 tab, pick a
person and a reason, 【录入清册】 says “缴存人状态变更清册录入成功”; import and delete;
【确定封存/启封】 changes every row at once, with an account event, a change record and a
message. 封存 needs 正常, 启封 needs 封存 and an unsealed unit, a reason is required, and a
person changes at most once a month. A sealed person leaves the next 汇缴核定."""

from __future__ import annotations

import io
from functools import partial

from sqlalchemy import select, update

from services.db import db
from services.models import AccountEvent, ChangeRecord, Message, PersonAccount, UnitAccount
from tests.money_helpers import unit_id_of

from . import helpers
from .helpers import add, fill_template, numbers

API = "/api/v1"


start = partial(helpers.start, key="status_change")


def status_of(app, number: str) -> str:
    with app.app_context():
        found = db.session.execute(select(PersonAccount.status).where(
            PersonAccount.account_no == number)).scalar_one()
        db.session.remove()
        return found


def confirm(api, task_id):
    return api.post(f"{API}/tasks/{task_id}/complete", {"data": {"remark": ""}})


def test_seal_and_unseal_in_one_application(app, make_api, demo):
    unit = make_api().login_operator()
    before = unit.get(f"{API}/units/me").json
    preview = unit.get(f"{API}/remittance").json
    active, sealed = numbers(app, demo, "01")[0], numbers(app, demo, "02")[0]
    instance_id, task_id = start(unit)

    added = add(unit, instance_id, person_account=active, change="seal", reason="01")
    assert added.status_code == 201, added.json
    assert added.json["change_name"] == "封存" and added.json["reason_name"] == "离职/解除劳动关系"
    added = add(unit, instance_id, person_account=sealed, change_type="unseal", reason="重新在职")
    assert added.status_code == 201, added.json
    page = unit.client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "缴存人状态变更清册" in page and active in page and sealed in page

    done = confirm(unit, task_id)
    assert done.status_code == 200, done.json
    assert (status_of(app, active), status_of(app, sealed)) == ("02", "01")
    assert unit.get(f"{API}/instances/{instance_id}").json["status"] == "completed"
    with app.app_context():
        events = db.session.execute(select(AccountEvent.change, AccountEvent.reason,
                                           AccountEvent.month).where(
            AccountEvent.instance_id == instance_id).order_by(AccountEvent.change)).all()
        assert [(c, r) for c, r, _ in events] == [("seal", "01"), ("unseal", "01")]
        assert {str(m) for _, _, m in events} == {preview["month"]}
        records = db.session.execute(select(ChangeRecord.old_value, ChangeRecord.new_value)
                                     .where(ChangeRecord.instance_id == instance_id)).all()
        assert set(records) == {("正常", "封存"), ("封存", "正常")}
        text = db.session.execute(select(Message.content).where(
            Message.instance_id == instance_id)).scalar_one()
        assert "封存 1 人，启封 1 人" in text
        db.session.remove()
    after = unit.get(f"{API}/units/me").json
    assert after["active_persons"] == before["active_persons"]


def test_a_sealed_person_leaves_the_next_verification(app, make_api, demo):
    unit = make_api().login_operator()
    preview = unit.get(f"{API}/remittance").json
    before = unit.get(f"{API}/units/me").json
    instance_id, task_id = start(unit)
    for number in numbers(app, demo, "01")[:2]:
        assert add(unit, instance_id, person_account=number, change="seal",
                   reason="03").status_code == 201
    assert confirm(unit, task_id).status_code == 200
    after = unit.get(f"{API}/remittance").json
    assert after["head_count"] == preview["head_count"] - 2
    removed = {c["key"]: c["count"] for c in after["reconciliation"]["removed"]}
    assert removed.get("seal") == 2
    assert unit.get(f"{API}/units/me").json["active_persons"] == before["active_persons"] - 2


def test_refusals_name_the_field(app, make_api, demo):
    unit = make_api().login_operator()
    active, sealed = numbers(app, demo, "01")[0], numbers(app, demo, "02")[0]
    other_unit = numbers(app, demo, "01", unit=1)[0]
    instance_id, task_id = start(unit)

    sealed_again = add(unit, instance_id, person_account=sealed, change="seal", reason="01")
    assert sealed_again.status_code == 422
    assert "只有状态正常的职工才可封存" in sealed_again.json["errors"]["person_account"][0]
    unseal_active = add(unit, instance_id, person_account=active, change="unseal", reason="01")
    assert "只有状态封存的职工才可启封" in unseal_active.json["errors"]["person_account"][0]
    no_reason = add(unit, instance_id, person_account=active, change="seal")
    assert no_reason.json["errors"]["seal_reason"] == ["封存原因为必填项"]
    bad_reason = add(unit, instance_id, person_account=active, change="seal", reason="42")
    assert bad_reason.json["errors"]["reason"][0].startswith("封存原因须为：01 离职")  # as sent
    typed = add(unit, instance_id, person_account=active, change="seal", seal_reason="42")
    assert typed.json["errors"]["seal_reason"][0].startswith("封存原因须为：01 离职")
    foreign = add(unit, instance_id, person_account=other_unit, change="seal", reason="01")
    assert foreign.json["errors"]["person_account"] == ["本单位没有该个人账号"]
    bad_type = add(unit, instance_id, person_account=active, change="freeze", reason="01")
    assert bad_type.status_code == 422
    assert bad_type.json["errors"] == {"change": ["须为以下之一：seal（封存）、unseal（启封）"]}
    assert unit.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 0
    empty = confirm(unit, task_id)
    assert empty.status_code == 422 and "清册为空" in empty.json["message"]

    # the unit itself sealed: no 启封
    with app.app_context():
        db.session.execute(update(UnitAccount).where(
            UnitAccount.unit_id == unit_id_of(app, demo)).values(status="05"))
        db.session.commit()
    refused = add(unit, instance_id, person_account=sealed, change="unseal", reason="01")
    assert refused.json["errors"]["person_account"] == ["本单位账户已封存，不能为职工启封"]


def test_once_a_month_in_the_row_check_and_in_the_database(app, make_api, demo):
    unit = make_api().login_operator()
    first, second = numbers(app, demo, "01")[:2]
    instance_id, task_id = start(unit)
    assert add(unit, instance_id, person_account=first, change="seal", reason="01").status_code == 201
    assert add(unit, instance_id, person_account=second, change="seal", reason="01").status_code == 201
    assert confirm(unit, task_id).status_code == 200

    instance_id, task_id = start(unit)
    again = add(unit, instance_id, person_account=first, change="unseal", reason="01")
    assert again.status_code == 422
    assert "已办理过封存或启封，每人每月只能办理一次" in again.json["errors"]["person_account"][0]

    # A change slipping in between entry and confirmation: the confirmation checks again.
    third = numbers(app, demo, "01")[0]
    assert add(unit, instance_id, person_account=third, change="seal", reason="01").status_code == 201
    with app.app_context():
        account = db.session.execute(select(PersonAccount).where(
            PersonAccount.account_no == third)).scalar_one()
        month = db.session.execute(select(AccountEvent.month).where(
            AccountEvent.instance_id.is_not(None))).scalars().first()
        db.session.add(AccountEvent(unit_id=account.unit_id, person_account_id=account.id,
                                    change="unseal", reason="01", from_status="02",
                                    to_status="01", month=month, actor="test"))
        db.session.commit()
    raced = confirm(unit, task_id)
    assert raced.status_code == 422, raced.json
    assert "每人每月只能办理一次" in raced.json["errors"][0]["message"]
    assert status_of(app, third) == "01"


def test_deleting_a_verification_does_not_open_a_second_change_dated_before_the_first(
        app, make_api, demo):
    """A change takes effect in the month 汇缴核定 opens on next. Verify a month, seal a
    person (effective the month after), delete the verification: the effective month moves
    back, and an unseal then would date before the seal. It is refused, naming the month
    of the change already made."""
    unit = make_api().login_operator()
    verified = unit.post(f"{API}/remittances", {})
    assert verified.status_code == 201, verified.json
    month, later = verified.json["month"], verified.json["next_month"]
    person = numbers(app, demo, "01")[0]
    instance_id, task_id = start(unit)
    assert add(unit, instance_id, person_account=person, change="seal",
               reason="01").status_code == 201
    assert confirm(unit, task_id).status_code == 200
    assert unit.delete(f"{API}/remittances/{month}").status_code == 200
    assert unit.get(f"{API}/remittance").json["month"] == month

    instance_id, task_id = start(unit)
    back = add(unit, instance_id, person_account=person, change="unseal", reason="01")
    assert back.status_code == 422, back.json
    assert back.json["errors"]["person_account"] == [
        f"该职工 {later} 已办理过封存或启封，每人每月只能办理一次"]
    assert status_of(app, person) == "02"


def test_the_database_refuses_a_second_change_in_a_month(ctx, demo):
    """Past every check (two confirmations racing), the unique index decides: a clear
    refusal, not a server error."""
    from services import status_change
    from services.changes import Who
    from services.errors import BusinessRuleViolation

    unit_id = unit_id_of(ctx, demo)
    account_id = db.session.execute(select(PersonAccount.id).where(
        PersonAccount.unit_id == unit_id, PersonAccount.status == "01")).scalars().first()
    month = status_change.effective_month(unit_id)
    who = Who("operator:test", "测试", "缴存人状态变更")
    status_change.apply(unit_id, [status_change.Change(account_id, "seal", "01")], month, who)
    try:
        status_change.apply(unit_id, [status_change.Change(account_id, "unseal", "01")],
                            month, who)
    except BusinessRuleViolation as exc:
        assert "每人每月只能办理一次" in exc.message
    else:
        raise AssertionError("a second change in the month was stored")


def test_a_file_of_both_changes_in_the_contracts_columns_imports_row_by_row(
        app, make_api, demo):
    """INTERFACES.md's columns (个人账号, 变更类型, 变更原因): one file may seal some and
    unseal others, each row by its own 变更类型; sent without a change type, the file's
    columns say what it is. The template of that kind has exactly those columns."""
    from openpyxl import Workbook, load_workbook

    unit = make_api().login_operator()
    active, sealed = numbers(app, demo, "01"), numbers(app, demo, "02")
    instance_id, _ = start(unit)
    template = unit.get(f"{API}/processes/status_change/template.xlsx?change_type=mixed")
    headers = [c.value for c in next(load_workbook(io.BytesIO(template.data)).active.rows)]
    assert headers == ["个人账号", "姓名", "变更类型", "变更原因"]

    def upload(rows):
        book = Workbook()  # written by another tool, to the contract's columns
        book.active.append(["个人账号", "变更类型", "变更原因"])
        for row in rows:
            book.active.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        return unit.client.post(f"{API}/instances/{instance_id}/manifest/import",
                                data={"file": (io.BytesIO(buffer.getvalue()), "mixed.xlsx")},
                                headers={"X-CSRF-Token": unit.csrf()},
                                content_type="multipart/form-data")

    refused = upload([[active[0], "冻结", "01"], [sealed[0], "启封", "42"]])
    assert refused.status_code == 422
    assert [(e["row"], e["column"]) for e in refused.json["errors"]] == [
        (2, "变更类型"), (3, "变更原因")]
    # a reason code typed into a number cell (01 → the number 1) is the code still
    imported = upload([[active[0], "封存", 1], [sealed[0], "unseal", "01"]])
    assert imported.status_code == 200, imported.json
    rows = unit.get(f"{API}/instances/{instance_id}/manifest").json["items"]
    assert [(r["person_account"], r["change"], r["reason_name"]) for r in rows] == [
        (active[0], "seal", "离职/解除劳动关系"), (sealed[0], "unseal", "重新在职")]


def test_import_both_tabs_and_delete(app, make_api, demo):
    unit = make_api().login_operator()
    active, sealed = numbers(app, demo, "01"), numbers(app, demo, "02")
    instance_id, task_id = start(unit)
    seal_template = unit.get(f"{API}/processes/status_change/template.xlsx?change_type=seal").data
    filled = fill_template(seal_template, [
        {"个人账号": active[0], "封存原因": "退休"}, {"个人账号": active[1], "封存原因": "01"}])
    imported = unit.client.post(f"{API}/instances/{instance_id}/manifest/import",
                                data={"file": (io.BytesIO(filled), "seal.xlsx"),
                                      "change_type": "seal"},
                                headers={"X-CSRF-Token": unit.csrf()},
                                content_type="multipart/form-data")
    assert imported.status_code == 200, imported.json
    assert imported.json["imported"] == 2
    unseal_template = unit.get(f"{API}/processes/status_change/template.xlsx?change_type=unseal").data
    bad = fill_template(unseal_template, [{"个人账号": active[2], "启封原因": "01"}])
    refused = unit.client.post(f"{API}/instances/{instance_id}/manifest/import",
                               data={"file": (io.BytesIO(bad), "unseal.xlsx"),
                                     "change_type": "unseal"},
                               headers={"X-CSRF-Token": unit.csrf()},
                               content_type="multipart/form-data")
    assert refused.status_code == 422
    assert refused.json["errors"][0]["column"] == "个人账号"
    rows = unit.get(f"{API}/instances/{instance_id}/manifest").json["items"]
    assert [r["reason_name"] for r in rows] == ["退休", "离职/解除劳动关系"]
    assert unit.delete(f"{API}/instances/{instance_id}/manifest/rows/{rows[0]['row_id']}"
                       ).status_code == 200
    assert add(unit, instance_id, person_account=sealed[0], change="unseal",
               reason="02").status_code == 201
    assert confirm(unit, task_id).status_code == 200
    assert [status_of(app, n) for n in (active[0], active[1], sealed[0])] == ["01", "02", "01"]


def two_to_seal(app, make_api, demo):
    """An application with two 正常 persons entered to seal: the unit, their 个人账号,
    the application and its task, and its rows."""
    unit = make_api().login_operator()
    first, second = numbers(app, demo, "01")[:2]
    instance_id, task_id = start(unit)
    for number in (first, second):
        assert add(unit, instance_id, person_account=number, change="seal",
                   reason="01").status_code == 201
    rows = unit.get(f"{API}/instances/{instance_id}/manifest").json["items"]
    return unit, (first, second), instance_id, task_id, rows


def test_only_the_ticked_rows_are_confirmed(app, make_api, demo):
    """Manual: 在清册中选择需封存的职工，点击【确定封存】. From the API, `rows` names them."""
    unit, (first, second), instance_id, task_id, rows = two_to_seal(app, make_api, demo)
    none = unit.post(f"{API}/tasks/{task_id}/complete", {"data": {"rows": []}})
    assert none.status_code == 422 and "请在清册中勾选" in none.json["message"]
    chosen = unit.post(f"{API}/tasks/{task_id}/complete",
                       {"data": {"rows": [rows[1]["row_id"]]}})
    assert chosen.status_code == 200, chosen.json
    assert (status_of(app, first), status_of(app, second)) == ("01", "02")
    # the finished application's 清册 is what was done: the unticked row left it
    done = unit.get(f"{API}/instances/{instance_id}/manifest").json
    assert done["count"] == 1 and [r["person_account"] for r in done["items"]] == [second]
    page = unit.client.get(f"/instances/{instance_id}").text
    assert second in page and first not in page


def test_a_refused_confirmation_keeps_every_row_and_names_it_by_its_place(app, make_api, demo):
    """Unticked rows leave the 清册 only when the confirmation succeeds; a refusal names
    the ticked row by its place in the 清册 the unit sees."""
    unit, (_, second), instance_id, task_id, rows = two_to_seal(app, make_api, demo)
    with app.app_context():  # the second one sealed meanwhile by other means
        db.session.execute(update(PersonAccount).where(PersonAccount.account_no == second)
                           .values(status="02"))
        db.session.commit()
    refused = unit.post(f"{API}/tasks/{task_id}/complete",
                        {"data": {"rows": [rows[1]["row_id"]]}})
    assert refused.status_code == 422
    assert [e["row"] for e in refused.json["errors"]] == [2]
    assert unit.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 2
