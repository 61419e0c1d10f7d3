"""缴存人登记 (manual ch.9) as the unit walks it: single entry shows gender and birth date
back and takes the unit's 个人缴存比例 by default; the template downloads and imports
back; a row can be deleted; 【完成办理】 opens the accounts (个人账号 with its check digit,
amounts by the contribution rules, first month = 应汇缴年月, an 开户 event each) and the
unit gets the message. Refused, naming the row: a bad ID or mobile, a person holding an
account in the city, the same person twice, a base outside the policy."""

from __future__ import annotations

import io
import threading
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from engine.models import COMPLETED, ProcessInstance
from services import registration
from services.changes import Who
from services.db import db
from services.errors import Conflict
from services.identifiers import is_valid_person_account
from services.models import AccountEvent, BasePeriod, PersonAccount, UnitAccount
from services.months import YearMonth
from tests.money_helpers import unit_id_of
from tests.people import mobile, resident_id

from . import helpers
from .helpers import add, decide, fill_template

API = "/api/v1"


start = partial(helpers.start, key="registration")


def person(serial: int, **extra) -> dict:
    return {"name": f"新职工{serial}", "id_number": resident_id(serial),
            "mobile": mobile(serial), "base": "8000", **extra}


def upload(api, instance_id: int, content: bytes, name: str = "开户清册.xlsx"):
    return api.client.post(f"{API}/instances/{instance_id}/manifest/import",
                           data={"file": (io.BytesIO(content), name)},
                           headers={"X-CSRF-Token": api.csrf()},
                           content_type="multipart/form-data")


def demo_person(app, demo, unit: int = 0) -> PersonAccount:
    with app.app_context():
        found = db.session.execute(
            select(PersonAccount).options(joinedload(PersonAccount.person))
            .where(PersonAccount.unit_id == unit_id_of(app, demo, unit),
                   PersonAccount.status == "01").order_by(PersonAccount.account_no)
            .limit(1)).scalar_one()
        db.session.expunge_all()
        return found


def test_the_whole_story_entry_import_delete_finish(app, make_api, demo):
    unit = make_api().login_operator()
    instance_id, task_id = start(unit)

    one = add(unit, instance_id, **person(1, name="张三"))
    assert one.status_code == 201, one.json
    assert (one.json["gender_name"], one.json["birth_date"]) == ("男", "1970-01-01")
    with app.app_context():
        account = db.session.execute(select(UnitAccount).where(
            UnitAccount.account_no == demo["units"][0]["unit_account"])).scalar_one()
        unit_rate, person_rate, due = account.unit_rate, account.person_rate, account.due_month
    assert Decimal(one.json["person_rate"]) == person_rate  # the unit's, by default
    base = Decimal("8000")
    assert Decimal(one.json["monthly_amount"]) == (base * unit_rate).quantize(Decimal("0.01")) \
        + (base * person_rate).quantize(Decimal("0.01"))

    template = unit.get(f"{API}/processes/registration/template.xlsx")
    assert template.status_code == 200
    filled = fill_template(template.data, [
        {"姓名": "李四", "证件号码": resident_id(2, female=True), "手机号码": mobile(2),
         "缴存基数": "5000", "个人缴存比例": "12%"},
        {"姓名": "王五", "证件类型": "01 身份证", "证件号码": resident_id(3),
         "手机号码": mobile(3), "缴存基数": "3333.33"},
    ])
    imported = upload(unit, instance_id, filled)
    assert imported.status_code == 200, imported.json
    assert imported.json["imported"] == 2

    rows = unit.get(f"{API}/instances/{instance_id}/manifest").json["items"]
    assert [r["name"] for r in rows] == ["张三", "李四", "王五"]
    assert rows[1]["gender_name"] == "女" and rows[1]["person_rate"] == "0.12"
    deleted = unit.delete(f"{API}/instances/{instance_id}/manifest/rows/{rows[2]['row_id']}")
    assert deleted.status_code in (200, 204), deleted.json

    done = unit.post(f"{API}/tasks/{task_id}/complete", {"data": {"remark": "新入职"}})
    assert done.status_code == 200, done.json
    with app.app_context():
        assert db.session.get(ProcessInstance, instance_id).status == COMPLETED
        opened = db.session.execute(
            select(PersonAccount).options(joinedload(PersonAccount.person))
            .where(PersonAccount.first_month == due,
                   PersonAccount.id.in_(select(AccountEvent.person_account_id).where(
                       AccountEvent.instance_id == instance_id, AccountEvent.change == "open")))
            .order_by(PersonAccount.id)).scalars().all()
        assert [a.person.name for a in opened] == ["张三", "李四"]
        zhang, li = opened
        assert all(is_valid_person_account(a.account_no) for a in opened)
        assert (zhang.status, zhang.base, zhang.person_rate) == ("01", base, person_rate)
        assert (li.person.gender, li.person.mobile, li.person_rate) == ("2", mobile(2),
                                                                        Decimal("0.12"))
        assert li.unit_amount == (Decimal("5000") * unit_rate).quantize(Decimal("0.01"))
        assert li.person_amount == Decimal("600.00")
        periods = db.session.execute(select(BasePeriod).where(
            BasePeriod.person_account_id.in_([a.id for a in opened]))).scalars().all()
        assert {(p.from_month, p.base) for p in periods} == {(due, base), (due, Decimal("5000"))}
    messages = unit.get(f"{API}/messages").json["items"]
    assert "您已完成办理缴存人登记" in messages[0]["content"]
    # the new people are the unit's now, and a second registration of them is refused
    found = unit.get(f"{API}/persons?q={resident_id(1)}").json["items"]
    assert [p["name"] for p in found] == ["张三"]
    again, _ = start(unit)
    twice = add(unit, again, **person(1, name="张三"))
    assert twice.status_code == 422
    assert "已在本单位开户" in twice.json["errors"]["id_number"][0]
    assert zhang.account_no in twice.json["errors"]["id_number"][0]


@pytest.mark.parametrize("row, field, text", [
    ({"id_number": "110105194912310021"}, "id_number", "不是有效的居民身份证号码"),
    ({"id_number": "11010519491231002"}, "id_number", "不是有效的居民身份证号码"),
    ({"mobile": "12345678901"}, "mobile", "手机号码「12345678901」有误"),
    ({"base": "2000"}, "base", "缴存基数调整区间：2540.00 - 35811.00"),
    ({"base": "40000"}, "base", "缴存基数调整区间：2540.00 - 35811.00"),
    ({"person_rate": "15%"}, "person_rate", "超出范围"),
    ({"person_rate": "7.255%"}, "person_rate", "最多精确到 0.01%"),
    ({"name": ""}, "name", "姓名为必填项"),
    ({"id_type": "07"}, "id_type", "证件类型须为"),
])
def test_single_entry_refuses_a_bad_value_by_field(make_api, row, field, text):
    unit = make_api().login_operator()
    instance_id, _ = start(unit)
    refused = add(unit, instance_id, **person(10, **row))
    assert refused.status_code == 422
    assert text in refused.json["errors"][field][0], refused.json
    assert unit.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 0


def test_a_person_with_an_account_in_the_city_is_refused(app, make_api, demo):
    ours, theirs = demo_person(app, demo, 0), demo_person(app, demo, 1)
    unit = make_api().login_operator()
    instance_id, _ = start(unit)
    same = add(unit, instance_id, **person(11, name=ours.person.name,
                                           id_number=ours.person.id_number))
    assert same.status_code == 422
    assert same.json["errors"]["id_number"] == [
        f"该职工已在本单位开户（个人账号 {ours.account_no}，状态：正常），不能重复登记"]
    other = add(unit, instance_id, **person(12, name=theirs.person.name,
                                            id_number=theirs.person.id_number))
    assert other.status_code == 422
    message = other.json["errors"]["id_number"][0]
    assert "先办理封存" in message and "缴存人单位调整" in message
    assert theirs.account_no not in message  # another unit's account is not shown


def test_the_same_person_twice_in_the_manifest_or_the_file(make_api):
    unit = make_api().login_operator()
    instance_id, _ = start(unit)
    assert add(unit, instance_id, **person(20)).status_code == 201
    again = add(unit, instance_id, **person(20, name="另一个名字"))
    assert again.status_code == 422 and "已在开户清册中" in again.json["message"]

    template = unit.get(f"{API}/processes/registration/template.xlsx").data
    rows = [{"姓名": f"甲{i}", "证件号码": resident_id(i), "手机号码": mobile(i),
             "缴存基数": "6000"} for i in (21, 22, 21)]
    twice = upload(unit, instance_id, fill_template(template, rows))
    assert twice.status_code == 422
    assert twice.json["errors"] == [{"row": 4, "column": "证件号码", "message": "与第 2 行重复"}]
    in_manifest = upload(unit, instance_id, fill_template(template, [
        {"姓名": "乙", "证件号码": resident_id(20), "手机号码": mobile(20), "缴存基数": "6000"}]))
    assert in_manifest.status_code == 422
    assert in_manifest.json["errors"][0]["row"] == 2
    assert unit.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 1


def test_a_file_naming_people_held_by_open_applications_names_each_row_and_stores_nothing(
        make_api):
    """The open-key index refuses the file's rows; the answer then names each held row,
    held here or by another unit's open registration, and the 清册 stays as it was."""
    unit = make_api().login_operator()
    instance_id, _ = start(unit)
    assert add(unit, instance_id, **person(50)).status_code == 201
    other = make_api().login_operator(unit=1)
    theirs, _ = start(other)
    assert add(other, theirs, **person(51)).status_code == 201

    template = unit.get(f"{API}/processes/registration/template.xlsx").data
    # 250 rows and more: on PostgreSQL they go in by COPY, which the index refuses whole
    rows = [{"姓名": f"丙{i}", "证件号码": resident_id(i), "手机号码": mobile(i),
             "缴存基数": "6000"} for i in (52, 50, 51, *range(600, 850))]
    refused = upload(unit, instance_id, fill_template(template, rows))
    assert refused.status_code == 422
    assert refused.json["errors"] == [
        {"row": 3, "column": "证件号码",
         "message": "该证件号码的职工已在开户清册中，如需修改请先删除原记录"},
        {"row": 4, "column": "证件号码",
         "message": "该证件号码的职工已在另一笔未办结的缴存人登记中，请先办结或结束该业务"}]
    assert unit.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 1
    assert other.get(f"{API}/instances/{theirs}/manifest").json["count"] == 1
    # a bad row and a held one in one file: both named at once, not one upload after another
    both = upload(unit, instance_id, fill_template(template, [
        {**rows[0], "手机号码": "12345"}, rows[1]]))
    assert [(e["row"], e["column"]) for e in both.json["errors"]] == [(2, "手机号码"), (3, "证件号码")]
    assert "2 行数据有误" in both.json["message"]
    fine = upload(unit, instance_id, fill_template(template, [rows[0], *rows[3:]]))
    assert fine.status_code == 200, fine.json
    assert unit.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 252


def test_one_bad_row_in_a_thousand_stores_nothing_and_names_row_and_column(make_api):
    unit = make_api().login_operator()
    instance_id, _ = start(unit)
    template = unit.get(f"{API}/processes/registration/template.xlsx").data
    rows = [{"姓名": f"职工{i}", "证件号码": resident_id(1000 + i), "手机号码": mobile(i),
             "缴存基数": "6000"} for i in range(1000)]
    rows[736]["手机号码"] = "1380013800"
    refused = upload(unit, instance_id, fill_template(template, rows))
    assert refused.status_code == 422
    assert refused.json["errors"] == [{"row": 738, "column": "手机号码",
                                       "message": "手机号码「1380013800」有误（应为 1 开头的 11 位数字）"}]
    assert unit.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 0


def test_finish_refuses_an_empty_manifest_and_a_person_registered_meanwhile(app, make_api, demo):
    unit = make_api().login_operator()
    instance_id, task_id = start(unit)
    empty = unit.post(f"{API}/tasks/{task_id}/complete", {"data": {}})
    assert empty.status_code == 422 and "开户清册为空" in empty.json["message"]

    assert add(unit, instance_id, **person(30, name="赵六")).status_code == 201
    other = make_api().login_operator(unit=1)
    theirs, _ = start(other)
    # one open registration holds a person: another unit's cannot enter them meanwhile
    held = add(other, theirs, **person(30, name="赵六"))
    assert held.status_code == 422 and "另一笔未办结" in held.json["message"]
    # an account opened by another path meanwhile (a transfer, say) stops the finish
    with app.app_context():
        who = Who("operator:test", "测试", "缴存人登记")
        row = registration.NewAccount("赵六", "01", resident_id(30), mobile(30), Decimal("8000"),
                                      Decimal("0.10"), Decimal("800.00"), Decimal("800.00"))
        registration.open_accounts(unit_id_of(app, demo, 1), Decimal("0.10"), [row],
                                   YearMonth(2026, 12), who, date.today())
        db.session.commit()
    late = unit.post(f"{API}/tasks/{task_id}/complete", {"data": {}})
    assert late.status_code == 422
    assert late.json["errors"][0]["row"] == 1 and "赵六" in late.json["errors"][0]["message"]


def test_the_database_refuses_a_second_open_account(ctx, demo):
    """The rule the row checks enforce holds even when two actions race past them."""
    who = Who("operator:test", "测试", "缴存人登记")
    row = registration.NewAccount("钱七", "01", resident_id(40), mobile(40), Decimal("8000"),
                                  Decimal("0.10"), Decimal("800.00"), Decimal("800.00"))
    unit_id = unit_id_of(ctx, demo)
    registration.open_accounts(unit_id, Decimal("0.10"), [row], YearMonth(2026, 12), who,
                               date.today())
    with pytest.raises(Conflict):
        registration.open_accounts(unit_id, Decimal("0.10"), [row], YearMonth(2026, 12), who,
                                   date.today())
    db.session.rollback()


def with_review(xml: str) -> bytes:
    """registration.bpmn as an analyst would change it in the studio: a review task in
    the 中心审核 lane between 校验开户清册 and 开立个人账户, a rejection ending the application."""
    xml = xml.replace('<bpmn:lane id="centre_reviewer" name="中心审核" />',
                      '<bpmn:lane id="centre_reviewer" name="中心审核">'
                      '<bpmn:flowNodeRef>review</bpmn:flowNodeRef>'
                      '<bpmn:flowNodeRef>Gateway_decision</bpmn:flowNodeRef>'
                      '<bpmn:flowNodeRef>EndEvent_rejected</bpmn:flowNodeRef></bpmn:lane>')
    xml = xml.replace('<bpmn:outgoing>Flow_to_open</bpmn:outgoing>',
                      '<bpmn:outgoing>Flow_to_review</bpmn:outgoing>', 1)
    xml = xml.replace(
        '<bpmn:sequenceFlow id="Flow_to_open" sourceRef="validate_manifest" targetRef="open_accounts" />',
        '<bpmn:userTask id="review" name="中心审核"><bpmn:extensionElements>'
        '<spiffworkflow:properties><spiffworkflow:property name="form" value="review" />'
        '</spiffworkflow:properties></bpmn:extensionElements>'
        '<bpmn:incoming>Flow_to_review</bpmn:incoming><bpmn:outgoing>Flow_decided</bpmn:outgoing>'
        '</bpmn:userTask>'
        '<bpmn:exclusiveGateway id="Gateway_decision" default="Flow_reject">'
        '<bpmn:incoming>Flow_decided</bpmn:incoming><bpmn:outgoing>Flow_to_open</bpmn:outgoing>'
        '<bpmn:outgoing>Flow_reject</bpmn:outgoing></bpmn:exclusiveGateway>'
        '<bpmn:endEvent id="EndEvent_rejected"><bpmn:incoming>Flow_reject</bpmn:incoming>'
        '</bpmn:endEvent>'
        '<bpmn:sequenceFlow id="Flow_to_review" sourceRef="validate_manifest" targetRef="review" />'
        '<bpmn:sequenceFlow id="Flow_decided" sourceRef="review" targetRef="Gateway_decision" />'
        '<bpmn:sequenceFlow id="Flow_reject" sourceRef="Gateway_decision" targetRef="EndEvent_rejected" />'
        '<bpmn:sequenceFlow id="Flow_to_open" sourceRef="Gateway_decision" targetRef="open_accounts">'
        '<bpmn:conditionExpression>decision == "approve"</bpmn:conditionExpression>'
        '</bpmn:sequenceFlow>')
    return xml.encode()


def test_an_analyst_adds_a_review_without_code(app, make_api, demo):
    from engine.deploy import deploy

    with app.app_context():
        diagram = (Path(__file__).parents[2] / "bpmn-diagrams" / "registration.bpmn").read_text()
        deploy(with_review(diagram), "registration.bpmn", "test")
        db.session.commit()
    unit = make_api().login_operator()
    instance_id, task_id = start(unit)
    assert add(unit, instance_id, **person(50, name="审核后开户")).status_code == 201
    assert unit.post(f"{API}/tasks/{task_id}/complete", {"data": {}}).status_code == 200
    assert unit.get(f"{API}/persons?q={resident_id(50)}").json["items"] == []  # not yet
    decide(make_api().login_reviewer(), instance_id)
    assert [p["name"] for p in unit.get(f"{API}/persons?q={resident_id(50)}").json["items"]] \
        == ["审核后开户"]


def test_two_registrations_racing_for_one_person_open_one_account(app, demo, databases):
    """A person whose account was closed (提取销户) is registered by two units at the same
    moment, both past the row checks: the database lets exactly one account open."""
    if not databases.is_postgres:
        pytest.skip("real concurrent writers: PostgreSQL (SQLite serializes writers)")
    closed = demo_person(app, demo, 1)
    with app.app_context():
        db.session.get(PersonAccount, closed.id).status = "05"
        db.session.commit()
    row = registration.NewAccount(closed.person.name, "01", closed.person.id_number,
                                  mobile(60), Decimal("8000"), Decimal("0.10"),
                                  Decimal("800.00"), Decimal("800.00"))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def register(unit: int) -> None:
        with app.app_context():
            unit_id = unit_id_of(app, demo, unit)
            barrier.wait()
            try:
                registration.open_accounts(unit_id, Decimal("0.10"), [row], YearMonth(2026, 12),
                                           Who("operator:test", "测试", "缴存人登记"), date.today())
                db.session.commit()
                outcomes.append("opened")
            except Conflict:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=register, args=(unit,)) for unit in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["opened", "refused"]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(PersonAccount).where(
            PersonAccount.person_id == closed.person_id,
            PersonAccount.status == "01")).scalar_one() == 1


def test_a_passport_holder_is_registered_without_gender_or_birth_date(make_api):
    unit = make_api().login_operator()
    instance_id, _ = start(unit)
    added = add(unit, instance_id, **person(70, name="Anna Müller", id_type="99",
                                            id_number="e12345678"))
    assert added.status_code == 201, added.json
    assert (added.json["id_type"], added.json["id_type_name"], added.json["id_number"],
            added.json["gender_name"], added.json["birth_date"]) == ("99", "护照", "E12345678", "", "")
    short = add(unit, instance_id, **person(71, id_type="护照", id_number="E12"))
    assert short.status_code == 422
    assert short.json["errors"]["id_number"] == ["证件号码须为 5 至 30 位字母或数字"]


def test_a_person_registered_after_the_months_verification_starts_the_month_after(
        app, make_api, demo):
    """The standing 汇缴核定 lists the persons it had; someone registered after it is due
    from the next month, which the page shows as 首次汇缴年月 and the account keeps."""
    unit = make_api().login_operator()
    month = YearMonth.parse(unit.post(f"{API}/remittances", {}).json["month"])
    instance_id, task_id = start(unit)
    shown = unit.get(f"{API}/tasks/{task_id}").json
    assert shown["values"]["due_month"] == str(month + 1)
    assert add(unit, instance_id, **person(71)).status_code == 201
    assert unit.post(f"{API}/tasks/{task_id}/complete", {"data": {}}).status_code == 200
    with app.app_context():
        first = db.session.execute(select(PersonAccount.first_month).join(
            PersonAccount.person).where(registration.Person.id_number == resident_id(71))
        ).scalar_one()
        db.session.remove()
    assert first == month + 1
    # nothing paid yet: the query says so rather than leaving 缴至年月 blank
    listed = unit.client.get(f"/queries/persons?q={resident_id(71)}").get_data(as_text=True)
    assert "共 1 条" in listed and '<td data-label="缴至年月">尚未缴存</td>' in listed
