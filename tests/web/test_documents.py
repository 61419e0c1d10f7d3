"""打印 (manual 7.1, 7.2, ch.4): the unit prints its depositors' accounts, one account's
明细, the change records and a finished base adjustment's approval notice; each PDF reads
back with the database's units, amounts, counts and dates; a bank confirms it on
/verify without logging in, and a changed or made-up code is refused. A unit never
prints another unit's data."""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from engine.models import HumanTask
from services.clock import CST, today
from services.db import db
from services.documents import DocumentRecord
from services.ledger import PERSON_ROWS
from services.models import ChangeRecord, PersonAccount, UnitAccount
from services.money import fmt
from tests.money_helpers import ledger_cents
from tests.pdf import check_code, page_texts, pdf_fonts, pdf_text, qr_codes

from .test_login import login

API = "/api/v1"
ACCOUNTS = "/documents/person_accounts/me.pdf"


def chinese_day(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def unit_id_of(app, demo, unit=0) -> int:
    with app.app_context():
        return db.session.execute(select(UnitAccount.unit_id).where(
            UnitAccount.account_no == demo["units"][unit]["unit_account"])).scalar_one()


def accounts_of(app, unit_id, status=None) -> list[PersonAccount]:
    with app.app_context():
        query = (select(PersonAccount).options(joinedload(PersonAccount.person))
                 .where(PersonAccount.unit_id == unit_id))
        if status:
            query = query.where(PersonAccount.status == status)
        rows = db.session.execute(query.order_by(PersonAccount.account_no)).scalars().all()
        db.session.expunge_all()
        return rows


def amount(text: str, label: str) -> Decimal:
    return Decimal(re.search(rf"{label}：\s*([-\d,]+\.\d\d) 元", text).group(1).replace(",", ""))


def count(text: str, label: str, suffix: str) -> int:
    return int(re.search(rf"{label}：\s*(\d+) {suffix}", text).group(1))


def approved_adjustment(make_api, bases=("6000", "7200.50")) -> tuple[int, list[dict]]:
    """A base adjustment the reviewer approved with an opinion; its id and persons."""
    operator = make_api().login_operator()
    people = operator.get(f"{API}/persons?status=01&per_page={len(bases)}").json["items"]
    started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}}).json
    for person, base in zip(people, bases, strict=True):
        assert operator.post(f"{API}/instances/{started['instance_id']}/manifest/rows",
                             {"person_account": person["person_account"], "new_base": base}
                             ).status_code == 201
    operator.post(f"{API}/tasks/{started['tasks'][0]['task_id']}/complete", {"data": {}})
    reviewer = make_api().login_reviewer()
    review = reviewer.get(f"{API}/tasks?list=group").json["items"][0]["task_id"]
    reviewer.post(f"{API}/tasks/{review}/claim")
    assert reviewer.post(f"{API}/tasks/{review}/complete", {"data": {
        "decision": "approve", "opinion": "同意按新基数缴存"}}).status_code == 200
    return started["instance_id"], people


def test_the_account_list_prints_what_the_ledger_holds(app, demo):
    client = app.test_client()
    login(client, demo)
    response = client.get(f"{ACCOUNTS}?status=01")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    pages = page_texts(response.data)
    text = "".join(pages)
    unit = demo["units"][0]
    active = accounts_of(app, unit_id_of(app, demo), status="01")
    assert unit["name"] in text and unit["unit_account"] in text
    assert "查询条件： 账户状态：正常" in text
    assert f"打印日期：{chinese_day(today())}" in pages[-1]
    assert count(text, "人数", "人") == len(active) == 216
    cents = ledger_cents(app, [a.id for a in active])
    assert amount(text, "账户余额合计") * 100 == sum(cents.values())
    assert amount(text, "月缴存额合计") == sum(a.unit_amount + a.person_amount for a in active)
    for account in active:  # every row: the account, its ID number in full, its balance
        line = next(line for line in text.splitlines() if account.account_no in line)
        assert account.person.id_number in line
        assert fmt(Decimal(cents[account.id]) / 100) in line
    sealed = accounts_of(app, unit_id_of(app, demo), status="02")
    assert sealed and all(a.account_no not in text for a in sealed)
    code = check_code(pages[0])
    assert all(f"校验码：{code[:4]}-" in page for page in pages) and len(pages) >= 5


def test_the_font_is_embedded_and_subset(app, demo):
    client = app.test_client()
    login(client, demo)
    fonts = pdf_fonts(client.get(ACCOUNTS).data)
    assert [(f["emb"], f["sub"]) for f in fonts] == [("yes", "yes")]
    assert fonts[0]["name"].endswith("+WenQuanYiMicroHei")


def test_the_same_document_twice_is_the_same_file_and_one_record(app, demo):
    client = app.test_client()
    login(client, demo)
    first, second = client.get(f"{ACCOUNTS}?q=王"), client.get(f"{ACCOUNTS}?q=王")
    assert first.data == second.data
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(DocumentRecord)).scalar() == 1


def test_a_bank_verifies_a_paper_and_a_changed_or_made_up_code_is_refused(app, demo):
    operator = app.test_client()
    login(operator, demo)
    pdf = operator.get(f"{ACCOUNTS}?status=01").data
    text = pdf_text(pdf)
    code = check_code(text)
    assert qr_codes(pdf) == [f"http://localhost/verify/{code}"]

    bank = app.test_client()  # nobody logged in
    answer = bank.get(f"{API}/verify/{code}")
    assert answer.status_code == 200
    body = answer.json
    name = demo["units"][0]["name"]
    assert body["genuine"] is True and body["title"] == "缴存人账户信息"
    assert body["unit_name"] != name and body["unit_name"][:3] == name[:3]
    assert "*" in body["unit_name"] and body["date"] == today().isoformat()
    totals = {t["label"]: t["value"] for t in body["totals"]}
    assert totals["人数"] == "216 人"
    assert totals["账户余额合计"] == f"{fmt(amount(text, '账户余额合计'))} 元"
    assert body["rows"] == 216 and body["rows_digest"][:4] in text
    assert set(body) == {"genuine", "code", "kind", "title", "unit_name", "date",
                         "date_label", "rows", "rows_digest", "totals"}  # nothing more

    page = bank.get(f"/verify/{code}")
    assert page.status_code == 200 and "真实文件" in page.text and name not in page.text
    grouped = "-".join(code[i:i + 4] for i in range(0, 16, 4))
    assert bank.get(f"/verify/{grouped.lower()}").status_code == 200  # as typed from paper
    typed = bank.get(f"/verify?code={grouped}")
    assert typed.status_code == 302 and typed.location.endswith(f"/verify/{code}")

    changed = code[:-1] + ("0" if code[-1] != "0" else "1")
    for fake in (changed, "ABCDEFGHJKMNPQRS", "not-a-code", "1" * 200):
        refused = bank.get(f"{API}/verify/{fake}")
        assert refused.status_code == 404
        assert "不是本中心网上业务大厅出具的文件" in refused.json["message"]
        html = bank.get(f"/verify/{fake}")
        assert html.status_code == 404 and "未通过查验" in html.text


def test_the_qr_code_uses_the_public_address_when_one_is_set(app, demo):
    app.config["PUBLIC_URL"] = "https://gjj.example.gov.cn/hall/"
    client = app.test_client()
    login(client, demo)
    pdf = client.get(ACCOUNTS).data
    code = check_code(pdf_text(pdf))
    assert qr_codes(pdf) == [f"https://gjj.example.gov.cn/hall/verify/{code}"]


def test_one_account_prints_with_its_ledger_rows(app, demo):
    client = app.test_client()
    login(client, demo)
    account = accounts_of(app, unit_id_of(app, demo), status="01")[5]
    response = client.get(f"/documents/person_statement/{account.account_no}.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    with app.app_context():
        entries = db.session.execute(select(PERSON_ROWS).where(
            PERSON_ROWS.c.person_account_id == account.id)
            .order_by(PERSON_ROWS.c.booked_on)).all()
    assert count(text, "笔数", "笔") == len(entries) == 6
    total = sum(e.amount + e.interest for e in entries)
    assert amount(text, "账户余额") == amount(text, "发生额合计") == total
    for entry in entries:
        assert entry.serial_no in text and entry.booked_on.isoformat() in text
    assert account.account_no in text and "缴存人账户明细" in text


def test_change_records_and_the_approval_notice_of_a_base_adjustment(app, demo, make_api):
    instance_id, people = approved_adjustment(make_api)
    client = app.test_client()
    login(client, demo)
    page = client.get(f"/instances/{instance_id}").text
    notice_url = f"/documents/base_adjustment_notice/{instance_id}.pdf"
    assert f'href="{notice_url}"' in page and "打印审批通知书" in page

    text = pdf_text(client.get(notice_url).data)
    with app.app_context():
        review = db.session.execute(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.decision == "approve")).scalar_one()
        reviewed = review.completed_at.replace(tzinfo=UTC).astimezone(CST)
    assert "基数调整审批通知书" in text and f"#{instance_id}" in text
    assert "审批结果： 审核通过" in text and "同意按新基数缴存" in text
    assert f"审批人： {review.completed_by_name}" in text
    assert f"审批时间： {reviewed:%Y-%m-%d %H:%M}" in text
    assert f"审批日期：{chinese_day(reviewed)}" in text
    assert count(text, "调整人数", "人") == 2
    old = sum(Decimal(p["monthly_amount"]) for p in people)
    new = Decimal("1440.00") + Decimal("1728.12")  # 12% + 12% of 6000 and of 7200.50
    assert amount(text, "调整前月缴存额合计") == old
    assert amount(text, "调整后月缴存额合计") == new
    assert amount(text, "月缴存额变化") == new - old
    for person in people:
        assert person["person_account"] in text and person["id_number"] in text
    assert "6,000.00" in text and "7,200.50" in text

    changes = client.get("/documents/person_changes/me.pdf")
    changes_text = pdf_text(changes.data)
    with app.app_context():
        records = db.session.execute(select(func.count()).select_from(ChangeRecord).where(
            ChangeRecord.unit_id == unit_id_of(app, demo), ChangeRecord.subject == "person")
        ).scalar()
    assert count(changes_text, "记录数", "条") == records > 0
    assert count(changes_text, "涉及人数", "人") == 2
    assert "缴存基数" in changes_text and "7,200.50" in changes_text
    assert "缴存人客户信息变更记录" in changes_text


def test_no_notice_before_the_application_is_approved(app, demo, make_api):
    operator = make_api().login_operator()
    started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}}).json
    response = operator.get(f"{API}/documents/base_adjustment_notice/"
                            f"{started['instance_id']}.pdf")
    assert response.status_code == 422 and "尚未审批通过" in response.json["message"]
    client = app.test_client()
    login(client, demo)
    assert "打印审批通知书" not in client.get(f"/instances/{started['instance_id']}").text


def test_a_unit_prints_only_its_own_data(app, demo, make_api):
    instance_id, _ = approved_adjustment(make_api)
    other_person = accounts_of(app, unit_id_of(app, demo, unit=1))[0].account_no
    second = make_api().login_operator(unit=1)
    for url in (f"/documents/base_adjustment_notice/{instance_id}.pdf",
                f"/documents/person_statement/{accounts_of(app, unit_id_of(app, demo))[0].account_no}.pdf",
                f"/documents/person_accounts/{demo['units'][0]['unit_account']}.pdf",
                "/documents/no_such_kind/me.pdf"):
        assert second.get(f"{API}{url}").status_code == 404, url
    own = pdf_text(second.get(f"{API}{ACCOUNTS}").data)
    assert demo["units"][1]["name"] in own and demo["units"][0]["name"] not in own
    assert other_person in own
    assert all(a.account_no not in own for a in accounts_of(app, unit_id_of(app, demo)))
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(DocumentRecord)).scalar() == 1

    anonymous = app.test_client()
    assert anonymous.get(f"{API}{ACCOUNTS}").status_code == 401
    assert anonymous.get(ACCOUNTS).status_code == 302  # to the login page
    reviewer = make_api().login_reviewer()
    assert reviewer.get(f"{API}{ACCOUNTS}").status_code == 403
    assert reviewer.get(f"{API}/documents/base_adjustment_notice/{instance_id}.pdf"
                        ).status_code == 200  # the application reached the reviewers


@pytest.mark.parametrize("query", ["since=2026-13-01", "until=yesterday"])
def test_bad_filters_are_refused_by_field(api, query):
    response = api.login_operator().get(f"{API}{ACCOUNTS}?{query}")
    assert response.status_code == 422
    assert set(response.json["errors"]) == {query.split("=")[0]}


def test_the_query_page_links_its_prints_with_its_filters(app, demo):
    client = app.test_client()
    login(client, demo)
    page = client.get("/queries/persons?status=02&since=2000-01-01").text
    assert re.search(r'id="print"[^>]*\s+href="/documents/person_accounts/me\.pdf\?[^"]*status=02',
                     page)
    assert 'class="print-one"' in page
    changes = client.get("/queries/persons?tab=changes&q=王").text
    assert re.search(r'href="/documents/person_changes/me\.pdf\?q=%E7%8E%8B"', changes)


def test_a_name_with_rare_characters_prints_whole(app, demo):
    """生僻字 Micro Hei lacks (Extension A 䶮, Extension B 𠮷) print from HanaMin, beside
    the characters it has; the paper's text holds the name as stored."""
    account = accounts_of(app, unit_id_of(app, demo), status="01")[3]
    with app.app_context():
        db.session.get(PersonAccount, account.id).person.name = "𠮷䶮龥王"
        db.session.commit()
    client = app.test_client()
    login(client, demo)
    pdf = client.get(f"/documents/person_statement/{account.account_no}.pdf").data
    assert "𠮷䶮龥王" in pdf_text(pdf)
    fonts = pdf_fonts(pdf)
    assert [f["name"].split("+")[1] for f in fonts] == ["WenQuanYiMicroHei", "HanaMinA"]
    assert all((f["emb"], f["sub"]) == ("yes", "yes") for f in fonts)


def test_a_character_no_font_has_is_refused_not_printed_as_a_gap(app, demo):
    account = accounts_of(app, unit_id_of(app, demo), status="01")[4]
    with app.app_context():  # a variation selector, which no face has
        db.session.get(PersonAccount, account.id).person.name = "王\U000E0100五"
        db.session.commit()
    client = app.test_client()
    login(client, demo)
    refused = client.get(f"/documents/person_statement/{account.account_no}.pdf")
    assert refused.status_code == 422 and "本系统字体无法显示的字" in refused.text
