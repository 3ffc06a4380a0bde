"""The Word report as LibreOffice lays it out: converted to PDF once for the module (``soffice --headless``) and
read back with pdfplumber — the title on one line (or on its two title lines when it cannot be), no table cell of
a name, a number or a date wrapped (only a case's title may run over lines), and a sane page count. Skipped
without LibreOffice, required in CI (CI=true), like the PostgreSQL leg and chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pdfplumber
import pytest
from tests.conftest import in_ci
from tests.reports.samples import sample_dashboard

from civicgrid.reports.document import Document, Table
from civicgrid.reports.to_docx import to_docx
from civicgrid.reports.work_report import compose

DEPARTMENTS = (
    "海川街道城市管理办公室",
    "区住房和城乡建设局",
    "区城市管理局综合执法大队",
    "海川街道社会事务办公室",
    "区市场监督管理局",
    "区交通运输局",
)
TITLES = ("楼下垃圾堆积", "小区东门外人行道上堆放大量建筑垃圾，影响居民出行，请尽快清运", "路灯不亮")
LONG_SCOPE = "青岛市海川区海川街道泰和社区居民委员会"  # too long for a title on one line, even at 三号
SPACE = re.compile(r"\s+")


def office_or_skip() -> str:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office:
        return office
    if in_ci():
        pytest.fail("CI=true but LibreOffice (soffice) is missing: install Debian's libreoffice-writer-nogui")
    pytest.skip("LibreOffice not installed: the report's layout is not checked")


@dataclass(frozen=True)
class Rendered:
    document: Document
    pages: list[list[str]]  # each page's text lines, as laid out
    tables: list[list[list[str | None]]]  # every ruled table found, page by page, its cells as laid out


def read_pdf(document: Document, path: Path) -> Rendered:
    with pdfplumber.open(path) as pdf:
        pages = [[line["text"] for line in page.extract_text_lines()] for page in pdf.pages]
        tables = [found.extract() for page in pdf.pages for found in page.find_tables()]
    return Rendered(document, pages, tables)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    office = office_or_skip()
    directory = tmp_path_factory.mktemp("libreoffice")
    documents = {
        "street": compose(
            sample_dashboard(period="2025-Q3", departments=DEPARTMENTS, overdue_titles=TITLES), [], min_repeats=3
        ),
        "long": compose(sample_dashboard(period="2025-Q3", scope_name=LONG_SCOPE), [], min_repeats=3),
    }
    sources = []
    for name, document in documents.items():
        source = directory / f"{name}.docx"
        source.write_bytes(to_docx(document))
        sources.append(str(source))
    profile = (directory / "profile").as_uri()  # a profile of its own: no clash with a running LibreOffice
    command = [office, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf"]
    subprocess.run(
        [*command, "--outdir", str(directory), *sources],
        check=True,
        timeout=300,
        capture_output=True,
    )
    return {name: read_pdf(document, directory / f"{name}.pdf") for name, document in documents.items()}


def bare(text: str | None) -> str:
    """A text as laid out, without the spaces the PDF reader puts between Chinese and Latin runs."""
    return SPACE.sub("", text or "")


def test_the_title_stands_on_one_line(rendered: dict[str, Rendered]) -> None:
    street = rendered["street"]
    assert street.document.title == "海川街道2025年第三季度网格化服务管理工作总结"
    assert bare(street.pages[0][0]) == street.document.title


def test_a_title_too_long_for_one_line_breaks_where_it_reads_well(rendered: dict[str, Rendered]) -> None:
    long = rendered["long"]
    first, second = long.document.title_lines
    assert (
        [bare(line) for line in long.pages[0][:2]]
        == [first, second]
        == [f"{LONG_SCOPE}2025年第三季度", "网格化服务管理工作总结"]
    )


def test_the_page_count_is_sane(rendered: dict[str, Rendered]) -> None:
    # The two charts, four tables and the text: five to seven A4 pages; every page carries its number.
    pages = rendered["street"].pages
    assert 5 <= len(pages) <= 7, len(pages)
    assert [bare(page[-1]) for page in pages] == [f"—{number}—" for number in range(1, len(pages) + 1)]


def rows_laid_out(source: Table, tables: list[list[list[str | None]]]) -> list[list[str | None]]:
    """The data rows of ``source`` as laid out: every table whose header is its header (the header repeats on
    each page the table runs over), header left out."""
    found = []
    for table in tables:
        if table and [bare(cell) for cell in table[0]] == list(source.headers):
            found.extend(table[1:])
    return found


def test_no_table_cell_wraps_a_name_or_a_number(rendered: dict[str, Rendered]) -> None:
    street = rendered["street"]
    assert len(street.document.tables) == 4
    for source in street.document.tables:
        laid_out = rows_laid_out(source, street.tables)
        assert len(laid_out) == len(source.rows), source.caption
        for row, expected in zip(laid_out, source.rows, strict=True):
            for cell, text, column in zip(row, expected, source.columns, strict=True):
                assert bare(cell) == bare(text), (source.caption, text)
                if not column.wraps:
                    assert "\n" not in (cell or ""), f"{source.caption}: “{text}” wraps as {cell!r}"
    titles = [row[2] for row in rows_laid_out(street.document.tables[-1], street.tables)]
    assert any("\n" in (title or "") for title in titles)  # the long case title does run over lines
    assert "楼下垃圾堆积" in titles  # and a short one does not
