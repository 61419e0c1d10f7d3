"""开户清册 files as units send them: saved by LibreOffice Calc as .xlsx, .xls and .ods
(tests/business/data/registration_good.*: a mobile and a base typed as numbers, 证件类型 typed
as 1, spaces around values, full-width digits), an 18-digit ID the spreadsheet turned into
a number (registration_mangled.*: refused naming its row, never guessed at), and files that
are not spreadsheets."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from tests.people import resident_id

from .test_registration import API, start

DATA = Path(__file__).parent / "data"


def upload(api, instance_id: int, content: bytes, name: str):
    return api.client.post(f"{API}/instances/{instance_id}/manifest/import",
                           data={"file": (io.BytesIO(content), name)},
                           headers={"X-CSRF-Token": api.csrf()},
                           content_type="multipart/form-data")


@pytest.mark.parametrize("suffix", ["xlsx", "xls", "ods"])
def test_a_file_saved_by_libreoffice_imports_every_digit(make_api, suffix):
    unit = make_api().login_operator()
    instance_id, _ = start(unit)
    name = f"registration_good.{suffix}"
    imported = upload(unit, instance_id, (DATA / name).read_bytes(), name)
    assert imported.status_code == 200, imported.json
    assert imported.json["imported"] == 3
    rows = unit.get(f"{API}/instances/{instance_id}/manifest").json["items"]
    assert [(r["name"], r["id_number"], r["mobile"], r["base"]) for r in rows] == [
        ("孙一", resident_id(501), "13900000501", "8000.00"),
        ("周二", resident_id(502, female=True), "13900000502", "6500.50"),
        ("吴三", resident_id(503), "13900000503", "5000.00"),
    ]
    assert [Decimal(r["person_rate"]) for r in rows][:2] == [Decimal("0.12"), Decimal("0.10")]
    assert [r["id_type"] for r in rows] == ["01", "01", "01"]
    assert rows[1]["gender_name"] == "女"


@pytest.mark.parametrize("suffix", ["xlsx", "xls", "ods"])
def test_an_id_the_spreadsheet_made_a_number_is_refused_by_row(make_api, suffix):
    unit = make_api().login_operator()
    instance_id, _ = start(unit)
    name = f"registration_mangled.{suffix}"
    refused = upload(unit, instance_id, (DATA / name).read_bytes(), name)
    assert refused.status_code == 422
    [error] = refused.json["errors"]
    assert (error["row"], error["column"]) == (3, "证件号码")
    assert "1.1E+17" in error["message"] and "文本" in error["message"]
    assert unit.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 0


@pytest.mark.parametrize("name, content", [
    ("开户清册.csv", "姓名,证件号码\n张三,11010519491231002X\n".encode()),
    ("开户清册.xlsx", b"%PDF-1.4 not a spreadsheet"),
    ("开户清册.docx", (DATA / "registration_good.ods").read_bytes()[:200]),
])
def test_a_file_that_is_not_a_spreadsheet_gets_a_clear_message(make_api, name, content):
    unit = make_api().login_operator()
    instance_id, _ = start(unit)
    refused = upload(unit, instance_id, content, name)
    assert refused.status_code == 422
    assert refused.json["message"].startswith("无法读取上传的文件")
    assert "file" in refused.json["errors"]


def test_the_empty_template_says_there_is_nothing_to_import(make_api):
    unit = make_api().login_operator()
    instance_id, _ = start(unit)
    template = unit.get(f"{API}/processes/registration/template.xlsx")
    assert "attachment" in template.headers["Content-Disposition"]
    refused = upload(unit, instance_id, template.data, "模板.xlsx")
    assert refused.status_code == 422 and refused.json["message"] == "文件中没有可导入的数据"
