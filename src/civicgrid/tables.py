"""Reading the tables people bring: a CSV or ``.xlsx`` file as a header and its numbered data rows.

CSV in UTF-8, UTF-8 with BOM or GB18030 (``importing.decode_text``), quoted multi-line cells allowed; ``.xlsx``
through python-calamine (a Rust reader: 100,000 rows in about a second, where openpyxl takes twenty), the first
sheet unless one is named. Excel files often claim a huge used
range: reading stops at the first run of ``EMPTY_ROWS_END`` fully empty rows, and columns right of the last header
cell are ignored. Fully empty rows are skipped everywhere; row numbers are the ones a spreadsheet shows (header =
row 1), so a report can point at them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook

from civicgrid.errors import InvalidInputError
from civicgrid.importing import decode_text

EMPTY_ROWS_END = 50  # this many fully empty rows in a row end an .xlsx sheet (bogus used ranges)

Cell = str | int | float | bool | dt.datetime | dt.date | dt.time | None


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: list[tuple[int, tuple[Cell, ...]]]  # (spreadsheet row number, cells); fully empty rows left out


def read_table(path: Path, *, sheet: str | None = None) -> Table:
    """The header and the non-empty data rows of a CSV or .xlsx file."""
    return read_table_bytes(path, path.read_bytes(), sheet=sheet)


def read_table_bytes(path: Path, raw: bytes, *, sheet: str | None = None) -> Table:
    """As ``read_table``, for bytes already read (``path`` gives the name and the suffix)."""
    suffix = path.suffix.lower()
    if raw.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, raw, sheet)
    if suffix == ".xls" or raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidInputError(
            f"不支持旧版 Excel 文件（.xls）：{path.name}。请在 Excel/WPS 中另存为 .xlsx 或 CSV 后再导入",
            code="unsupported_format",
        )
    return _read_csv(path, decode_text(raw, path.name))


def blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _read_csv(path: Path, text: str) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # a torn quote is an error, not a cell
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidInputError(f"文件为空或没有表头：{path.name}", code="empty_file")
        rows: list[tuple[int, tuple[Cell, ...]]] = []
        for number, record in enumerate(reader, start=2):
            cells = tuple(record)
            if any(cell.strip() for cell in cells):
                rows.append((number, cells))
    except csv.Error as error:
        raise InvalidInputError(
            f"CSV 文件格式错误（约第{reader.line_num}行）：引号不成对或含有无法识别的字符，"
            "请在 Excel/WPS 中重新另存为 CSV 后再导入",
            code="invalid_csv",
            detail={"line": reader.line_num, "reason": str(error)},
        ) from error
    return Table(_header(header), rows)


def _read_xlsx(path: Path, raw: bytes, sheet: str | None) -> Table:
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(raw))
    except CalamineError as error:
        raise _unreadable(path, error) from error
    if sheet is not None and sheet not in workbook.sheet_names:
        raise InvalidInputError(
            f"Excel 文件中没有工作表“{sheet}”；现有工作表：{'、'.join(workbook.sheet_names)}",
            code="missing_sheet",
        )
    try:
        worksheet = workbook.get_sheet_by_name(sheet) if sheet is not None else workbook.get_sheet_by_index(0)
        values = worksheet.to_python(skip_empty_area=False)
    except CalamineError as error:
        raise _unreadable(path, error) from error
    header_cells = [_cell(value) for value in (values[0] if values else [])]
    while header_cells and blank(header_cells[-1]):
        header_cells.pop()
    if not header_cells:
        raise InvalidInputError(f"工作表为空或没有表头：{path.name}", code="empty_file")
    rows = _xlsx_rows(values[1:], len(header_cells))
    return Table(_header(["" if cell is None else str(cell) for cell in header_cells]), rows)


def _unreadable(path: Path, error: Exception) -> InvalidInputError:
    """The reader's own words (English) stay in the detail, for whoever looks into it; people read Chinese."""
    return InvalidInputError(
        f"无法读取 Excel 文件：{path.name} 不是有效的 .xlsx 工作簿（可能已损坏，或是其他类型的文件）。"
        "请在 Excel/WPS 中另存为 .xlsx 或 CSV 后再导入",
        code="invalid_xlsx",
        detail={"reason": str(error)},
    )


def _xlsx_rows(values: Sequence[Sequence[object]], width: int) -> list[tuple[int, tuple[Cell, ...]]]:
    rows: list[tuple[int, tuple[Cell, ...]]] = []
    empty_run = 0
    for number, row in enumerate(values, start=2):
        cells = tuple(_cell(value) for value in row[:width]) + (None,) * (width - len(row))
        if all(blank(cell) for cell in cells):
            empty_run += 1
            if empty_run >= EMPTY_ROWS_END:
                break
            continue
        empty_run = 0
        rows.append((number, cells))
    return rows


def _cell(value: object) -> Cell:
    """A cell as the importers expect it: empty as None, a whole number as an int (as Excel shows it)."""
    if value == "" or value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dt.timedelta):
        return str(value)
    return value  # type: ignore[return-value]


def _header(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", name).strip() for name in names)
