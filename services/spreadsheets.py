"""Spreadsheets in and out: reading what units upload (.xlsx, .xls, .ods) and writing what
the hall hands out (templates, exports) so that no cell can become a live formula.

Reading uses calamine (Rust, python-calamine), about eight times faster than openpyxl.
calamine builds a dense grid as wide and tall as the farthest cell, and a failed
allocation aborts the whole process: one cell at XFD1048576 would take the server down.
So an .xlsx is checked first (its cell references, cheaply, before anything is inflated
into a grid), and the older formats, whose extents are harder to see from outside, are
read in a child process with a memory cap. Writing uses openpyxl.
"""

from __future__ import annotations

import io
import json
import re
import resource
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from .errors import InvalidInput

#: Rows and columns a sheet may reach at all (blank ones included), and how big a zip
#: may unpack: a 100,000-row 清册 unpacks to about 20 MB, compressing about 10:1.
MAX_ROWS = 110_000
MAX_COLUMNS = 100
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
#: What Excel would run as a formula if a text cell began with it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHILD_MEMORY = 1024 * 1024 * 1024
CHILD_SECONDS = 60

_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: What makes an .xlsx sheet's XML worth walking element by element (see
#: `_check_extents`): a cell or row opened without its reference first, or with one past
#: column CV (100) or row 109999, or an element with a namespace prefix. One C-speed scan.
_NEAR_ROW = rb'(?:[1-9][0-9]{0,4}|10[0-9]{4})'
_NEAR_COLUMN = rb'(?:[A-Z]|[AB][A-Z]|C[A-V])'
_SUSPECT = re.compile(rb'<(?:c(?! r="' + _NEAR_COLUMN + _NEAR_ROW + rb'")[\s>/]'
                      rb'|row(?! r="' + _NEAR_ROW + rb'")[\s>/]'
                      rb'|[A-Za-z_][\w.-]*:(?:c|row)[\s>/])')
_ROW_OPEN = re.compile(rb"<row[\s>/]")

Cell = str | int | float | bool | date | datetime | time | timedelta | None


class Unreadable(InvalidInput):
    """The upload is not a spreadsheet the hall can read, or it is dangerous to read."""

    def __init__(self, message: str, short: str):
        super().__init__(message, {"file": [short]})


@dataclass
class Sheet:
    """A sheet's rows as lists of cell values (blank cells are "" or None), row 1 first."""

    rows: list[list[Cell]]


def read_sheet(content: bytes, sheet_name: str | None = None) -> Sheet:
    """The named sheet (else the first) of an .xlsx, .xls or .ods file."""
    if content.startswith(_ZIP):
        names = _zip_names(content)
        if "content.xml" in names and "xl/workbook.xml" not in names:
            return _read_in_child(content, sheet_name)
        if not any(n.startswith("xl/worksheets/") for n in names):
            raise Unreadable("无法读取上传的文件：不是 Excel 或 ODS 表格文件", "文件不是有效的表格文件")
        _check_extents(content, names)
        return Sheet(_calamine_rows(content, sheet_name))
    if content.startswith(_OLE):
        return _read_in_child(content, sheet_name)
    raise Unreadable("无法读取上传的文件：请上传 Excel（.xlsx、.xls）或 ODS 表格文件；"
                     ".csv 等文本文件请先在 Excel 中另存为 .xlsx", "文件不是有效的表格文件")


def declared_rows(content: bytes) -> int:
    """About how many rows an uploaded .xlsx holds, counted from its sheets' row elements
    without reading a cell (to decide whether an import runs in the background); 0 for
    other formats or an unreadable file (the import itself then reads or refuses it)."""
    if not content.startswith(_ZIP):
        return 0
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            sheets = [i for i in archive.infolist() if i.filename.startswith("xl/worksheets/")
                      and i.filename.endswith(".xml")]
            if sum(i.file_size for i in sheets) > MAX_UNPACKED_BYTES:
                return 0
            return max((len(_ROW_OPEN.findall(archive.read(i))) for i in sheets), default=0)
    except (zipfile.BadZipFile, ValueError, OSError):
        return 0


def _zip_names(content: bytes) -> list[str]:
    """The archive's members, refusing a zip that would unpack far bigger than a real 清册
    (a zip bomb) before anything inflates it."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Unreadable("无法读取上传的文件：文件已损坏或不是表格文件",
                         "文件不是有效的表格文件") from None
    unpacked = sum(info.file_size for info in infos)
    ratio = max((info.file_size / max(info.compress_size, 1) for info in infos), default=0)
    if unpacked > MAX_UNPACKED_BYTES or ratio > MAX_COMPRESSION_RATIO:
        raise Unreadable("文件解压后过大，请使用本系统下载的模板、只填写需要导入的行", "文件解压后过大")
    return [info.filename for info in infos]


def _check_extents(content: bytes, names: list[str]) -> None:
    """Refuse a sheet reaching past MAX_ROWS or MAX_COLUMNS. Files as Excel, LibreOffice
    and openpyxl write them (every cell and row with its reference first, no namespace
    prefixes) are judged by one C-speed scan; anything else is walked element by element,
    placing cells as calamine will."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in names:
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            xml = archive.read(name)
            if not _SUSPECT.search(xml):
                continue
            rows, columns = _walk_extents(xml)
            if rows > MAX_ROWS:
                raise Unreadable(f"文件行数过多（上限 {MAX_ROWS} 行，含空行）", "行数过多")
            if columns > MAX_COLUMNS:
                raise Unreadable(f"文件列数过多（上限 {MAX_COLUMNS} 列），请使用本系统下载的模板",
                                 "列数过多")


def _walk_extents(xml: bytes) -> tuple[int, int]:
    """The last row and column a sheet's cells reach, as a reader places them: a row or
    cell without a reference follows the one before it."""
    from lxml import etree

    last_row = last_column = row = 0
    try:
        for _, element in etree.iterparse(io.BytesIO(xml), events=("start",),
                                          resolve_entities=False, no_network=True,
                                          huge_tree=False):
            local = etree.QName(element).localname
            if local == "row":
                reference = element.get("r")
                row = int(reference) if reference and reference.isdigit() else row + 1
                column = 0
                last_row = max(last_row, row)
            elif local == "c":
                match = re.fullmatch(r"([A-Z]{1,7})([0-9]{1,9})", element.get("r") or "")
                column = _column_number(match.group(1).encode()) if match else column + 1
                last_column = max(last_column, column)
                if match:
                    last_row = max(last_row, int(match.group(2)))
            if last_row > MAX_ROWS or last_column > MAX_COLUMNS:
                break
    except (etree.XMLSyntaxError, ValueError):
        raise Unreadable("无法读取上传的文件：文件内容有误或已损坏", "文件内容有误") from None
    return last_row, last_column


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _calamine_rows(content: bytes, sheet_name: str | None) -> list[list[Cell]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        names = book.sheet_names
        sheet = book.get_sheet_by_name(sheet_name) if sheet_name in names \
            else book.get_sheet_by_index(0)
        if sheet.height > MAX_ROWS or sheet.width > MAX_COLUMNS:
            raise Unreadable(f"文件行数或列数过多（上限 {MAX_ROWS} 行、{MAX_COLUMNS} 列）", "行数过多")
        rows = sheet.to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError, IndexError, KeyError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise Unreadable("无法读取上传的文件：文件内容有误或已损坏，请用 Excel 打开检查后另存为 .xlsx",
                         "文件内容有误") from None
    return rows  # a blank cell is "" (read as blank; not rewritten as None cell by cell)


def _read_in_child(content: bytes, sheet_name: str | None) -> Sheet:
    """.xls and .ods, read by calamine in a child process capped in memory and time, so a
    crafted file can only fail its own read."""
    try:
        done = subprocess.run([sys.executable, "-m", "services.spreadsheets", sheet_name or ""],
                              input=content, capture_output=True, timeout=CHILD_SECONDS,
                              preexec_fn=_limit_child, check=False)
    except subprocess.TimeoutExpired:
        raise Unreadable("文件读取超时，请另存为 .xlsx 后重新上传", "文件读取超时") from None
    if done.returncode != 0:
        raise Unreadable("无法读取上传的文件：文件内容有误、过大或已损坏，请另存为 .xlsx 后重新上传",
                         "文件内容有误")
    answer = json.loads(done.stdout)
    if "error" in answer:
        raise Unreadable(answer["error"], answer["short"])
    return Sheet([[_from_json(v) for v in row] for row in answer["rows"]])


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def _to_json(value: Cell):
    if isinstance(value, datetime | date | time):
        return {"t": type(value).__name__, "v": value.isoformat()}
    if isinstance(value, timedelta):
        return {"t": "timedelta", "v": value.total_seconds()}
    if isinstance(value, float) and value != value:
        return {"t": "nan", "v": None}
    return value


def _from_json(value):
    if not isinstance(value, dict):
        return value
    kind, raw = value["t"], value["v"]
    if kind == "timedelta":
        return timedelta(seconds=raw)
    if kind == "nan":
        return float("nan")
    return {"datetime": datetime, "date": date, "time": time}[kind].fromisoformat(raw)


def _child_main() -> None:
    try:
        rows = _calamine_rows(sys.stdin.buffer.read(), sys.argv[1] or None)
        answer = {"rows": [[_to_json(v) for v in row] for row in rows]}
    except InvalidInput as exc:
        answer = {"error": exc.message, "short": exc.errors["file"][0]}
    sys.stdout.write(json.dumps(answer, allow_nan=True))


# -- writing ------------------------------------------------------------------------------


def safe_cell(cell, value) -> None:
    """Put `value` in an openpyxl cell so that text stays text: a name beginning with = or
    + is shown as typed, never run as a formula."""
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        cell.data_type = "s"


def table_xlsx(title: str, columns: list[tuple[str, str, int]], rows: list[dict],
               progress=None) -> bytes:
    """One sheet: a bold header row of Chinese labels, then the rows. `columns` holds
    (key, label, width); amounts (Decimal) go in as numbers shown to the 分 (#,##0.00), so
    sums in Excel are right; everything else as text, so account numbers keep their digits.
    `progress(rows written)` hears every 1,000 rows (a background export's progress bar)."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for index, (_, label, width) in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=label)
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = width
    for row_number, row in enumerate(rows, start=2):
        if progress is not None and row_number % 1000 == 1:
            progress(row_number - 1)
        for index, (key, _, _) in enumerate(columns, start=1):
            value = row.get(key)
            cell = sheet.cell(row=row_number, column=index)
            if isinstance(value, Decimal):
                cell.value = value
                cell.number_format = "#,##0.00"
            else:
                safe_cell(cell, None if value is None else str(value))
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


if __name__ == "__main__":
    _child_main()
