"""单位信息变更 (manual ch.3) as the unit walks it: greyed fields and bad values are refused
by field; 【确定】 puts each changed field in the 待变更清册, × removes a row; 【完成办理】
applies the rest at once, while a new 单位名称 or 统一社会信用代码 waits for the centre
(the diagram's gateway); the same field changed twice shows two records in order; a field
changed by someone else meanwhile is refused, nothing lost."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy import select, update

from services.db import db
from services.models import Message, Unit, UnitAccount
from tests.money_helpers import unit_id_of

from .helpers import decide
from .info_helpers import API, add, complete, records, start, status, todo_task

KEY = "unit_info_change"


def unit(app, demo) -> Unit:
    with app.app_context():
        found = db.session.get(Unit, unit_id_of(app, demo))
        db.session.expunge(found)
        return found


def test_greyed_fields_bad_values_and_an_empty_list_are_refused(app, make_api, demo):
    operator = make_api().login_operator()
    instance_id, task_id = start(operator, KEY)

    greyed = add(operator, instance_id, field="account_no", new_value="1234567890")
    assert greyed.status_code == 422 and greyed.json["errors"] == {"account_no": ["置灰项不允许修改"]}
    greyed_form = add(operator, instance_id, paid_through="2030-01")
    assert greyed_form.status_code == 422 and "置灰项不允许修改" in greyed_form.json["message"]
    bad = add(operator, instance_id, uscc="91350100M000100Y44", contact_phone="12345",
              postcode="35000", pay_day="32", name="")
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"uscc", "contact_phone", "postcode", "pay_day", "name"}
    assert "统一社会信用代码有误" in bad.json["errors"]["uscc"][0]
    assert bad.json["errors"]["name"] == ["单位名称为必填项"]
    unknown = add(operator, instance_id, field="balance", new_value="1")
    assert unknown.status_code == 422 and "变更项目无效" in unknown.json["errors"]["field"][0]
    same = add(operator, instance_id, address=unit(app, demo).address)
    assert same.status_code == 422 and "没有需要变更的项目" in same.json["message"]

    empty = complete(operator, task_id)
    assert empty.status_code == 422 and "待变更清册为空" in empty.json["message"]
    assert operator.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 0


def test_other_fields_apply_at_once_with_a_record_each(app, make_api, demo):
    operator = make_api().login_operator()
    before = unit(app, demo)
    instance_id, task_id = start(operator, KEY)
    added = add(operator, instance_id, address="示范市新城区创业路 8 号", postcode="350009",
                industry="软件和信息技术服务业", pay_day="10")
    assert added.status_code == 201, added.json
    rows = operator.get(f"{API}/instances/{instance_id}/manifest").json["items"]
    assert [(r["field_label"], r["old_text"], r["new_text"]) for r in rows][:2] == [
        ("单位地址", before.address, "示范市新城区创业路 8 号"), ("邮政编码", before.postcode, "350009")]
    pay_day = next(r for r in rows if r["field"] == "pay_day")
    assert operator.delete(f"{API}/instances/{instance_id}/manifest/rows/{pay_day['row_id']}"
                           ).status_code == 200
    again = add(operator, instance_id, field="address", new_value="别的地址")
    assert again.status_code == 422 and "已在待变更清册中" in again.json["message"]

    done = complete(operator, task_id, remark="搬迁")
    assert done.status_code == 200, done.json
    assert status(operator, instance_id) == "completed"
    after = unit(app, demo)
    assert (after.address, after.postcode, after.industry, after.pay_day) == (
        "示范市新城区创业路 8 号", "350009", "软件和信息技术服务业", "")
    assert records(app, "unit", "address") == [(before.address, "示范市新城区创业路 8 号", "单位信息变更")]
    with app.app_context():
        assert db.session.execute(select(Message.content).where(
            Message.instance_id == instance_id)).scalar().startswith("您单位的单位信息变更已办理完成")

    # the same field again: both records, in order; 8.1 shows them newest first
    second, task = start(operator, KEY)
    assert add(operator, second, address="示范市新城区创业路 9 号").status_code == 201
    assert complete(operator, task).status_code == 200
    assert [r[1] for r in records(app, "unit", "address")] == ["示范市新城区创业路 8 号",
                                                               "示范市新城区创业路 9 号"]
    page = operator.client.get("/queries/unit?tab=changes")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    news = re.findall(r'data-label="新值">([^<]*)<', text)
    assert news.index("示范市新城区创业路 9 号") < news.index("示范市新城区创业路 8 号")
    exported = operator.client.get("/queries/unit/changes.xlsx")
    sheet = load_workbook(io.BytesIO(exported.data)).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["变更时间", "变更项目", "原值"]
    assert [v[3] for v in values[1:] if v[1] == "单位地址"] == ["示范市新城区创业路 9 号",
                                                             "示范市新城区创业路 8 号"]
    printed = operator.client.get(f"/documents/unit_changes/{second}.pdf")
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"


def test_a_new_name_waits_for_the_centre_and_a_rejection_comes_back(app, make_api, demo):
    operator = make_api().login_operator()
    reviewer = make_api().login_reviewer()
    old_name = unit(app, demo).name
    instance_id, task_id = start(operator, KEY)
    assert add(operator, instance_id, name="示范市新名称科技有限公司",
               legal_rep="林新").status_code == 201
    assert complete(operator, task_id).status_code == 200
    assert status(operator, instance_id) == "running"
    assert unit(app, demo).name == old_name  # not before the review
    # nothing is recorded before the review: no empty record is offered to print
    assert 'id="done-print"' not in operator.client.get(f"/instances/{instance_id}?done=1").text

    decide(reviewer, instance_id, "reject", "请附营业执照变更证明")
    task_id = todo_task(operator, instance_id)
    with app.app_context():
        assert "请附营业执照变更证明" in db.session.execute(select(Message.content).where(
            Message.instance_id == instance_id).order_by(Message.id.desc())).scalar()
    assert complete(operator, task_id, remark="已附证明").status_code == 200
    decide(reviewer, instance_id, "approve", "同意")
    assert status(operator, instance_id) == "completed"
    after = unit(app, demo)
    assert (after.name, after.legal_rep) == ("示范市新名称科技有限公司", "林新")
    assert records(app, "unit", "name") == [(old_name, "示范市新名称科技有限公司", "单位信息变更")]


def test_a_change_that_waits_for_review_offers_nothing_empty_to_print(make_api):
    """A new 统一社会信用代码: nothing is recorded until the centre approves, so the page
    says so instead of offering an empty record to print."""
    operator = make_api().login_operator()
    instance_id, task_id = start(operator, KEY)
    assert add(operator, instance_id, uscc="91350100M000100Y43").status_code == 201
    assert complete(operator, task_id).status_code == 200
    page = operator.client.get(f"/instances/{instance_id}?done=1").text
    assert "已提交中心审核：审核通过后变更生效" in page and 'id="done-print"' not in page


def test_a_field_changed_meanwhile_is_refused_and_nothing_is_lost(app, make_api, demo):
    operator = make_api().login_operator()
    reviewer = make_api().login_reviewer()
    unit_id = unit_id_of(app, demo)
    instance_id, task_id = start(operator, KEY)
    assert add(operator, instance_id, uscc="91350100M000100Y43",
               contact_name="周经办").status_code == 201
    assert complete(operator, task_id).status_code == 200  # to the centre (USCC)
    with app.app_context():  # another operator's change lands first
        db.session.execute(update(Unit).where(Unit.id == unit_id).values(contact_name="郑先到"))
        db.session.commit()
    queue = reviewer.get(f"{API}/tasks?list=group&per_page=100").json["items"]
    review = next(t["task_id"] for t in queue if t["instance_id"] == instance_id)
    assert reviewer.post(f"{API}/tasks/{review}/claim").status_code == 200
    refused = reviewer.post(f"{API}/tasks/{review}/complete",
                            {"data": {"decision": "approve", "opinion": "同意"}})
    assert refused.status_code == 409
    assert "联系人已被他人修改" in refused.json["message"]
    after = unit(app, demo)
    assert after.contact_name == "郑先到" and after.uscc != "91350100M000100Y43"
    assert records(app, "unit", "uscc") == []
    assert status(operator, instance_id) == "running"


def test_two_units_asking_for_one_new_code_the_second_approval_is_refused_clearly(
        app, make_api, demo):
    """Both units entered the same new 统一社会信用代码 before either was approved: the
    second approval says the code is taken (it used to fail with a 500), changes nothing
    and the application stays with the reviewer to return."""
    reviewer = make_api().login_reviewer()
    code = "91350100M000100Y43"
    applications = []
    for which in (0, 1):
        operator = make_api().login_operator(unit=which)
        instance_id, task_id = start(operator, KEY)
        assert add(operator, instance_id, uscc=code).status_code == 201
        assert complete(operator, task_id).status_code == 200
        applications.append((operator, instance_id))
    decide(reviewer, applications[0][1], "approve", "同意")
    queue = reviewer.get(f"{API}/tasks?list=group&per_page=100").json["items"]
    review = next(t["task_id"] for t in queue if t["instance_id"] == applications[1][1])
    assert reviewer.post(f"{API}/tasks/{review}/claim").status_code == 200
    refused = reviewer.post(f"{API}/tasks/{review}/complete",
                            {"data": {"decision": "approve", "opinion": "同意"}})
    assert refused.status_code == 422, refused.json
    assert "已登记为其他单位" in refused.json["message"] and "退回单位修改" in refused.json["message"]
    assert unit(app, demo).uscc == code  # the first unit's
    with app.app_context():
        second = db.session.execute(select(UnitAccount.unit_id).where(
            UnitAccount.account_no == demo["units"][1]["unit_account"])).scalar_one()
        assert db.session.get(Unit, second).uscc != code
        db.session.remove()
    assert status(applications[1][0], applications[1][1]) == "running"
