"""打印 (manual 7.3) of 账户状态变更 records: the PDF reads back as the unit's account_event
rows (time, person, change, statuses, month, reason, operator), honours the query's
filters (person, change type, date range), and never shows another unit's records."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from services.clock import display, local
from services.db import db
from services.models import AccountEvent, Person, PersonAccount
from services.models.account_event import CHANGES
from services.models.person import PERSON_STATUSES
from services.months import YearMonth
from services.policy import DEMO_POLICY
from tests.money_helpers import change_status, register_person, unit_id_of
from tests.pdf import pdf_text

from .test_login import login

URL = "/documents/person_status_changes/me.pdf"
#: 变更原因 as printed: the label of the change's code (封存 01 离职…, 启封 01 重新在职).
REASONS = {**{("seal", code): label for code, label in DEMO_POLICY.seal_reasons},
           **{("unseal", code): label for code, label in DEMO_POLICY.unseal_reasons}}
PAGE = "/queries/status-changes"


def unit_events(app, unit_id: int) -> list[dict]:
    """The unit's account_event rows straight from the table, with the person's names."""
    with app.app_context():
        rows = db.session.execute(
            select(AccountEvent, PersonAccount.account_no, Person.name, Person.id_number)
            .join(PersonAccount, PersonAccount.id == AccountEvent.person_account_id)
            .join(Person, Person.id == PersonAccount.person_id)
            .where(AccountEvent.unit_id == unit_id)).all()
        return [{"at": event.at, "account_no": account_no, "name": name, "id_number": number,
                 "change": event.change, "from_status": event.from_status,
                 "to_status": event.to_status, "month": str(event.month),
                 "reason": REASONS.get((event.change, event.reason), event.reason or ""),
                 "actor": event.actor_name}
                for event, account_no, name, number in rows]


def table_lines(text: str) -> list[str]:
    """The printed table's rows: lines that start with a change time."""
    return [line.strip() for line in text.splitlines()
            if re.match(r"\s*\d{4}-\d\d-\d\d \d\d:\d\d\s+\d{12}", line)]


def expected_line(event: dict) -> list[str]:
    """The row's words as pdftotext reads them (the time is a date and a clock time; an
    event without a 变更前状态 or 变更原因, an 开户, prints those cells empty)."""
    return " ".join([display(event["at"]), event["account_no"], event["name"], event["id_number"],
            CHANGES[event["change"]], PERSON_STATUSES.get(event["from_status"], ""),
            PERSON_STATUSES[event["to_status"]], event["month"], event["reason"],
            event["actor"]]).split()


def count(text: str, label: str, suffix: str) -> int:
    return int(re.search(rf"{label}：\s*(\d+) {suffix}", text).group(1))


def add_events(app, demo) -> None:
    """Besides the demo's 封存: one 开户 and one 启封, so every column varies."""
    unit_id = unit_id_of(app, demo)
    with app.app_context():
        register_person(unit_id, YearMonth(2026, 12), "6000.00", "开户人")
        sealed = db.session.execute(select(AccountEvent.person_account_id).where(
            AccountEvent.unit_id == unit_id, AccountEvent.change == "seal")
            .order_by(AccountEvent.id)).scalars().first()
        change_status(sealed, "unseal", YearMonth(2026, 12))
        db.session.commit()


def test_the_print_holds_every_record_of_the_unit_as_stored(app, demo):
    add_events(app, demo)
    client = app.test_client()
    login(client, demo)
    response = client.get(URL)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data)
    assert "缴存人账户状态变更记录" in text and "查询条件： 全部" in text
    assert demo["units"][0]["name"] in text and demo["units"][0]["unit_account"] in text

    events = unit_events(app, unit_id_of(app, demo))
    assert {e["change"] for e in events} == {"open", "seal", "unseal"}
    lines = table_lines(text)
    assert len(lines) == len(events) == count(text, "记录数", "条")
    printed = sorted(line.split() for line in lines)
    assert printed == sorted(expected_line(e) for e in events)
    assert count(text, "封存人数", "人") == len(
        {e["account_no"] for e in events if e["change"] == "seal"})
    assert count(text, "启封人数", "人") == 1

    others = unit_events(app, unit_id_of(app, demo, unit=1))
    assert others and all(e["account_no"] not in text and e["id_number"] not in text
                          for e in others)
    assert demo["units"][1]["name"] not in text


def test_the_print_honours_the_querys_filters(app, demo):
    add_events(app, demo)
    client = app.test_client()
    login(client, demo)
    events = unit_events(app, unit_id_of(app, demo))

    seals = table_lines(pdf_text(client.get(f"{URL}?change=seal").data))
    assert len(seals) == len([e for e in events if e["change"] == "seal"])
    assert all(" 封存 " in line for line in seals)

    one = next(e for e in events if e["change"] == "seal")
    day = local(one["at"]).date()
    query = f"q={one['account_no']}&change=seal&since={day}&until={day}"
    text = pdf_text(client.get(f"{URL}?{query}").data)
    assert [line.split() for line in table_lines(text)] == [expected_line(one)]
    assert (f"查询条件： 变更类型：封存；变更日期：{day} 至 {day}；"
            f"个人账号、姓名或证件号码含“{one['account_no']}”") in text

    # the day after the latest record (the demo's were written when its database was made,
    # which may be the Beijing day before this test's own)
    later = max(local(e["at"]).date() for e in events) + timedelta(days=1)
    empty = pdf_text(client.get(f"{URL}?since={later}").data)
    assert table_lines(empty) == [] and count(empty, "记录数", "条") == 0


def test_another_units_print_is_its_own(app, demo, make_api):
    second = make_api().login_operator(unit=1)
    text = pdf_text(second.get(f"/api/v1{URL}").data)
    theirs = unit_events(app, unit_id_of(app, demo, unit=1))
    ours = unit_events(app, unit_id_of(app, demo))
    assert len(table_lines(text)) == len(theirs) > 0
    assert all(e["account_no"] not in text for e in ours)
    assert second.get(f"/api/v1/documents/person_status_changes/"
                      f"{demo['units'][0]['unit_account']}.pdf").status_code == 404
    assert second.get(f"/api/v1{URL}?until=yesterday").status_code == 422
    reviewer = make_api().login_reviewer()
    assert reviewer.get(f"/api/v1{URL}").status_code == 403


def test_the_query_page_links_its_print_with_its_filters(app, demo):
    client = app.test_client()
    login(client, demo)
    page = client.get(f"{PAGE}?change=seal&q=杨&since=2026-01-01").text
    link = re.search(r'id="print"[^>]*href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert link.startswith(URL + "?")
    assert set(link.split("?")[1].split("&")) == {"q=%E6%9D%A8", "change=seal",
                                                 "since=2026-01-01"}
    assert client.get(link).status_code == 200


def test_a_print_larger_than_the_limit_is_printed_by_a_job(app, demo, make_api):
    """Above ASYNC_ROWS the print is queued (202); the job's PDF holds every record, as
    a direct print of the same filters would."""
    from tests.scale.helpers import wait_for_job

    operator = make_api().login_operator()
    first = unit_events(app, unit_id_of(app, demo))[0]
    direct = pdf_text(operator.get(f"/api/v1{URL}").data)
    app.config["ASYNC_ROWS"] = 1
    queued = operator.get(f"/api/v1{URL}")
    assert queued.status_code == 202, queued.json
    status = wait_for_job(lambda: operator.get(queued.json["status_url"]).json)
    assert status["state"] == "done", status
    assert status["download"].startswith("缴存人账户状态变更记录_") and status["download"].endswith(".pdf")
    result = operator.get(f"/api/v1/jobs/{queued.json['job_id']}/result")
    assert result.mimetype == "application/pdf"
    printed = pdf_text(result.data)
    assert first["account_no"] in printed
    pages = re.findall(r"共\s*(\d+)\s*页", printed)
    assert pages and pages == re.findall(r"共\s*(\d+)\s*页", direct)  # the same document
    one = operator.get(f"/api/v1{URL}?q={first['account_no']}")
    assert one.status_code == 200 and first["account_no"] in pdf_text(one.data)
    # the page's link leads to the job's page, which leads back to the query page
    page_print = operator.get(URL, headers={"Referer": f"http://localhost{PAGE}?change=seal"})
    assert page_print.status_code == 303 and "/jobs/" in page_print.headers["Location"]
    job_page = operator.get(page_print.headers["Location"]).text
    assert f'href="{PAGE}?change=seal"' in job_page
    # a referrer that would lead off the site is not followed back
    for foreign in ("http://localhost//evil.example/x", "http://localhost/\\evil.example",
                    "http://evil.example/queries"):
        job = operator.get(URL, headers={"Referer": foreign}).headers["Location"]
        assert "evil.example" not in operator.get(job).text
