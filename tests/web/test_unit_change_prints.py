"""打印 of 单位信息变更 records (manual ch.3 “完成办理，是否打印？” and 8.1): the record of
one application and the unit's list as queried read back as the change_record rows of the
database (变更项目, 变更前, 变更后, time, business, operator)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from services.clock import display, local
from services.db import db, utcnow
from services.models import ChangeRecord
from tests.business.info_helpers import add, complete, start
from tests.money_helpers import unit_id_of
from tests.pdf import pdf_text, raw_text

KEY = "unit_info_change"
ME = "/documents/unit_changes/me.pdf"


def unit_records(app, unit_id: int, instance_id: int | None = None) -> list[ChangeRecord]:
    with app.app_context():
        query = select(ChangeRecord).where(ChangeRecord.unit_id == unit_id,
                                           ChangeRecord.subject == "unit")
        if instance_id is not None:
            query = query.where(ChangeRecord.instance_id == instance_id)
        rows = db.session.execute(query.order_by(ChangeRecord.id)).scalars().all()
        db.session.expunge_all()
        return rows


HEAD = "变更时间 变更项目 变更前 变更后 业务 经办人"


def table_rows(pdf: bytes) -> list[str]:
    """The printed rows of a one-page record, in order, each as its cells' text without
    the spaces (a long address wraps inside its cell)."""
    body = raw_text(pdf).split(HEAD, 1)[1].split("\n合计\n", 1)[0]
    return ["".join(chunk.split()) for chunk in re.split(r"(?=\d{4}-\d\d-\d\d \d\d:\d\d)", body)
            if chunk.strip()]


def cells(record: ChangeRecord) -> str:
    """A stored record as its printed row should read."""
    return "".join(" ".join([display(record.changed_at), record.field_label, record.old_value,
                             record.new_value, record.business, record.actor_name]).split())


def count(text: str) -> int:
    return int(re.search(r"记录数：\s*(\d+) 条", text).group(1))


def changed(operator, **fields) -> int:
    """A finished 单位信息变更 of `fields` (applied at once, no review); its number."""
    instance_id, task_id = start(operator, KEY)
    assert add(operator, instance_id, **fields).status_code == 201
    assert complete(operator, task_id).status_code == 200
    return instance_id


def test_one_applications_record_prints_its_changes_only(app, demo, make_api):
    operator = make_api().login_operator()
    first = changed(operator, address="示范市新城区创业路 8 号", postcode="350009",
                    industry="软件和信息技术服务业")
    second = changed(operator, address="示范市新城区创业路 9 号")
    unit_id = unit_id_of(app, demo)
    stored = unit_records(app, unit_id, first)
    assert {r.field_label for r in stored} == {"单位地址", "邮政编码", "行业"}

    response = operator.client.get(f"/documents/unit_changes/{first}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "单位信息变更记录" in text and f"查询条件： 申请号 {first}" in text
    assert demo["units"][0]["name"] in text
    assert sorted(table_rows(response.data)) == sorted(cells(r) for r in stored)
    assert count(text) == len(stored) == 3
    assert "示范市新城区创业路 9 号" not in text  # the second application's change
    assert len(unit_records(app, unit_id, second)) == 1

    # The API prints the same paper for the same application.
    assert operator.get(f"/api/v1/documents/unit_changes/{first}.pdf").data == response.data


def test_the_units_list_prints_as_queried(app, demo, make_api):
    operator = make_api().login_operator()
    first = changed(operator, address="示范市新城区创业路 8 号", postcode="350009")
    second = changed(operator, address="示范市新城区创业路 9 号")
    stored = unit_records(app, unit_id_of(app, demo))
    ours = [r for r in stored if r.instance_id in (first, second)]
    assert len(ours) == 3

    pdf = operator.client.get(ME).data
    text = pdf_text(pdf)
    assert "查询条件： 全部" in text
    rows = table_rows(pdf)
    assert sorted(rows) == sorted(cells(r) for r in stored) and count(text) == len(stored)
    # newest first, as on the 8.1 page: the second address before the first
    assert rows.index(cells(ours[2])) < rows.index(cells(ours[0]))

    day = local(ours[0].changed_at).date()
    on_day = [r for r in stored if local(r.changed_at).date() == day]
    dated = operator.client.get(f"{ME}?since={day}&until={day}").data
    assert f"查询条件： 变更日期：{day} 至 {day}" in pdf_text(dated)
    assert sorted(table_rows(dated)) == sorted(cells(r) for r in on_day)
    last = max(local(r.changed_at).date() for r in stored)  # the test may straddle midnight
    later = operator.client.get(f"{ME}?since={last + timedelta(days=1)}").data
    assert table_rows(later) == ["无记录"] and count(pdf_text(later)) == 0

    other = make_api().login_operator(unit=1)
    theirs = pdf_text(other.get(f"/api/v1{ME}").data)
    assert "创业路" not in theirs and demo["units"][0]["name"] not in theirs
    assert count(theirs) == len(unit_records(app, unit_id_of(app, demo, unit=1)))
    assert other.get(f"/api/v1/documents/unit_changes/{first}.pdf").status_code == 404


def test_the_next_page_of_the_units_changes_stays_on_its_tab(app, demo, make_api):
    """8.1's 下一页 keeps the 客户信息变更 tab and its dates (it used to open 账户信息)."""
    unit_id = unit_id_of(app, demo)
    with app.app_context():
        db.session.add_all(ChangeRecord(
            unit_id=unit_id, person_account_id=None, subject="unit", field="contact_phone",
            field_label="联系电话", old_value=f"0591-8800{n:04d}", new_value=f"0591-8800{n + 1:04d}",
            changed_at=utcnow(), actor="operator:1", actor_name="陈思远", business="单位信息变更",
            instance_id=None) for n in range(45))
        db.session.commit()
    operator = make_api().login_operator()
    first = operator.client.get("/queries/unit?tab=changes&since=2000-01-01").text
    [following] = re.findall(r'href="(\?[^"]*page=2[^"]*)"', first)
    second = operator.client.get("/queries/unit" + following.replace("&amp;", "&")).text
    assert "第 2/" in second and "0591-8800" in second and "since=2000-01-01" in following
