"""The 清册 component every business reuses: columns, single entry, the .xlsx template
the hall generates (with dropdowns for code lists) and batch import.

A business describes its columns and one `check_row`; this module does the rest. An import
with any bad row stores nothing and answers every bad row as (row, column, message).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from services.errors import InvalidInput
from services.models import PersonAccount
from services.months import YearMonth
from services.policy import Policy

MAX_IMPORT_ROWS = 50_000
#: Rows a sheet may have at all (blank ones included), and how big the .xlsx may unpack:
#: a 50,000-row 清册 unpacks to about 10 MB, compressing about 10:1.
MAX_SHEET_ROWS = MAX_IMPORT_ROWS + 10_000
MAX_HEADER_COLUMNS = 100
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
INFO_FILL = PatternFill("solid", fgColor="EDEDED")


@dataclass(frozen=True)
class Column:
    """One manifest column. `info` columns are shown back (name, current base), not typed."""

    name: str
    header: str
    kind: str = "text"  # text | money | month | rate | info
    required: bool = False
    codes: Callable[[ManifestContext], list[tuple[str, str]]] | None = None
    width: int = 18
    note: str = ""
    #: Read only to cross-check the row (e.g. 姓名 against 个人账号); a row whose other
    #: inputs are all blank is skipped even if this is filled (prefilled templates).
    cross_check: bool = False

    @property
    def is_input(self) -> bool:
        return self.kind != "info"

    @property
    def carries_change(self) -> bool:
        return self.is_input and not self.cross_check


@dataclass(frozen=True)
class ChangeType:
    key: str
    label: str
    columns: tuple[str, ...]


@dataclass
class ManifestContext:
    """What row checks need to know about the unit, fetched once per import."""

    unit_id: int
    unit_rate: Decimal
    policy: Policy
    due_month: YearMonth
    current_month: YearMonth
    existing_person_ids: set[int]
    lookup: Callable[[list[str]], dict[str, PersonAccount]]
    persons: dict[str, PersonAccount] = field(default_factory=dict)
    prefill: Callable[[], list[PersonAccount]] | None = None


class RowError(Exception):
    """Problems of one row, as {column name: message}."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(problems)
        self.problems = problems


@dataclass
class CheckedRow:
    person_account_id: int | None
    values: dict
    amount: Decimal


class ManifestSpec:
    """Subclass per business: set the class attributes and implement `check_row`."""

    business: str
    title: str
    columns: tuple[Column, ...]
    change_types: tuple[ChangeType, ...]
    #: The 清册 table as shown: (stored field, header, kind: text | money | rate).
    display: tuple[tuple[str, str, str], ...]
    key_column = "person_account"

    def entry_fields(self, ctx: ManifestContext) -> list[dict]:
        """The single-entry inputs besides the person picker, with the change types using
        each and the dropdown options of code-list columns."""
        fields = []
        for column in self.columns:
            if column.name == self.key_column or not column.carries_change:
                continue
            fields.append({"name": column.name, "label": column.header, "kind": column.kind,
                           "required": column.required, "note": column.note,
                           "options": column.codes(ctx) if column.codes else [],
                           "change_types": [c.key for c in self.change_types
                                            if column.name in c.columns]})
        return fields

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def change_type(self, key: str | None) -> ChangeType:
        for change_type in self.change_types:
            if change_type.key == (key or self.change_types[0].key):
                return change_type
        raise InvalidInput("变更类别无效", {"change_type": [
            "须为以下之一：" + "、".join(f"{c.key}（{c.label}）" for c in self.change_types)]})

    def check_row(self, ctx: ManifestContext, values: dict, change_type: ChangeType
                  ) -> CheckedRow:
        raise NotImplementedError

    # -- single entry and batch validation ------------------------------------------------

    def check_one(self, ctx: ManifestContext, values: dict, change_type: ChangeType
                  ) -> CheckedRow:
        """Single entry (录入清册): errors come back by field name."""
        ctx.persons = ctx.lookup([str(values.get(self.key_column) or "").strip()])
        try:
            row = self.check_row(ctx, values, change_type)
            if row.person_account_id in ctx.existing_person_ids:
                raise RowError({self.key_column: "该缴存人已在清册中，如需修改请先删除原记录"})
        except RowError as exc:
            raise InvalidInput("录入的数据有误：" + "；".join(
                f"{self.column(k).header}：{m}" for k, m in exc.problems.items()),
                {k: [m] for k, m in exc.problems.items()}) from None
        return row

    def check_many(self, ctx: ManifestContext, rows: list[tuple[int, dict]],
                   change_type: ChangeType) -> list[CheckedRow]:
        """Batch: every bad row is reported; any error means nothing is returned."""
        ctx.persons = ctx.lookup([str(v.get(self.key_column) or "").strip() for _, v in rows])
        errors: list[dict] = []
        checked: list[CheckedRow] = []
        seen: dict[int, int] = {}
        for row_no, values in rows:
            try:
                row = self.check_row(ctx, values, change_type)
                if row.person_account_id in ctx.existing_person_ids:
                    raise RowError({self.key_column: "该缴存人已在清册中"})
                if row.person_account_id in seen:
                    raise RowError({self.key_column:
                                    f"与第 {seen[row.person_account_id]} 行重复"})
                seen[row.person_account_id] = row_no
                checked.append(row)
            except RowError as exc:
                errors.extend({"row": row_no, "column": self.column(name).header, "message": msg}
                              for name, msg in exc.problems.items())
        if errors:
            raise InvalidInput(f"导入文件有 {len({e['row'] for e in errors})} 行数据有误，"
                               f"未导入任何数据，请修改后重新上传", errors)
        return checked

    # -- the .xlsx template ---------------------------------------------------------------

    def template(self, ctx: ManifestContext, change_type: ChangeType, prefill: bool = False
                 ) -> bytes:
        book = Workbook()
        sheet = book.active
        sheet.title = self.title
        codes = book.create_sheet("代码表")
        columns = [self.column(name) for name in change_type.columns]
        for index, column in enumerate(columns, start=1):
            cell = sheet.cell(row=1, column=index, value=column.header)
            cell.font = Font(bold=True, color="C00000" if column.required else "000000")
            cell.fill = HEADER_FILL if column.is_input else INFO_FILL
            cell.alignment = Alignment(horizontal="center")
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = column.width
            for row in range(2, 1002):
                sheet.cell(row=row, column=index).number_format = "@"
            if column.codes:
                values = column.codes(ctx)
                codes.cell(row=1, column=index, value=column.header)
                for offset, (value, _label) in enumerate(values, start=2):
                    codes.cell(row=offset, column=index, value=value)
                rule = DataValidation(type="list", allow_blank=not column.required,
                                      formula1=f"代码表!${letter}$2:${letter}${len(values) + 1}",
                                      showErrorMessage=True, errorTitle="输入有误",
                                      error=f"{column.header}请从下拉列表中选择")
                rule.add(f"{letter}2:{letter}1001")
                sheet.add_data_validation(rule)
        codes.sheet_state = "hidden"
        if prefill and ctx.prefill:
            for row, account in enumerate(ctx.prefill(), start=2):
                for index, column in enumerate(columns, start=1):
                    value = self.prefill_value(column, account)
                    if value is not None:
                        sheet.cell(row=row, column=index, value=value)
        sheet.freeze_panes = "A2"
        notes = book.create_sheet("填写说明")
        notes.column_dimensions["A"].width = 90
        for row, text in enumerate(self.instructions(ctx, change_type, columns), start=1):
            notes.cell(row=row, column=1, value=text)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    def prefill_value(self, column: Column, account: PersonAccount) -> object:
        return None

    def instructions(self, ctx: ManifestContext, change_type: ChangeType,
                     columns: list[Column]) -> list[str]:
        lines = [f"{self.title}导入模板（{change_type.label}）", "",
                 "1. 第一行为表头，请勿修改；从第二行起每行填写一名职工。",
                 "2. 红色表头为必填项；灰色列仅供核对，导入时不读取。",
                 "3. 带下拉框的列请从下拉列表中选择。",
                 "4. 未填写任何调整内容的行会被跳过；任一行有误时整个文件都不会导入。"]
        lines += [f"· {c.header}：{c.note}" for c in columns if c.note]
        return lines

    # -- reading an uploaded file ---------------------------------------------------------

    def read_xlsx(self, content: bytes, change_type: ChangeType) -> tuple[list[tuple[int, dict]],
                                                                          int]:
        """Rows as (Excel row number, {column name: text}); blank rows skipped and counted."""
        _check_unpacked_size(content)
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:
            raise InvalidInput("无法读取上传的文件，请使用本系统下载的 .xlsx 模板",
                               {"file": ["文件不是有效的 .xlsx 文件"]}) from None
        sheet = book[self.title] if self.title in book.sheetnames else book.worksheets[0]
        # Rows are read only as wide as the template's columns reach: a sheet that declares
        # column XFD would otherwise have every row padded out to 16,384 cells.
        header = [str(v).strip() if v is not None else "" for v in
                  next(sheet.iter_rows(max_row=1, max_col=MAX_HEADER_COLUMNS, values_only=True),
                       ())]
        by_header = {c.header: c for c in self.columns}
        positions: dict[str, int] = {}
        for index, text in enumerate(header):
            if text in by_header:
                positions[by_header[text].name] = index
        foreign = [c.header for c in self.columns if c.carries_change and c.name in positions
                   and c.name not in change_type.columns]
        if foreign:
            raise InvalidInput(
                f"文件含有「{'、'.join(foreign)}」列，与所选变更类别「{change_type.label}」不符。"
                f"请选择与模板一致的变更类别，或下载「{change_type.label}」的模板填写",
                {"file": [f"模板与所选变更类别「{change_type.label}」不符"]})
        missing = [self.column(n).header for n in change_type.columns
                   if self.column(n).required and n not in positions]
        if missing:
            raise InvalidInput(f"文件缺少必填列：{'、'.join(missing)}。请下载「{change_type.label}」"
                               f"的模板填写", {"file": [f"缺少列：{'、'.join(missing)}"]})
        rows = sheet.iter_rows(min_row=2, max_col=max(positions.values()) + 1, values_only=True)
        inputs = [n for n in change_type.columns if self.column(n).carries_change
                  and n in positions and n != self.key_column]
        result: list[tuple[int, dict]] = []
        skipped = 0
        for row_no, cells in enumerate(rows, start=2):
            if row_no > MAX_SHEET_ROWS:  # blank rows too: a sheet of a million empty rows
                raise InvalidInput(f"文件行数过多（上限 {MAX_SHEET_ROWS} 行）",
                                   {"file": ["行数过多"]})
            values = {name: _cell_text(cells[i] if i < len(cells) else None,
                                       self.column(name).kind)
                      for name, i in positions.items()}
            if not any(values.get(n) for n in [self.key_column, *inputs]):
                continue
            if not any(values.get(n) for n in inputs):
                skipped += 1
                continue
            result.append((row_no, values))
            if len(result) > MAX_IMPORT_ROWS:
                raise InvalidInput(f"单次导入不能超过 {MAX_IMPORT_ROWS} 行",
                                   {"file": ["行数过多"]})
        book.close()
        if not result:
            raise InvalidInput("文件中没有可导入的数据", {"file": ["没有数据行"]})
        return result, skipped


def _check_unpacked_size(content: bytes) -> None:
    """An .xlsx is a zip: refuse one that unpacks to far more than a real 清册 could (a zip
    bomb) before openpyxl inflates it, which it does wholesale for shared strings."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            sizes = [(info.file_size, info.compress_size) for info in archive.infolist()]
    except (zipfile.BadZipFile, ValueError):
        raise InvalidInput("无法读取上传的文件，请使用本系统下载的 .xlsx 模板",
                           {"file": ["文件不是有效的 .xlsx 文件"]}) from None
    unpacked = sum(size for size, _ in sizes)
    ratio = max((size / max(packed, 1) for size, packed in sizes), default=0)
    if unpacked > MAX_UNPACKED_BYTES or ratio > MAX_COMPRESSION_RATIO:
        raise InvalidInput("文件解压后过大，请使用本系统下载的模板、只填写需要导入的行",
                           {"file": ["文件解压后过大"]})


def _cell_text(value: object, kind: str) -> str:
    """Excel gives numbers as float and months as datetimes; read them back as text."""
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return str(YearMonth.of(value)) if kind == "month" else value.isoformat()
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") and kind != "rate" else text
    if isinstance(value, Decimal):
        return str(value)
    return str(value).strip()


def build_context(unit_id: int, instance_id: int | None, today: date | None = None
                  ) -> ManifestContext:
    """The unit's policy, months and current manifest, read once for a batch of rows."""
    from services import clock, manifest, persons
    from services.models.person import ACTIVE
    from services.units import get_unit

    unit = get_unit(unit_id)
    return ManifestContext(
        unit_id=unit_id,
        unit_rate=unit.account.unit_rate,
        policy=unit.policy,
        due_month=unit.account.due_month,
        current_month=YearMonth.of(today or clock.today()),
        existing_person_ids=manifest.person_ids(instance_id) if instance_id else set(),
        lookup=lambda numbers: persons.by_account_numbers(unit_id, numbers),
        prefill=lambda: persons.search(unit_id, status=ACTIVE, per_page=0)[0],
    )
