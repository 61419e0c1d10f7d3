"""Sending generated .xlsx files (written by services.spreadsheets, formula-safe)."""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import send_file

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(content: bytes, filename: str):
    response = send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True,
                         download_name=filename)
    # An ASCII fallback name for old clients, the Chinese one (RFC 5987) for the rest.
    response.headers["Content-Disposition"] = (f"attachment; filename=export.xlsx; "
                                               f"filename*=UTF-8''{quote(filename)}")
    return response
