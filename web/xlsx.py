"""Generated .xlsx files: query exports, and sending them."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from urllib.parse import quote

from flask import send_file
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: What Excel would run as a formula if a text cell began with it.
FORMULA_STARTS = ("=", "+", "-", "@")


def xlsx_response(content: bytes, filename: str):
    response = send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True,
                         download_name=filename)
    # An ASCII fallback name for old clients, the Chinese one (RFC 5987) for the rest.
    response.headers["Content-Disposition"] = (f"attachment; filename=export.xlsx; "
                                               f"filename*=UTF-8''{quote(filename)}")
    return response


def table_xlsx(title: str, columns: list[tuple[str, str, int]], rows: list[dict],
               progress: Callable[[int], None] | None = None) -> bytes:
    """One sheet: a bold header row of Chinese labels, then the rows. `columns` holds
    (key, label, width); amounts (Decimal) go in as numbers shown to the 分 (#,##0.00), so
    sums in Excel are right; everything else as text, so account numbers keep their digits.
    `progress(rows written)` is told every 1,000 rows (a background export's progress bar)."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([label for _, label, _ in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, (_, _, width) in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
    for count, row in enumerate(rows, start=1):
        if progress is not None and count % 1000 == 0:
            progress(count)
        sheet.append([_cell(row.get(key)) for key, _, _ in columns])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
            elif isinstance(cell.value, str) and cell.value[:1] in FORMULA_STARTS:
                cell.data_type = "s"  # text that looks like a formula stays text
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value):
    if isinstance(value, Decimal) or value is None:
        return value
    return str(value)


def declared_rows(content: bytes) -> int:
    """How many rows an uploaded workbook's largest sheet declares, read from the sheet's
    dimension without unpacking its rows (to decide whether an import runs in the
    background). 0 when the file cannot be read: the import itself then says why."""
    try:
        book = load_workbook(io.BytesIO(content), read_only=True)
        try:
            return max((sheet.max_row or 0 for sheet in book.worksheets), default=0)
        finally:
            book.close()
    except Exception:
        return 0
