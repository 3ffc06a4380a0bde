"""Excel files out: Chinese headers, dates as real dates (Beijing time), and no formula injection.

A cell whose text begins with =, +, -, @ (or a tab/carriage return) would be run as a formula by Excel or
LibreOffice; such text gets a leading apostrophe, so it shows as typed and is never evaluated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from starlette.responses import Response

BEIJING = ZoneInfo("Asia/Shanghai")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"
DECIMAL_FORMAT = "0.0"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Formatted:
    """A number written with its display format (a cell value for ``workbook_bytes``)."""

    value: float | int | None
    number_format: str


def percent(value: float | int | None) -> Formatted:
    """A rate given in percent (99.6) as Excel's own percent: the fraction 0.996, shown as 99.6%."""
    return Formatted(None if value is None else round(value / 100.0, 12), PERCENT_FORMAT)  # no 0.9960000000000001


def xlsx_response(content: bytes, filename: str) -> Response:
    """The workbook as a download named ``filename`` (Chinese names kept: RFC 5987 ``filename*``)."""
    disposition = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
    return Response(content, media_type=XLSX_MEDIA_TYPE, headers=disposition)


def neutralise(value: str) -> str:
    """Text that a spreadsheet would read as a formula, made inert by a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell_value(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, dt.datetime):
        # Excel has no time zones: write the Beijing wall-clock time the users read everywhere else.
        return value.astimezone(BEIJING).replace(tzinfo=None) if value.tzinfo else value
    return value


def workbook_bytes(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, note: str = "") -> bytes:
    """One sheet, bold header row, dates formatted; streamed (write-only) so large lists stay cheap."""
    book = Workbook(write_only=True)
    sheet: WriteOnlyWorksheet = book.create_sheet(title=title[:31])
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
    if note:
        sheet.append([])
        sheet.append([neutralise(note)])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if isinstance(value, Formatted):
        formatted = WriteOnlyCell(sheet, value=value.value)
        formatted.number_format = value.number_format
        return formatted
    converted = cell_value(value)
    if isinstance(converted, dt.datetime):
        cell = WriteOnlyCell(sheet, value=converted)
        cell.number_format = DATETIME_FORMAT
        return cell
    return converted
