"""The .xlsx templates a street office fills in: Chinese headers (each with a note as a comment), one example row,
drop-down lists for coded columns, and text format where Excel would otherwise turn a long number into 1.1E+17 (ID
numbers, credit codes, grid codes). A list too long for Excel's 255-character inline limit (the 20 industries,
the facility classes) goes on a hidden "选项" sheet and the drop-down points there."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

ROWS = 2000  # how far down the formats and drop-downs reach
_INLINE_LIMIT = 250


@dataclass(frozen=True)
class Column:
    header: str
    note: str
    example: str
    choices: tuple[str, ...] = ()
    required: bool = False
    text: bool = False  # keep digits as text (ID numbers, codes)


def template(title: str, columns: Sequence[Column]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    sheet.append([column.header for column in columns])
    sheet.append([column.example for column in columns])
    sheet.freeze_panes = "A2"
    options = None
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, min(40, len(column.example) * 2 + 4))
        note = f"必填。{column.note}" if column.required and "必填" not in column.note else column.note
        if note:
            sheet.cell(row=1, column=index).comment = Comment(note, "civicgrid")
        if column.text:
            for row in range(2, ROWS + 1):
                sheet.cell(row=row, column=index).number_format = "@"
        if column.choices:
            inline = '"' + ",".join(column.choices) + '"'
            if len(inline) > _INLINE_LIMIT:
                options = options or _options_sheet(workbook)
                inline = _listed(options, index, column)
            validation = DataValidation(type="list", formula1=inline, allow_blank=True)
            validation.error = "请从下拉列表中选择：" + _shown(column.choices)
            validation.showErrorMessage = True
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{ROWS}")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _shown(choices: Sequence[str], limit: int = 12) -> str:
    return "、".join(choices[:limit]) + ("…" if len(choices) > limit else "")


def _options_sheet(workbook: Workbook) -> Worksheet:
    options = workbook.create_sheet("选项")
    options.sheet_state = "hidden"
    return options


def _listed(options: Worksheet, index: int, column: Column) -> str:
    """The choices in column ``index`` of the hidden sheet; the range for the drop-down."""
    letter = get_column_letter(index)
    options.cell(row=1, column=index, value=column.header)
    for row, choice in enumerate(column.choices, start=2):
        options.cell(row=row, column=index, value=choice)
    return f"选项!${letter}$2:${letter}${len(column.choices) + 1}"
