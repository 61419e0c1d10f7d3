"""A 清册 as a file: the .xlsx template the hall hands out (dropdowns for code lists, an
instructions sheet, optionally prefilled) and reading what units upload back: the hall's
template, or the same columns saved by Excel, WPS or LibreOffice as .xlsx, .xls or .ods.

Cells are read by their column's kind: an account number Excel stored as a number comes
back with all its digits; an ID number Excel already rounded (1.1E+17) is refused with its
row, never guessed at.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from operator import itemgetter

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from services.errors import InvalidInput
from services.months import YearMonth
from services.spreadsheets import MAX_COLUMNS, read_sheet, safe_cell
from services.text import half_width

from .manifest_spec import ChangeType, Column, Context, ManifestSpec

MAX_IMPORT_ROWS = 100_000
TEMPLATE_ROWS = 1000
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
INFO_FILL = PatternFill("solid", fgColor="EDEDED")
#: Digits a spreadsheet number keeps exactly (Excel shows 15 significant digits).
EXACT_DIGITS = 15


def template(spec: ManifestSpec, ctx: Context, change_type: ChangeType,
             prefill: bool = False) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = spec.title
    codes = book.create_sheet("代码表")
    columns = [spec.column(name) for name in change_type.columns]
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        cell.fill = HEADER_FILL if column.is_input else INFO_FILL
        cell.alignment = Alignment(horizontal="center")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        for row in range(2, TEMPLATE_ROWS + 2):
            sheet.cell(row=row, column=index).number_format = "@"
        if column.codes:
            values = column.codes(ctx)
            codes.cell(row=1, column=index, value=column.header)
            for offset, (value, label) in enumerate(values, start=2):
                safe_cell(codes.cell(row=offset, column=index), _option(value, label))
            rule = DataValidation(type="list", allow_blank=not column.required,
                                  formula1=f"代码表!${letter}$2:${letter}${len(values) + 1}",
                                  showErrorMessage=True, errorTitle="输入有误",
                                  error=f"{column.header}请从下拉列表中选择")
            rule.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
            sheet.add_data_validation(rule)
    codes.sheet_state = "hidden"
    if prefill:
        for row, values in enumerate(spec.prefill(ctx), start=2):
            for index, column in enumerate(columns, start=1):
                if values.get(column.name) is not None:
                    safe_cell(sheet.cell(row=row, column=index), str(values[column.name]))
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("填写说明")
    notes.column_dimensions["A"].width = 90
    for row, text in enumerate(_instructions(spec, change_type, columns), start=1):
        safe_cell(notes.cell(row=row, column=1), text)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _option(value: str, label: str) -> str:
    """A dropdown entry: the code and its label (“01 离职/解除劳动关系”), or the value
    alone where the label says the same (“12%”)."""
    return value if value == label else f"{value} {label}"


def _instructions(spec: ManifestSpec, change_type: ChangeType, columns: list[Column]
                  ) -> list[str]:
    lines = [f"{spec.title}导入模板（{change_type.label}）", "",
             "1. 第一行为表头，请勿修改；从第二行起每行填写一条记录。",
             "2. 红色表头为必填项；灰色列仅供核对，导入时不读取。",
             "3. 带下拉框的列请从下拉列表中选择（也可只填写代码）。",
             "4. 证件号码、账号等请保持文本格式，勿让 Excel 转为科学计数法。",
             "5. 未填写任何内容的行会被跳过；任一行有误时整个文件都不会导入。",
             "6. 也可上传 Excel 97-2003（.xls）或 WPS、LibreOffice 保存的 .ods 文件。"]
    lines += list(spec.notes)
    lines += [f"· {c.header}：{c.note}" for c in columns if c.note]
    return lines


@dataclass
class FileRows:
    """A file's rows a column at a time: `numbers` their row numbers in the file, and each
    column read, by name, its texts in the same order. Iterating gives each row as (row
    number, {column name: text})."""

    numbers: list[int]
    columns: dict[str, list[str]]

    def __len__(self) -> int:
        return len(self.numbers)

    def __iter__(self) -> Iterator[tuple[int, dict]]:
        names = tuple(self.columns)
        rows = zip(*self.columns.values(), strict=True)
        for row_no, texts in zip(self.numbers, rows, strict=True):
            yield row_no, dict(zip(names, texts, strict=True))

    def column(self, name: str) -> list[str]:
        """A column's texts; blanks for a column the file does not have."""
        found = self.columns.get(name)
        return found if found is not None else [""] * len(self.numbers)


def read_rows(spec: ManifestSpec, content: bytes, change_type: ChangeType | None
              ) -> tuple[FileRows, int, list[dict], ChangeType]:
    """The rows (`FileRows`: row numbers, and each column's texts), how many were skipped
    for carrying no change, the problems found reading cells (row, column header,
    message), and the change type read: `change_type`, or when none is given the one the
    file's columns are of."""
    grid = read_sheet(content, spec.title).rows
    header = [_header_text(v) for v in (grid[0][:MAX_COLUMNS] if grid else [])]
    by_header = {c.header: c for c in spec.columns}
    positions: dict[str, int] = {}
    for index, text in enumerate(header):
        if text in by_header and by_header[text].is_input:
            positions.setdefault(by_header[text].name, index)
    if change_type is None:
        change_type = _of_columns(spec, positions)
    _check_header(spec, change_type, positions)
    key = spec.key_column
    inputs = [n for n in change_type.columns
              if spec.column(n).carries_change and n in positions and n != key]
    body = grid[1:]
    problems: list[dict] = []
    unreadable: set[int] = set()  # rows (0-based in `body`) holding a cell not trusted
    shortest = min(map(len, body), default=0)
    columns = []
    for name, index in positions.items():
        texts, bad = _column_texts(body, index, spec.column(name), shortest)
        columns.append(texts)
        problems += bad
        unreadable.update(problem["row"] - 2 for problem in bad)
    del grid, body  # the cells as read: freed before the rows are built
    names = tuple(positions)
    # Whether each row carries a change (a value in an input column besides the key).
    keyed = columns[names.index(key)]  # the key column is required (`_check_header`)
    changing = [columns[i] for i, name in enumerate(names) if name in inputs]
    carries = list(map(any, zip(*changing, strict=True))) if changing \
        else [False] * len(keyed)
    kept, skipped = list(range(len(keyed))), 0
    if not all(carries):
        kept = []
        for index, (change, key_text) in enumerate(zip(carries, keyed, strict=True)):
            if not change and index not in unreadable:
                if not key_text:
                    continue  # a blank row
                if spec.prefillable:
                    skipped += 1  # a prefilled row nobody filled in
                    continue
            kept.append(index)
        columns = [[texts[i] for i in kept] for texts in columns]
    if len(kept) > MAX_IMPORT_ROWS:
        raise InvalidInput(f"单次导入不能超过 {MAX_IMPORT_ROWS} 行", {"file": ["行数过多"]})
    if not kept:
        raise InvalidInput("文件中没有可导入的数据", {"file": ["没有数据行"]})
    result = FileRows([index + 2 for index in kept], dict(zip(names, columns, strict=True)))
    problems.sort(key=itemgetter("row"))  # by row, each row's in column order
    return result, skipped, problems, change_type


def _of_columns(spec: ManifestSpec, positions: dict[str, int]) -> ChangeType:
    """The change type a file's columns are of: the first whose required columns it has and
    none of the others' (else the first type, whose check then says what is missing)."""
    for change_type in spec.change_types:
        names = set(change_type.columns)
        required = {n for n in names if spec.column(n).required}
        foreign = {n for n in positions if spec.column(n).carries_change and n not in names}
        if required <= positions.keys() and not foreign:
            return change_type
    return spec.change_types[0]


def _column_texts(body: list[list], index: int, column: Column, shortest: int
                  ) -> tuple[list[str], list[dict]]:
    """One column of the rows as texts, and the problems of cells that cannot be trusted.
    A column of text cells, the usual file, is read at C speed: joined, its full-width
    forms made ASCII in one pass, split and stripped (an identifier upper-cased) exactly
    as `cell_text` reads each text cell; any other column is read cell by cell by it."""
    cells = list(map(itemgetter(index), body)) if index < shortest \
        else [row[index] if index < len(row) else None for row in body]
    try:
        joined = _SEPARATOR.join(cells)
    except TypeError:  # a number, a date or a blank read as None
        joined = None
    if joined is not None:
        if not joined.isascii():
            joined = half_width(joined)
        if column.kind == "id_number":
            joined = joined.upper()
        texts = joined.split(_SEPARATOR)
        if len(texts) == len(cells):  # else a cell held the separator itself
            return list(map(str.strip, texts)), []
    texts, problems = [], []
    for row_no, value in enumerate(cells, start=2):
        text, problem = cell_text(value, column.kind)
        texts.append(text)
        if problem:
            problems.append({"row": row_no, "column": column.header, "message": problem})
    return texts, problems


#: Joins a row's text cells for one pass over them (a control character no cell should
#: hold; a row where one does is read cell by cell).
_SEPARATOR = "\x1f"


def _header_text(value: object) -> str:
    return "" if value is None else half_width(str(value)).strip().rstrip("*").strip()


def _check_header(spec: ManifestSpec, change_type: ChangeType, positions: dict) -> None:
    foreign = [spec.column(n).header for n in positions
               if spec.column(n).carries_change and n not in change_type.columns]
    if foreign:
        raise InvalidInput(
            f"文件含有「{'、'.join(foreign)}」列，与所选变更类别「{change_type.label}」不符。"
            f"请选择与模板一致的变更类别，或下载「{change_type.label}」的模板填写",
            {"file": [f"模板与所选变更类别「{change_type.label}」不符"]})
    missing = [spec.column(n).header for n in change_type.columns
               if spec.column(n).required and n not in positions]
    if missing:
        raise InvalidInput(f"文件缺少必填列：{'、'.join(missing)}。请下载「{change_type.label}」"
                           f"的模板填写", {"file": [f"缺少列：{'、'.join(missing)}"]})


def cell_text(value: object, kind: str) -> tuple[str, str | None]:
    """A cell as the text its column's checks read, and a problem if the cell cannot be
    trusted (an identifier a spreadsheet stored as a rounded number)."""
    if value is None:
        return "", None
    if isinstance(value, str):
        text = half_width(value).strip()
        return (text.upper() if kind == "id_number" else text), None
    if isinstance(value, bool):
        return ("是" if value else "否"), None
    if isinstance(value, datetime | date):
        return (str(YearMonth.of(value)) if kind == "month" else value.strftime("%Y-%m-%d")), None
    if isinstance(value, time | timedelta):
        return str(value), None
    if isinstance(value, int):
        return str(value), None
    if isinstance(value, float):
        return _number_text(value, kind)
    return str(value).strip(), None


def _number_text(value: float, kind: str) -> tuple[str, str | None]:
    if not math.isfinite(value):
        return str(value), None  # NaN or inf: the column's check refuses it by name
    if kind in ("money", "rate"):
        return (str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)), None
    if value.is_integer() and abs(value) < 10 ** EXACT_DIGITS:
        return str(int(value)), None
    if kind in ("code", "id_number", "mobile"):
        return "", ("该单元格被表格软件保存为数字，长号码已丢失末尾数字（如显示为 1.1E+17）。"
                    "请把该列设置为“文本”格式后重新填写")
    return repr(value), None
