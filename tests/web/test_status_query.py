"""账户状态变更查询 (manual 7.3): the unit's 开户/封存/启封/转入/转出 records by person,
change type and date, paged, exported to .xlsx; another unit's records never appear."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from services.clock import local
from services.db import db
from services.models import AccountEvent, PersonAccount
from services.months import YearMonth
from services.policy import DEMO_POLICY
from tests.money_helpers import register_person, unit_id_of

from .test_login import login

URL = "/queries/status-changes"


def events(app, demo, unit=0, change=None) -> list[tuple[AccountEvent, str]]:
    with app.app_context():
        query = (select(AccountEvent, PersonAccount.account_no)
                 .join(PersonAccount, PersonAccount.id == AccountEvent.person_account_id)
                 .where(AccountEvent.unit_id == unit_id_of(app, demo, unit)))
        if change:
            query = query.where(AccountEvent.change == change)
        rows = db.session.execute(query).all()
        db.session.expunge_all()
        return [tuple(r) for r in rows]


def test_the_query_shows_this_units_changes_by_type_person_and_date(app, demo):
    client = app.test_client()
    login(client, demo)
    assert f'href="{URL}"' in client.get("/queries/persons").text
    seals = events(app, demo, change="seal")
    assert seals, "the demo seals some persons"
    page = client.get(f"{URL}?change=seal").text
    assert f"共 {len(seals)} 条" in page and "封存" in page
    assert "没有符合条件的记录" in client.get(f"{URL}?change=open").text  # the demo opens none

    event, account_no = seals[0]
    one = client.get(f"{URL}?q={account_no}").text
    assert "共 1 条" in one and account_no in one
    day = local(event.at).date()
    assert account_no in client.get(f"{URL}?change=seal&since={day}&until={day}").text
    later = day + timedelta(days=1)
    assert "没有符合条件的记录" in client.get(f"{URL}?since={later}&q={account_no}").text
    assert "开始日期格式应为" in client.get(f"{URL}?since=2026-13-40").text

    _, theirs = events(app, demo, unit=1, change="seal")[0]
    assert "没有符合条件的记录" in client.get(f"{URL}?q={theirs}").text


def test_export_holds_every_matching_record(app, demo):
    client = app.test_client()
    login(client, demo)
    seals = events(app, demo, change="seal")
    response = client.get(f"{URL}.xlsx?change=seal")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("变更时间", "个人账号", "姓名", "证件号码", "变更类型")
    assert len(rows) == len(seals) + 1
    assert {r[1] for r in rows[1:]} == {a for _, a in seals}
    assert {r[4] for r in rows[1:]} == {"封存"}
    reasons = {dict(code for code in DEMO_POLICY.seal_reasons)[e.reason] for e, _ in seals}
    assert {r[rows[0].index("变更原因")] for r in rows[1:]} == reasons  # the label, not 01


def test_a_large_export_is_a_job_and_its_file_holds_every_matching_record(app, demo):
    """Above ASYNC_ROWS the page offers 后台导出 (POST, CSRF-checked), the plain link says
    so, and the job's file holds what the direct export would; its page leads back."""
    import re

    from tests.scale.helpers import wait_for_job

    client = app.test_client()
    login(client, demo)
    seals = events(app, demo, change="seal")
    app.config["ASYNC_ROWS"] = 1
    page = client.get(f"{URL}?change=seal").text
    assert "后台导出" in page
    assert client.get(f"{URL}.xlsx?change=seal").status_code == 302
    assert client.post(f"{URL}.xlsx?change=seal").status_code == 400  # no CSRF token
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    started = client.post(f"{URL}.xlsx?change=seal", data={"csrf_token": token})
    assert started.status_code == 303
    job_id = started.location.rsplit("/", 1)[-1]
    status = wait_for_job(lambda: client.get(f"/api/v1/jobs/{job_id}").json)
    assert status["state"] == "done" and status["total"] == len(seals), status
    sheet = load_workbook(io.BytesIO(client.get(f"/api/v1/jobs/{job_id}/result").data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert {r[1] for r in rows[1:]} == {a for _, a in seals} and len(rows) == len(seals) + 1
    assert f'href="{URL}?change=seal"' in client.get(f"/jobs/{job_id}").text


def test_a_registration_shows_as_opened(app, demo):
    client = app.test_client()
    login(client, demo)
    with app.app_context():
        register_person(unit_id_of(app, demo), YearMonth(2026, 12), "6000.00", "开户人")
        db.session.commit()
    page = client.get(f"{URL}?change=open").text
    assert "共 1 条" in page and "开户人" in page and "开户" in page
