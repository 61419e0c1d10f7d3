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


HEADERS = ["姓名", "证件类型", "证件号码", "手机号码", "缴存基数", "个人缴存比例"]
TEXT_ONLY = [HEADERS,  # every cell text, as the hall's template keeps them: read at C speed
             ["  张三 ", "01", "11010119900307663x", "１３８００１３８０００", " 6000", "12%"],
             ["", "", "", "", "", ""],  # blank: skipped
             ["李四", "", "110101199003076632", "13800138001", "６０００．００", ""]]
MIXED = [HEADERS,  # numbers, blanks read as None, a short row, the separator in a cell
         ["  张三 ", "01", "11010119900307663x", "１３８００１３８０００", "6000", "12%"],
         ["李\x1f四", 1, "110101199003076632", 13800138001.0, 6000.5, ""],
         ["王五", "01", 1.1e17, "13800138002", "６０００．００"],
         ["赵六", None, "110101199003076650", None, None, None],
         [None] * 6]


@pytest.mark.parametrize("grid", [TEXT_ONLY, MIXED], ids=["text", "mixed"])
def test_every_column_reads_as_its_cells_would_one_by_one(monkeypatch, grid):
    """A file is read a column at a time (text columns at C speed); whatever the cells
    hold, each value is what `cell_text` makes of its cell, rows without a change are
    left out, and untrusted cells are named by row and column in row order."""
    from forms import manifest_file
    from forms.registration import MANIFEST

    monkeypatch.setattr(manifest_file, "read_sheet", lambda content, title: type(
        "Sheet", (), {"rows": grid})())
    read, skipped, problems, _ = manifest_file.read_rows(MANIFEST, b"", MANIFEST.change_type(None))
    rows = list(read)
    kinds = {c.header: c.kind for c in MANIFEST.columns}
    expected = []
    for row_no, cells in enumerate(grid[1:], start=2):
        values = {MANIFEST.columns[i].name: manifest_file.cell_text(
            cells[i] if i < len(cells) else None, kinds[header])[0]
            for i, header in enumerate(HEADERS)}
        if any(values.values()):
            expected.append((row_no, values))
    assert rows == expected and skipped == 0
    first = rows[0][1]
    assert (first["name"], first["id_number"], first["mobile"], first["base"]) == (
        "张三", "11010119900307663X", "13800138000", "6000")
    assert rows[1][1]["base"] == ("6000.00" if grid is TEXT_ONLY else "6000.5")
    if grid is MIXED:
        assert rows[1][1]["name"] == "李\x1f四" and rows[1][1]["mobile"] == "13800138001"
        assert [(p["row"], p["column"]) for p in problems] == [(4, "证件号码")]
    else:
        assert problems == []


def good_file(count: int = 30) -> dict[str, list[str]]:
    """A file's columns as read, every row fine: 证件类型 as typed (code, number, label or
    blank), 个人缴存比例 given or left to the unit's."""
    return {"name": [f"新职工{s}" for s in range(count)],
            "id_type": [("01", "1", "身份证", "")[s % 4] for s in range(count)],
            "id_number": [resident_id(9000 + s, female=s % 2 == 1) for s in range(count)],
            "mobile": [f"139{9000 + s:08d}" for s in range(count)],
            "base": [f"{5000 + s * 37}.{s % 100:02d}" for s in range(count)],
            "person_rate": [("12%", "", "10%")[s % 3] for s in range(count)]}


#: One cell of a good file spoiled (or, for the passport, made valid but not 身份证).
SPOILED = {
    "name too long": ("name", "张" * 41),
    "name blank": ("name", ""),
    "unknown 证件类型": ("id_type", "07"),
    "passport": ("id_type", "99"),
    "wrong check digit": ("id_number", resident_id(9003)[:-1] + "0"),
    "born in the future": ("id_number", resident_id(9003)[:6] + "20991231001" + "X"),
    "two IDs in one cell": ("id_number", f"{resident_id(1)}\n{resident_id(2)}"),
    "ID already in the file": ("id_number", resident_id(9000)),
    "ID of a person with an account": ("id_number", None),  # a demo person's, below
    "mobile short": ("mobile", "1399000000"),
    "two mobiles in one cell": ("mobile", "13990000003\n13990000004"),
    "base above the ceiling": ("base", "9999999"),
    "base not a number": ("base", "八千"),
    "rate not offered": ("person_rate", "3%"),
}


@pytest.mark.parametrize("spoiled", [None, *SPOILED], ids=["good", *SPOILED])
def test_a_file_checked_a_column_at_a_time_makes_what_row_by_row_makes(
        ctx, demo, monkeypatch, spoiled):
    """A file is first checked a column at a time (`check_columns`): a good file goes
    through that way (a 100,000-row import checks no row one by one), and whatever a file
    holds, the rows stored and the problems named are exactly those of checking row by
    row; any doubt sends the file row by row."""
    from forms.manifest_file import FileRows
    from forms.manifest_spec import build_context
    from forms.registration import MANIFEST
    from tests.business.test_registration import demo_person
    from tests.money_helpers import unit_id_of

    columns = good_file()
    if spoiled:
        name, text = SPOILED[spoiled]
        columns[name][3] = text if text is not None else demo_person(ctx, demo).person.id_number
    rows = FileRows(list(range(2, 32)), columns)
    context = build_context(MANIFEST, unit_id_of(ctx, demo), None)
    kind = MANIFEST.change_type(None)
    fast = MANIFEST.check_many(context, rows, kind)
    context.subjects = MANIFEST.lookup(context, rows.column("id_number"))
    assert (MANIFEST.check_columns(context, rows, kind) is not None) == (spoiled is None)
    monkeypatch.setattr(type(MANIFEST), "check_columns", lambda *args: None)
    slow = MANIFEST.check_many(build_context(MANIFEST, unit_id_of(ctx, demo), None), rows, kind)

    def stored(made):
        return [(r.key, r.person_account_id, r.values, r.amount, r.source_row) for r in made]

    assert (stored(fast[0]), fast[1]) == (stored(slow[0]), slow[1])
    assert (len(fast[0]), bool(fast[1])) == ((30, False) if spoiled in (None, "passport")
                                             else (29, True))
