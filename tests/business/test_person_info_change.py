"""缴存人信息变更 (manual ch.10) as the unit and a reviewer walk it: the picked person's
identity fields are greyed, other fields checked against their code lists; several
persons in one 待变更清册; 【保存】 to the centre; a rejection returns it with the opinion,
the unit fixes a row and saves again; approval applies it with change records and a
message; 7.2 lists the records and exports them; two operators racing for one field: one
wins, the other is told, nothing lost."""

from __future__ import annotations

import io
import threading

from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from services.db import db
from services.info_changes import PERSON_BY_NAME
from services.models import Message, Person, PersonAccount
from services.policy import DEMO_POLICY
from tests.money_helpers import unit_id_of

from .helpers import decide
from .info_helpers import API, add, complete, records, start, status, todo_task

KEY = "person_info_change"


def accounts(app, demo, unit: int = 0, count: int = 2) -> list[PersonAccount]:
    with app.app_context():
        found = db.session.execute(
            select(PersonAccount).options(joinedload(PersonAccount.person))
            .where(PersonAccount.unit_id == unit_id_of(app, demo, unit))
            .order_by(PersonAccount.account_no).limit(count)).scalars().all()
        db.session.expunge_all()
        return found


def person(app, person_id: int) -> Person:
    with app.app_context():
        found = db.session.get(Person, person_id)
        db.session.expunge(found)
        return found


def test_refusals_greyed_invalid_other_unit_and_empty(app, make_api, demo):
    operator = make_api().login_operator()
    mine = accounts(app, demo)[0]
    theirs = accounts(app, demo, unit=1, count=1)[0]
    instance_id, task_id = start(operator, KEY)

    other = add(operator, instance_id, person_account=theirs.account_no, phone="0591-87654321")
    assert other.status_code == 422
    assert other.json["errors"] == {"person_account": ["本单位没有该个人账号"]}
    greyed = add(operator, instance_id, person_account=mine.account_no, name="改个名")
    assert greyed.status_code == 422 and greyed.json["errors"] == {"name": ["置灰项不允许修改"]}
    greyed_row = add(operator, instance_id, person_account=mine.account_no, field="id_number",
                     new_value="11010519491231002X")
    assert greyed_row.status_code == 422 and "id_number" in greyed_row.json["errors"]
    bad = add(operator, instance_id, person_account=mine.account_no, education="11",
              postcode="ABC", phone="电话", family_income="-5", marital_status="离异")
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"education", "postcode", "phone", "family_income",
                                       "marital_status"}
    assert bad.json["errors"]["education"][0].startswith("学历须为：10 研究生、20 大学本科")

    empty = complete(operator, task_id)
    assert empty.status_code == 422 and "待变更清册为空" in empty.json["message"]


def test_rejected_then_fixed_then_approved(app, make_api, demo):
    operator = make_api().login_operator()
    reviewer = make_api().login_reviewer()
    first, second = accounts(app, demo)
    instance_id, task_id = start(operator, KEY)

    picked = operator.get(f"{API}/persons?q={first.account_no}").json["items"][0]
    assert picked["birth_date"] and "education" in picked  # shown back, fills the form
    # the demo stores codes and the form starts from them: a different 学历, by label
    education = PERSON_BY_NAME["education"]
    new_code = "10" if first.person.education == "20" else "20"
    new_label = education.shown(new_code, DEMO_POLICY)
    new_marital = "40" if first.person.marital_status == "20" else "20"
    one = add(operator, instance_id, person_account=first.account_no, education=new_label,
              marital_status=new_marital, family_income="120000", phone=first.person.phone)
    assert one.status_code == 201, one.json
    assert add(operator, instance_id, person_account=second.account_no,
               address="示范市鼓楼区东街 1 号").status_code == 201
    rows = operator.get(f"{API}/instances/{instance_id}/manifest").json["items"]
    assert [(r["name"], r["field_label"], r["new_text"]) for r in rows] == [
        (first.person.name, "学历", new_label),
        (first.person.name, "婚姻状况", PERSON_BY_NAME["marital_status"].shown(new_marital,
                                                                           DEMO_POLICY)),
        (first.person.name, "家庭收入", "120000.00"),
        (second.person.name, "家庭住址", "示范市鼓楼区东街 1 号")]
    assert complete(operator, task_id, remark="年度信息核对").status_code == 200
    assert status(operator, instance_id) == "running"
    assert add(operator, instance_id, person_account=second.account_no,
               postcode="350001").status_code == 409  # under review: the 清册 is closed

    decide(reviewer, instance_id, "reject", "家庭收入请填写月收入")
    with app.app_context():
        assert "家庭收入请填写月收入" in db.session.execute(select(Message.content).where(
            Message.instance_id == instance_id).order_by(Message.id.desc())).scalar()
    task_id = todo_task(operator, instance_id)
    income = next(r for r in rows if r["field"] == "family_income")
    assert operator.delete(f"{API}/instances/{instance_id}/manifest/rows/{income['row_id']}"
                           ).status_code == 200
    assert add(operator, instance_id, person_account=first.account_no,
               family_income="10000").status_code == 201
    assert complete(operator, task_id, remark="已改为月收入").status_code == 200
    decide(reviewer, instance_id, "approve", "同意")

    assert status(operator, instance_id) == "completed"
    changed = person(app, first.person_id)
    assert (changed.education, changed.marital_status, str(changed.family_income)) == (
        new_code, new_marital, "10000.00")
    assert person(app, second.person_id).address == "示范市鼓楼区东街 1 号"
    assert records(app, "person", "education") == [
        (education.shown(first.person.education, DEMO_POLICY), new_label, "缴存人信息变更")]
    with app.app_context():
        assert "已审核通过并生效" in db.session.execute(select(Message.content).where(
            Message.instance_id == instance_id).order_by(Message.id.desc())).scalar()

    page = operator.client.get(f"/queries/persons?tab=changes&q={first.account_no}")
    assert new_label in page.get_data(as_text=True)
    exported = operator.client.get(f"/queries/persons/changes.xlsx?q={first.account_no}")
    sheet = load_workbook(io.BytesIO(exported.data)).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:4] == ["变更时间", "个人账号", "姓名", "变更项目"]
    assert {v[3] for v in values[1:]} == {"学历", "婚姻状况", "家庭收入"}
    assert {v[1] for v in values[1:]} == {first.account_no}


def test_a_field_changed_before_approval_is_refused(app, make_api, demo):
    operator = make_api().login_operator()
    reviewer = make_api().login_reviewer()
    first = accounts(app, demo, count=1)[0]
    instance_id, task_id = start(operator, KEY)
    assert add(operator, instance_id, person_account=first.account_no,
               phone="0591-12345678").status_code == 201
    assert complete(operator, task_id).status_code == 200
    with app.app_context():
        db.session.execute(update(Person).where(Person.id == first.person_id)
                           .values(phone="0591-99999999"))
        db.session.commit()
    queue = reviewer.get(f"{API}/tasks?list=group&per_page=100").json["items"]
    review = next(t["task_id"] for t in queue if t["instance_id"] == instance_id)
    assert reviewer.post(f"{API}/tasks/{review}/claim").status_code == 200
    refused = reviewer.post(f"{API}/tasks/{review}/complete",
                            {"data": {"decision": "approve", "opinion": "同意"}})
    assert refused.status_code == 409
    assert f"{first.person.name}的固定电话已被他人修改" in refused.json["message"]
    assert person(app, first.person_id).phone == "0591-99999999"
    assert records(app, "person", "phone") == []


def test_two_operators_change_one_field_at_once(app, make_api, demo):
    first = accounts(app, demo, count=1)[0]
    operators = [make_api().login_operator(operator=i) for i in (0, 1)]
    started = [start(op, KEY)[0] for op in operators]
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def enter(index: int) -> None:
        barrier.wait()
        answers[index] = add(operators[index], started[index], person_account=first.account_no,
                             phone=f"0591-8888000{index}")

    threads = [threading.Thread(target=enter, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(a.status_code for a in answers)
    assert codes[0] == 201 and codes[1] in (409, 422)
    loser = next(a for a in answers if a.status_code != 201)
    assert "另一笔未办结" in loser.json["message"] or "其他申请" in loser.json["message"]
    counts = [operators[i].get(f"{API}/instances/{started[i]}/manifest").json["count"]
              for i in (0, 1)]
    assert sorted(counts) == [0, 1]


def test_a_filled_template_imports_a_row_per_changed_field(app, make_api, demo):
    from .helpers import fill_template

    operator = make_api().login_operator()
    first = accounts(app, demo, count=1)[0]
    instance_id, _ = start(operator, KEY)
    template = operator.get(f"{API}/processes/{KEY}/template.xlsx")
    assert template.status_code == 200
    code, label = ("20", "大学本科") if first.person.education == "30" else ("30", "大学专科")
    content = fill_template(template.data, [{"个人账号": first.account_no,
                                             "学历": f"{code} {label}", "职称": "中级"}])
    imported = operator.client.post(
        f"{API}/instances/{instance_id}/manifest/import",
        data={"file": (io.BytesIO(content), "变更.xlsx")},
        headers={"X-CSRF-Token": operator.csrf()}, content_type="multipart/form-data")
    assert imported.status_code == 200, imported.json
    rows = operator.get(f"{API}/instances/{instance_id}/manifest").json["items"]
    assert [(r["field_label"], r["new_text"]) for r in rows] == [("学历", label), ("职称", "中级")]
