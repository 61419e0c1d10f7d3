"""Input nobody should send, refused where it enters with a clear 4xx and nothing
written: hostile JSON and query strings on every endpoint, malformed spreadsheets, and
the wording of ordinary mistakes (1e4, a huge number, Arabic-Indic digits, a blank
field)."""

from __future__ import annotations

import io
import logging
import re
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from engine.models import HistoryEvent, HumanTask, ProcessInstance
from services.db import db
from services.models import ManifestRow, Message

API = "/api/v1"
HOSTILE_BODIES = {
    "deep nesting": "[" * 50_000 + "]" * 50_000,
    "a 5,000-digit integer": '{"data": {"remark": ' + "9" * 5000 + "}}",
    "a lone surrogate": '{"data": {"remark": "\\ud800"}, "decision": "\\udfff"}',
    "a NUL byte": '{"data": {"remark": "a\\u0000b"}, "opinion": "\\u0000"}',
    "NaN": '{"data": {"remark": NaN}}',
}
#: For every query parameter an endpoint declares: a NUL byte; for page numbers and sizes,
#: values past any list.
HOSTILE_VALUES = {"page": ["99999999999999999999", "9" * 5000], "per_page": ["-1", "9" * 30]}
#: Invalid UTF-8 in a URL reads as U+FFFD (werkzeug): an ordinary, harmless value.
ODD_VALUES = ["%ED%A0%80", "%FF" * 100]


def counts() -> dict:
    return {model.__tablename__: db.session.execute(
        select(func.count()).select_from(model)).scalar_one()
        for model in (ProcessInstance, HumanTask, HistoryEvent, ManifestRow, Message)}


@pytest.fixture
def application(make_api):
    operator = make_api().login_operator()
    started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}}).json
    return operator, started["instance_id"], started["tasks"][0]["task_id"]


def endpoints(api, instance_id: int, task_id: str):
    """Every JSON POST and every GET that takes query arguments, from the OpenAPI
    document, with its path parameters filled in: new endpoints are covered as they come."""
    fill = {"instance_id": instance_id, "task_id": task_id, "key": "base_adjustment",
            "message_id": 1, "row_id": 1, "number": 1, "code": "x", "kind": "x",
            "serial": "x", "job_id": "x"}
    paths = api.get(f"{API}/openapi.json").json["paths"]
    for path, operations in paths.items():
        url = re.sub(r"{(\w+)}", lambda m: str(fill.get(m.group(1), 1)), path)
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            takes_json = "application/json" in (operation.get("requestBody") or {}).get(
                "content", {})
            takes_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
            if (method == "post" and takes_json) or (method == "get" and takes_query):
                yield method, url, [p["name"] for p in operation.get("parameters", [])
                                    if p.get("in") == "query"]


def test_hostile_input_is_refused_everywhere_and_writes_nothing(app, application, caplog):
    api, instance_id, task_id = application
    with app.app_context():
        before = counts()
    tried = 0
    caplog.set_level(logging.ERROR)
    for method, url, params in endpoints(api, instance_id, task_id):
        if method == "post":
            for name, body in HOSTILE_BODIES.items():
                response = api.client.post(url, data=body, content_type="application/json",
                                           headers={"X-CSRF-Token": api.csrf()})
                assert response.status_code in (400, 422), (url, name, response.status_code)
                assert response.json["message"], (url, name)
                tried += 1
        else:
            for name in params:
                for value in ["%00", *HOSTILE_VALUES.get(name, [])]:
                    response = api.client.get(f"{url}?{name}={value}")
                    assert response.status_code in (400, 422), (url, name, response.status_code)
                    assert response.json["message"], (url, name)
                    assert list(response.json["errors"]) == [name], (url, response.json)
                    tried += 1
                for value in ODD_VALUES:
                    assert api.client.get(f"{url}?{name}={value}").status_code < 500, (url, name)
    for path in (f"{API}/tasks/%00", f"{API}/instances/{instance_id}/manifest/rows/%00",
                 "/tasks/%00", "/queries/persons?q=%00"):
        response = api.client.get(path)
        assert response.status_code in (400, 404), path
    assert tried > 40
    with app.app_context():
        assert counts() == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], \
        [r.getMessage() for r in caplog.records]


#: marshmallow's own (English) messages, which no answer may carry.
ENGLISH = re.compile(r"Not a valid|Unknown field|Missing data|Field may not|Invalid value")


def test_a_value_of_the_wrong_type_is_refused_in_chinese_everywhere(application):
    """Every query argument of every endpoint given a word where it wants a number, a
    yes/no or a date, and bodies with the wrong type where an object is wanted: the
    refusal names the field in Chinese (marshmallow's defaults are English)."""
    operator, instance_id, task_id = application
    refused = 0
    for method, url, params in endpoints(operator, instance_id, task_id):
        for name in params if method == "get" else []:
            answer = operator.get(f"{url}?{name}=zz")
            assert answer.status_code < 500, (url, name)
            if answer.status_code >= 400 and answer.is_json:
                refused += 1
                assert not ENGLISH.search(answer.get_data(as_text=True)), (url, name, answer.json)
    assert refused >= 5  # page, per_page, unread, prefill… were all tried
    for url in (f"{API}/processes/base_adjustment/instances", f"{API}/tasks/{task_id}/complete"):
        answer = operator.post(url, {"data": "x"})
        assert answer.status_code == 422
        assert answer.json["errors"] == {"data": ["数据格式无效，应为对象"]}
    assert operator.get(f"{API}/persons?per_page=x").json["errors"] == {"per_page": ["须为整数"]}
    assert operator.get(f"{API}/messages?unread=maybe").json["errors"] == {
        "unread": ["须为 true 或 false"]}


def test_pages_take_any_page_number_without_failing(app, application):
    api, _, task_id = application
    for url in ("/tasks?list=done&page=99999999999999999999", "/messages?page=" + "9" * 5000,
                f"/tasks/{task_id}?mpage=99999999999999999999", "/queries/persons?page=-5",
                "/messages?page=abc"):
        assert api.client.get(url).status_code in (200, 302), url


def sheet_with(content: bytes, row_xml: str) -> bytes:
    """The template with a raw row of sheet XML added (cells no spreadsheet program would
    write, but a crafted file can hold)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", row_xml.encode() + b"</sheetData>")
            target.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize("row_xml", [
    '<row r="2"><c r="A2" t="inlineStr"><is><t>{account}</t></is></c><c r="D2"><v>NaN</v></c></row>',
    '<row r="2"><c r="A2" t="inlineStr"><is><t>{account}</t></is></c><c r="D2"><v>inf</v></c></row>',
    '<row r="2"><c r="A2" t="inlineStr"><is><t>{account}</t></is></c><c r="D2"><v>abc</v></c></row>',
    '<row r="2"><c r="A2" t="inlineStr"><is><t>{account}</t></is></c><c r="D2"><v>6000</v></c>'
    '<c r="E2" t="d"><v>2026-99-99T99:00:00</v></c></row>',
    '<row r="2"><c r="ZZZZZZ2"><v>6000</v></c></row>',
    '<row r="2"><c r="A2" t="s"><v>99999</v></c><c r="D2"><v>6000</v></c></row>',
], ids=["NaN", "inf", "abc", "bad date", "column past XFD", "shared string out of range"])
def test_a_malformed_spreadsheet_cell_is_refused_clearly(app, application, caplog, row_xml):
    api, instance_id, _ = application
    account = api.get(f"{API}/persons?status=01&per_page=1").json["items"][0]["person_account"]
    template = api.get(f"{API}/processes/base_adjustment/template.xlsx?change_type=base").data
    crafted = sheet_with(template, row_xml.format(account=account))
    caplog.set_level(logging.ERROR)
    response = api.client.post(f"{API}/instances/{instance_id}/manifest/import",
                               data={"file": (io.BytesIO(crafted), "x.xlsx"), "change_type": "base"},
                               headers={"X-CSRF-Token": api.csrf()},
                               content_type="multipart/form-data")
    assert response.status_code in (400, 422), response.json
    assert response.json["message"]
    assert api.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_an_invalid_huge_cell_is_not_echoed_whole(application):
    api, instance_id, _ = application
    account = api.get(f"{API}/persons?status=01&per_page=1").json["items"][0]["person_account"]
    response = api.post(f"{API}/instances/{instance_id}/manifest/rows",
                        {"person_account": account, "new_base": "x" * 2_000_000})
    assert response.status_code == 422
    assert len(response.data) < 2000
    assert "共 2000000 个字符" in response.json["errors"]["new_base"][0]


@pytest.mark.parametrize("typed,expected", [
    ("1e4", "缴存基数须为数字（如 8000 或 8000.50），收到：1e4"),
    ("99999999999999999999", "数值过大"),
    ("١٢٣٤", "含有非阿拉伯数字字符「١」"),
    ("", "调整后缴存基数为必填项"),
])
def test_amounts_are_read_as_people_write_them(application, typed, expected):
    api, instance_id, _ = application
    account = api.get(f"{API}/persons?status=01&per_page=1").json["items"][0]["person_account"]
    response = api.post(f"{API}/instances/{instance_id}/manifest/rows",
                        {"person_account": account, "new_base": typed})
    assert response.status_code == 422
    assert expected in response.json["errors"]["new_base"][0]


def test_full_width_digits_are_read_as_digits(application):
    api, instance_id, _ = application
    person = api.get(f"{API}/persons?status=01&per_page=1").json["items"][0]
    wide = person["person_account"].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    response = api.post(f"{API}/instances/{instance_id}/manifest/rows", {
        "person_account": wide, "new_base": "６０００．５０", "effective_month": None})
    assert response.status_code == 201, response.json
    assert response.json["new_base"] == "6000.50"


def test_a_rate_out_of_range_is_said_in_per_cent(application):
    api, instance_id, _ = application
    account = api.get(f"{API}/persons?status=01&per_page=1").json["items"][0]["person_account"]
    response = api.post(f"{API}/instances/{instance_id}/manifest/rows", {
        "person_account": account, "new_base": "6000", "new_person_rate": "0.13",
        "change_type": "base_rate"})
    message = response.json["errors"]["new_person_rate"][0]
    assert "13%" in message and "5% - 12%" in message and "0.1" not in message


def test_a_name_that_looks_like_a_formula_stays_text_in_a_prefilled_template(app, application):
    api, _, _ = application
    with app.app_context():
        from services.models import Person, PersonAccount
        account_no = api.get(f"{API}/persons?status=01&per_page=1").json["items"][0][
            "person_account"]
        person = db.session.execute(select(Person).join(
            PersonAccount, PersonAccount.person_id == Person.id).where(
            PersonAccount.account_no == account_no)).scalar_one()
        person.name = '=HYPERLINK("http://x","点我")'
        db.session.commit()
    content = api.get(f"{API}/processes/base_adjustment/template.xlsx?prefill=true").data
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    cell = next(c for c in sheet["B"] if c.value and str(c.value).startswith("="))
    assert cell.data_type == "s"
