"""基数调整 (manual chapter 4), driven through the JSON API as real users:

operator imports a 3-row adjustment and adds one by hand, submits; reviewer claims and
rejects with an opinion; operator sees it in 待办 with the opinion, fixes, resubmits;
reviewer approves; the persons' bases and amounts change, history shows both opinions.
"""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from functools import partial
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from services.db import db
from services.models import BasePeriod, ChangeRecord, PersonAccount, UnitAccount
from services.spreadsheets import MAX_ROWS as MAX_SHEET_ROWS
from tests.money_helpers import unit_id_of

from . import helpers
from .helpers import fill_template

API = "/api/v1"


def active_persons(api, count):
    return api.get(f"{API}/persons?status=01&per_page={count}").json["items"]


start = partial(helpers.start, key="base_adjustment")


def template(api, change_type="base", prefill=False):
    response = api.get(f"{API}/processes/base_adjustment/template.xlsx?change_type={change_type}"
                       f"&prefill={'true' if prefill else 'false'}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    return response.data


def upload(api, instance_id, content, change_type="base"):
    return api.client.post(f"{API}/instances/{instance_id}/manifest/import",
                           data={"file": (io.BytesIO(content), "adjust.xlsx"),
                                 "change_type": change_type},
                           headers={"X-CSRF-Token": api.csrf()},
                           content_type="multipart/form-data")


def test_the_whole_story_reject_then_approve(make_api, app):
    operator = make_api().login_operator()
    reviewer = make_api().login_reviewer()
    people = active_persons(operator, 5)
    instance_id, task_id = start(operator)

    # 批量导入 three rows from the hall's own template, then one by hand (录入清册)
    filled = fill_template(template(operator), [
        {"个人账号": people[0]["person_account"], "调整后缴存基数": "6000"},
        {"个人账号": people[1]["person_account"], "姓名": people[1]["name"],
         "调整后缴存基数": "7000.50"},
        {"个人账号": people[2]["person_account"], "调整后缴存基数": 8000},
    ])
    imported = upload(operator, instance_id, filled)
    assert imported.status_code == 200, imported.json
    assert imported.json["imported"] == 3
    by_hand = operator.post(f"{API}/instances/{instance_id}/manifest/rows",
                            {"person_account": people[3]["person_account"], "new_base": "9000"})
    assert by_hand.status_code == 201, by_hand.json
    assert by_hand.json["name"] == people[3]["name"]
    assert by_hand.json["id_number"] == people[3]["id_number"]
    assert by_hand.json["old_base"] == people[3]["base"]
    manifest = operator.get(f"{API}/instances/{instance_id}/manifest").json
    assert manifest["count"] == 4

    submitted = operator.post(f"{API}/tasks/{task_id}/complete", {"data": {"remark": "七月调整"}})
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["tasks"][0]["lane"] == "centre_reviewer"

    # the reviewer claims and rejects with an opinion
    queue = reviewer.get(f"{API}/tasks?list=group").json["items"]
    review_id = next(t["task_id"] for t in queue if t["instance_id"] == instance_id)
    assert reviewer.post(f"{API}/tasks/{review_id}/claim").status_code == 200
    rejected = reviewer.post(f"{API}/tasks/{review_id}/complete", {"data": {
        "decision": "reject", "opinion": "第二行基数与工资表不符，请核实"}})
    assert rejected.status_code == 200, rejected.json

    # the operator sees it in 待办 with the opinion, and a message
    todo = operator.get(f"{API}/tasks?list=todo").json["items"]
    again = next(t for t in todo if t["instance_id"] == instance_id)
    assert again["opinion"] == "第二行基数与工资表不符，请核实"
    messages = operator.get(f"{API}/messages").json["items"]
    assert "第二行基数与工资表不符" in messages[0]["content"]
    chart = operator.get(f"{API}/instances/{instance_id}/diagram").json
    assert [d["type"] for d in chart["details"]["edit_manifest"]] == ["办理", "待办理"]
    assert chart["details"]["edit_manifest"][-1]["actor"] == "缴存单位"
    assert chart["details"]["review"][-1]["opinion"] == "第二行基数与工资表不符，请核实"

    # fixes the second row (delete and enter again) and resubmits
    rows = operator.get(f"{API}/instances/{instance_id}/manifest").json["items"]
    second = next(r for r in rows if r["person_account"] == people[1]["person_account"])
    assert operator.delete(f"{API}/instances/{instance_id}/manifest/rows/"
                           f"{second['row_id']}").status_code == 200
    assert operator.post(f"{API}/instances/{instance_id}/manifest/rows", {
        "person_account": people[1]["person_account"], "new_base": "7500"}).status_code == 201
    assert operator.post(f"{API}/tasks/{again['task_id']}/complete",
                         {"data": {"remark": "已核实"}}).status_code == 200

    # the reviewer approves
    queue = reviewer.get(f"{API}/tasks?list=group").json["items"]
    review_id = next(t["task_id"] for t in queue if t["instance_id"] == instance_id)
    reviewer.post(f"{API}/tasks/{review_id}/claim")
    approved = reviewer.post(f"{API}/tasks/{review_id}/complete",
                             {"data": {"decision": "approve", "opinion": "同意"}})
    assert approved.status_code == 200
    assert approved.json["status"] == "completed"

    # new bases and amounts, recomputed with the unit's 12% + 12%
    expected = {people[0]["person_account"]: Decimal("6000.00"),
                people[1]["person_account"]: Decimal("7500.00"),
                people[2]["person_account"]: Decimal("8000.00"),
                people[3]["person_account"]: Decimal("9000.00")}
    after = {p["person_account"]: p for p in active_persons(operator, 200)}
    for account, base in expected.items():
        assert Decimal(after[account]["base"]) == base
        assert Decimal(after[account]["unit_amount"]) == (base * Decimal("0.12")).quantize(
            Decimal("0.01"))
        assert Decimal(after[account]["monthly_amount"]) == 2 * Decimal(after[account]["unit_amount"])

    with app.app_context():
        changes = db.session.execute(select(ChangeRecord).where(
            ChangeRecord.instance_id == instance_id, ChangeRecord.field == "base")).scalars().all()
        # 经办人 of a change is the operator who applied, not the reviewer who approved
        assert len(changes) == 4 and {c.actor_name for c in changes} == {"陈思远"}
        periods = db.session.execute(select(BasePeriod).where(
            BasePeriod.instance_id == instance_id)).scalars().all()
        assert len(periods) == 4

    # the approval trail shows both opinions with actors
    history = operator.get(f"{API}/instances/{instance_id}/history").json["items"]
    decisions = [(e["actor"], e["decision"], e["opinion"]) for e in history
                 if e["type"] == "task_completed" and e["decision"]]
    assert decisions == [("李文静", "reject", "第二行基数与工资表不符，请核实"),
                         ("李文静", "approve", "同意")]
    assert operator.get(f"{API}/messages").json["items"][0]["content"].startswith(
        "您单位提交的基数调整（4 人）已审核通过")

    # 已办 and 我发起的 list it; the reviewer's 已办 too
    done = operator.get(f"{API}/tasks?list=done").json["items"]
    assert [t["instance_id"] for t in done].count(instance_id) == 2
    initiated = operator.get(f"{API}/tasks?list=initiated").json["items"]
    assert initiated[0]["instance_id"] == instance_id and initiated[0]["state"] == "completed"
    assert (initiated[0]["initiator"], initiated[0]["completed_by"]) == ("陈思远", "李文静")
    assert reviewer.get(f"{API}/tasks?list=done").json["total"] == 2


def test_an_import_with_bad_rows_stores_nothing_and_names_every_bad_row(api):
    api.login_operator()
    instance_id, _ = start(api)
    people = active_persons(api, 3)
    sealed = api.get(f"{API}/persons?status=02").json["items"][0]
    filled = fill_template(template(api), [
        {"个人账号": people[0]["person_account"], "调整后缴存基数": "6000"},
        {"个人账号": people[1]["person_account"], "调整后缴存基数": "99999"},
        {"个人账号": sealed["person_account"], "调整后缴存基数": "6000"},
        {"个人账号": "200000000010", "调整后缴存基数": "6000"},
        {"个人账号": people[2]["person_account"], "姓名": "张冒名", "调整后缴存基数": "abc",
         "生效年月": "2020-01"},
        {"个人账号": people[0]["person_account"], "调整后缴存基数": "6100"},
    ])
    response = upload(api, instance_id, filled)
    assert response.status_code == 422
    problems = {(e["row"], e["column"]) : e["message"] for e in response.json["errors"]}
    assert "缴存基数调整区间：2540.00 - 35811.00" in problems[(3, "调整后缴存基数")]
    assert "只有状态正常的职工才可基数调整" in problems[(4, "个人账号")]
    assert "校验位" in problems[(5, "个人账号")] or "本单位没有" in problems[(5, "个人账号")]
    assert "姓名与个人账号不符" in problems[(6, "姓名")]
    assert (6, "调整后缴存基数") in problems and (6, "生效年月") in problems
    assert "与第 2 行重复" in problems[(7, "个人账号")]
    assert (2, "个人账号") not in problems
    assert api.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 0


def test_another_units_person_cannot_be_added(make_api):
    mine = make_api().login_operator(unit=0)
    theirs = make_api().login_operator(unit=1)
    instance_id, _ = start(mine)
    stranger = active_persons(theirs, 1)[0]
    response = mine.post(f"{API}/instances/{instance_id}/manifest/rows",
                         {"person_account": stranger["person_account"], "new_base": "6000"})
    assert response.status_code == 422
    assert response.json["errors"]["person_account"] == ["本单位没有该个人账号"]


def test_the_template_has_dropdowns_for_code_lists(api):
    api.login_operator()
    book = load_workbook(io.BytesIO(template(api, "base_rate")))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    assert headers == ["个人账号", "姓名", "当前缴存基数", "调整后缴存基数", "调整后个人缴存比例",
                       "生效年月"]
    validations = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert "E2:E1001" in validations and "F2:F1001" in validations
    codes = book["代码表"]
    assert [c.value for c in codes["E"][1:]] == [f"{p}%" for p in range(5, 13)]
    assert book["代码表"].sheet_state == "hidden"


def test_a_prefilled_template_lists_active_persons_and_imports_only_filled_rows(api):
    api.login_operator()
    instance_id, _ = start(api)
    book = load_workbook(io.BytesIO(template(api, prefill=True)))
    sheet = book.worksheets[0]
    listed = [c.value for c in sheet["A"][1:] if c.value]
    assert len(listed) == api.get(f"{API}/persons?status=01").json["total"]
    sheet.cell(row=2, column=4, value="5000")
    sheet.cell(row=3, column=4, value="5500")
    buffer = io.BytesIO()
    book.save(buffer)
    result = upload(api, instance_id, buffer.getvalue()).json
    assert result == {"imported": 2, "skipped": len(listed) - 2}, result


def test_a_base_and_rate_adjustment(api):
    api.login_operator()
    instance_id, _ = start(api)
    person = active_persons(api, 1)[0]
    response = api.post(f"{API}/instances/{instance_id}/manifest/rows", {
        "person_account": person["person_account"], "new_base": "10000",
        "new_person_rate": "8%", "change_type": "base_rate"})
    assert response.status_code == 201, response.json
    assert (response.json["new_unit_amount"], response.json["new_person_amount"]) == (
        "1200.00", "800.00")
    too_high = api.post(f"{API}/instances/{instance_id}/manifest/rows", {
        "person_account": active_persons(api, 2)[1]["person_account"], "new_base": "10000",
        "new_person_rate": "13%", "change_type": "base_rate"})
    assert too_high.status_code == 422
    assert "5% - 12%" in too_high.json["errors"]["new_person_rate"][0]
    too_fine = api.post(f"{API}/instances/{instance_id}/manifest/rows", {
        "person_account": active_persons(api, 2)[1]["person_account"], "new_base": "10000",
        "new_person_rate": "7.255%", "change_type": "base_rate"})
    assert too_fine.status_code == 422
    assert "最多精确到 0.01%" in too_fine.json["errors"]["new_person_rate"][0]


@pytest.mark.parametrize("field,value,message", [
    ("new_base", "2539.99", "缴存基数调整区间：2540.00 - 35811.00"),
    ("new_base", "", "必填项"),
    ("effective_month", "2019-01", "生效年月须在"),
    ("person_account", "123", "个人账号有误"),
])
def test_single_entry_errors_come_back_by_field(api, field, value, message):
    api.login_operator()
    instance_id, _ = start(api)
    row = {"person_account": active_persons(api, 1)[0]["person_account"], "new_base": "6000",
           field: value}
    response = api.post(f"{API}/instances/{instance_id}/manifest/rows", row)
    assert response.status_code == 422
    assert message in response.json["errors"][field][0]
    assert api.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 0


def test_submitting_an_empty_manifest_is_refused_and_nothing_advances(api):
    api.login_operator()
    instance_id, task_id = start(api)
    response = api.post(f"{API}/tasks/{task_id}/complete", {"data": {}})
    assert response.status_code == 422
    assert "清册为空" in response.json["message"]
    detail = api.get(f"{API}/instances/{instance_id}").json
    assert detail["tasks"][0]["task_id"] == task_id and detail["tasks"][0]["lane"] == "employer"


def test_only_one_open_base_adjustment_per_unit(api):
    api.login_operator()
    instance_id, _ = start(api)
    response = api.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
    assert response.status_code == 409
    assert response.json["instance_id"] == instance_id
    [open_one] = api.get(f"{API}/tasks?list=initiated").json["items"]
    assert (open_one["instance_id"], open_one["completed_by"]) == (instance_id, None)
    assert response.json["errors"] == {"key": [response.json["message"]]}
    assert "未办结的基数调整" in response.json["message"]


def test_read_only_fields_cannot_be_changed(api):
    api.login_operator()
    instance_id, task_id = start(api)
    api.post(f"{API}/instances/{instance_id}/manifest/rows",
             {"person_account": active_persons(api, 1)[0]["person_account"], "new_base": "6000"})
    response = api.post(f"{API}/tasks/{task_id}/complete",
                        {"data": {"unit_name": "别的公司", "remark": ""}})
    assert response.status_code == 422
    assert response.json["errors"] == {"data.unit_name": ["置灰项不允许修改"]}
    unchanged = api.get(f"{API}/tasks/{task_id}").json
    assert unchanged["values"]["unit_name"] == "示范市星河信息科技有限公司"
    echoed = api.post(f"{API}/tasks/{task_id}/complete",
                      {"data": {"unit_name": unchanged["values"]["unit_name"]}})
    assert echoed.status_code == 200


def test_the_manifest_is_frozen_while_the_centre_reviews(api):
    api.login_operator()
    instance_id, task_id = start(api)
    people = active_persons(api, 2)
    api.post(f"{API}/instances/{instance_id}/manifest/rows",
             {"person_account": people[0]["person_account"], "new_base": "6000"})
    api.post(f"{API}/tasks/{task_id}/complete", {"data": {}})
    late = api.post(f"{API}/instances/{instance_id}/manifest/rows",
                    {"person_account": people[1]["person_account"], "new_base": "6000"})
    assert late.status_code == 409 and "审核" in late.json["message"]


def test_a_person_sealed_after_entry_blocks_the_submission(api, app):
    api.login_operator()
    instance_id, task_id = start(api)
    person = active_persons(api, 1)[0]
    api.post(f"{API}/instances/{instance_id}/manifest/rows",
             {"person_account": person["person_account"], "new_base": "6000"})
    with app.app_context():
        account = db.session.execute(select(PersonAccount).where(
            PersonAccount.account_no == person["person_account"])).scalar_one()
        account.status = "02"
        db.session.commit()
    response = api.post(f"{API}/tasks/{task_id}/complete", {"data": {}})
    assert response.status_code == 422
    assert response.json["errors"][0]["column"] == "个人账号"
    assert api.get(f"{API}/instances/{instance_id}").json["tasks"][0]["lane"] == "employer"


def _sealed(account, unit_id):
    account.status = "02"


def _moved(account, unit_id):
    account.unit_id = unit_id  # another unit's now, as a 缴存人单位调整 leaves it


def _month_paid(account, unit_id):
    account.unit.account.paid_through = account.unit.account.due_month  # 生效年月 now paid


@pytest.mark.parametrize(("change", "column", "words"), [
    (_sealed, "个人账号", "封存"), (_moved, "个人账号", "已不在本单位"),
    (_month_paid, "生效年月", "生效年月")])
def test_what_changed_during_the_review_refuses_the_approval_and_applies_nothing(
        make_api, app, demo, change, column, words):
    """The world moves while the centre reviews: approving a row whose person was sealed or
    moved to another unit, or whose 生效年月 was paid meanwhile, is refused by row; no base
    changes and the review stays with the reviewer, who can return it to the unit."""
    operator = make_api().login_operator()
    instance_id, task_id = start(operator)
    person = active_persons(operator, 1)[0]
    assert operator.post(f"{API}/instances/{instance_id}/manifest/rows", {
        "person_account": person["person_account"], "new_base": "6000"}).status_code == 201
    assert operator.post(f"{API}/tasks/{task_id}/complete", {"data": {}}).status_code == 200
    other_unit = unit_id_of(app, demo, 1)
    with app.app_context():
        account = db.session.execute(select(PersonAccount).where(
            PersonAccount.account_no == person["person_account"])).scalar_one()
        before = (account.base, account.person_amount, account.unit_amount)
        change(account, other_unit)
        db.session.commit()
        db.session.remove()

    reviewer = make_api().login_reviewer()
    review = helpers.claim_review(reviewer, instance_id)
    refused = reviewer.post(f"{API}/tasks/{review}/complete",
                            {"data": {"decision": "approve", "opinion": "同意"}})
    assert refused.status_code == 422, refused.json
    assert "不能审批通过" in refused.json["message"]
    [error] = refused.json["errors"]
    assert error["row"] == 1 and error["column"] == column and words in error["message"]
    with app.app_context():
        account = db.session.execute(select(PersonAccount).where(
            PersonAccount.account_no == person["person_account"])).scalar_one()
        assert (account.base, account.person_amount, account.unit_amount) == before
        assert not db.session.execute(select(BasePeriod).where(
            BasePeriod.instance_id == instance_id)).first()
        db.session.remove()
    assert reviewer.get(f"{API}/instances/{instance_id}").json["tasks"][0]["task_id"] == review
    back = reviewer.post(f"{API}/tasks/{review}/complete",
                         {"data": {"decision": "reject", "opinion": "请删除已不能调整的职工"}})
    assert back.status_code == 200
    assert back.json["tasks"][0]["lane"] == "employer"


def test_a_template_of_the_other_change_type_is_refused_not_half_read(api):
    """A base-and-rate file uploaded as 调整缴存基数 would silently lose its rate column."""
    api.login_operator()
    instance_id, _ = start(api)
    person = active_persons(api, 1)[0]
    filled = fill_template(template(api, "base_rate"), [
        {"个人账号": person["person_account"], "调整后缴存基数": "6000",
         "调整后个人缴存比例": "7%"}])
    response = upload(api, instance_id, filled, change_type="base")
    assert response.status_code == 422
    assert "调整后个人缴存比例" in response.json["message"]
    assert response.json["errors"] == {"file": ["模板与所选变更类别「调整缴存基数」不符"]}
    assert upload(api, instance_id, filled, change_type="base_rate").status_code == 200


def test_a_zip_bomb_is_refused_before_it_is_unpacked(api):
    api.login_operator()
    instance_id, _ = start(api)
    buffer = io.BytesIO(template(api))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/padding.xml", b"\0" * 5_000_000)  # unpacks 1,000 times bigger
    response = upload(api, instance_id, buffer.getvalue())
    assert response.status_code == 422
    assert response.json["errors"] == {"file": ["文件解压后过大"]}
    assert api.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 0


def test_a_sheet_of_endless_blank_rows_is_refused(api):
    api.login_operator()
    instance_id, _ = start(api)
    book = load_workbook(io.BytesIO(template(api)))
    sheet = book.worksheets[0]
    for row in range(2, MAX_SHEET_ROWS + 2):
        sheet.cell(row=row, column=6, value=None).value = " "  # blank to the reader
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(api, instance_id, buffer.getvalue())
    assert response.status_code == 422
    assert response.json["errors"] == {"file": ["行数过多"]}


def test_the_template_downloads_under_a_chinese_name(api):
    api.login_operator()
    response = api.get(f"{API}/processes/base_adjustment/template.xlsx?change_type=base_rate")
    disposition = unquote(response.headers["Content-Disposition"])
    assert "filename*=UTF-8''基数调整清册模板（调整缴存基数及个人缴存比例）.xlsx" in disposition


def test_helper_columns_before_the_template_columns_are_fine(api):
    """A unit's own columns (序号, 部门…) in front of the template's still import."""
    api.login_operator()
    instance_id, _ = start(api)
    person = active_persons(api, 1)[0]
    book = load_workbook(io.BytesIO(template(api)))
    sheet = book.worksheets[0]
    sheet.insert_cols(1, amount=12)
    for index in range(1, 13):
        sheet.cell(row=1, column=index, value=f"备注{index}")
    headers = {cell.value: cell.column for cell in sheet[1]}
    sheet.cell(row=2, column=headers["个人账号"], value=person["person_account"])
    sheet.cell(row=2, column=headers["调整后缴存基数"], value="6000")
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(api, instance_id, buffer.getvalue())
    assert response.status_code == 200, response.json
    assert response.json["imported"] == 1


def test_a_unit_that_has_remitted_this_month_is_told_when_it_can_adjust(api, app, demo):
    """生效年月 runs from the 应汇缴年月 to the current month: once this month is remitted
    there is none, and starting a base adjustment says so (not an empty range)."""
    from services import clock
    from services.months import YearMonth

    this_month = YearMonth.of(clock.today())
    with app.app_context():
        account = db.session.execute(select(UnitAccount).where(
            UnitAccount.account_no == demo["units"][0]["unit_account"])).scalar_one()
        account.paid_through = this_month
        db.session.commit()
        db.session.remove()
    api.login_operator()
    refused = api.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
    assert refused.status_code == 422, refused.json
    assert refused.json["message"] == (
        f"本单位已汇缴至 {this_month}，本月已没有可调整的生效年月（须不早于应汇缴年月 "
        f"{this_month + 1}、不晚于当前月份）：请于 {this_month + 1} 起办理基数调整")


def test_a_verified_month_is_not_adjusted_until_its_verification_is_deleted(api):
    """汇缴核定 fixed the month's amounts: a base adjusted in it would be paid at the old
    amount. The application says so (delete the verification first) and takes the month
    once the verification is gone."""
    api.login_operator()
    verified = api.post(f"{API}/remittances", {}).json
    month = verified["month"]
    refused = api.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
    assert refused.status_code == 422
    assert f"{month} 已完成汇缴核定" in refused.json["message"]
    assert f"请先在汇缴核定中删除 {month} 的核定" in refused.json["message"]

    assert api.delete(f"{API}/remittances/{month}").status_code == 200
    instance_id, _ = start(api)
    person = active_persons(api, 1)[0]
    added = api.post(f"{API}/instances/{instance_id}/manifest/rows",
                     {"person_account": person["person_account"], "new_base": "6000"})
    assert added.status_code == 201 and added.json["effective_month"] == month
