"""Reading the tables people bring: what is refused, with a reason a person can act on."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from civicgrid.errors import InvalidInputError
from civicgrid.tables import read_table


def _refusal(path: Path, **options: str) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as refused:
        read_table(path, **options)
    return refused.value


def test_an_old_excel_file_a_broken_workbook_and_an_empty_file_are_refused_by_name(tmp_path: Path) -> None:
    old = tmp_path / "2019工单.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)  # the OLE2 header of a .xls
    refused = _refusal(old)
    assert refused.code == "unsupported_format"
    assert "另存为 .xlsx" in refused.message and "2019工单.xls" in refused.message
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert _refusal(broken).code == "invalid_xlsx"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert _refusal(empty).code == "empty_file"
    torn = tmp_path / "torn.csv"
    torn.write_text('编号,内容\n1,"没有结束的引号\n', encoding="utf-8")
    assert _refusal(torn).code == "invalid_csv"


def test_a_file_that_is_no_workbook_is_refused_in_chinese_with_the_reader_s_words_kept_aside(tmp_path: Path) -> None:
    """A Word document renamed or chosen by mistake: the reader says "Cannot detect file format"."""
    document = tmp_path / "通知.docx"
    with zipfile.ZipFile(document, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    refused = _refusal(document)
    assert refused.code == "invalid_xlsx"
    assert "通知.docx" in refused.message and "另存为 .xlsx" in refused.message
    assert "Cannot" not in refused.message and "format" not in refused.message
    assert refused.detail["reason"]  # the reader's own text, for whoever looks into it
    torn = tmp_path / "torn.csv"
    torn.write_text('编号,内容\n1,"没有结束的引号\n', encoding="utf-8")
    message = _refusal(torn).message
    assert "引号不成对" in message and "unexpected" not in message


def test_a_sheet_that_is_not_there_names_the_sheets_that_are(tmp_path: Path) -> None:
    book = Workbook()
    book.active.title = "一月"
    book.active.append(["编号"])
    path = tmp_path / "工单.xlsx"
    book.save(path)
    refused = _refusal(path, sheet="二月")
    assert refused.code == "missing_sheet" and "一月" in refused.message
    book.create_sheet("空表")
    book.save(path)
    assert _refusal(path, sheet="空表").code == "empty_file"
