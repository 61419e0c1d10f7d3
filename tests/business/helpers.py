"""Shared steps for business tests: filling the hall's own .xlsx templates."""

from __future__ import annotations

import io

from openpyxl import load_workbook


def fill_template(content: bytes, rows: list[dict[str, str]]) -> bytes:
    """Write rows (by Chinese header) under the header row of the downloaded template."""
    book = load_workbook(io.BytesIO(content))
    sheet = book.worksheets[0]
    headers = {cell.value: cell.column for cell in sheet[1]}
    for offset, row in enumerate(rows, start=2):
        for header, value in row.items():
            sheet.cell(row=offset, column=headers[header], value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
