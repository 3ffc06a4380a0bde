"""The page arithmetic behind the Word report: text widths, the title's size and lines, table column widths."""

from __future__ import annotations

from civicgrid.reports.document import Column
from civicgrid.reports.layout import (
    CELL_MARGIN_PT,
    SAFETY_EM,
    TABLE_SIZES,
    em_width,
    header_pieces,
    table_layout,
    title_layout,
)
from civicgrid.reports.work_report import DEPARTMENT_COLUMNS

PAGE = 442.0  # the report's text width in points (A4 less the 公文 margins)
RATES = tuple(Column(title, numeric=True) for title in ("办结率", "按期办结率", "响应率", "解决率", "满意率"))


def needed(text: str, size: float) -> float:
    return (em_width(text) + SAFETY_EM) * size + 2 * CELL_MARGIN_PT


def test_chinese_is_one_em_and_latin_less_with_a_little_space_between() -> None:
    assert em_width("工作总结") == 4.0
    assert 0.5 < em_width("8") < 1.0 and em_width("100.0%") < 6.0
    assert em_width("2025年") > em_width("2025") + 1.0  # the space Word and LibreOffice put between scripts


def test_a_title_is_fitted_to_one_line_or_broken_where_it_reads_well() -> None:
    short = title_layout("海川街道2025年第三季度网格化服务管理工作总结", (), PAGE)
    assert short.lines == ("海川街道2025年第三季度网格化服务管理工作总结",) and 16 <= short.size < 22
    assert em_width(short.lines[0]) * short.size <= PAGE
    assert title_layout("海川街道2025年工作总结", (), PAGE).size == 22  # 二号 when it fits
    lines = ("青岛市海川区海川街道泰和社区居民委员会2025年第三季度", "网格化服务管理工作总结")
    long = title_layout("".join(lines), lines, PAGE)
    assert long.lines == lines and all(em_width(line) * long.size <= PAGE for line in lines)


def test_headers_break_at_their_unit_or_in_the_middle() -> None:
    assert header_pieces("受理量（件）") == ("受理量", "（件）")
    assert header_pieces("按期办结率") == ("按期", "办结率")
    assert header_pieces("办结率") == ("办结率",)


def test_columns_are_as_wide_as_their_content_and_fill_the_page() -> None:
    columns = (Column("名次", numeric=True), Column("部门"), *RATES)
    rows = [("1", "海川街道城市管理办公室", "100.0%", "100.0%", "99.5%", "98.0%", "100.0%")]
    layout = table_layout(columns, rows, PAGE)
    assert layout.size == TABLE_SIZES[0] and abs(sum(layout.widths) - PAGE) < 0.01
    for width, column, cell in zip(layout.widths, columns, rows[0], strict=True):
        assert width >= needed(cell, layout.size), column.title
    assert layout.widths[1] > layout.widths[0] * 3  # the name column, not an even share


def test_a_wide_table_is_set_smaller_before_a_name_wraps_and_then_the_name_gives_way() -> None:
    columns = DEPARTMENT_COLUMNS  # the report's widest table: 名次, 部门, 主办, 协办, five rates, 综合得分
    rates = ("1,234", "12", "100.0%", "100.0%", "100.0%", "100.0%", "100.0%", "100.0")
    fits_smaller = table_layout(columns, [("1", "区城市管理局综合执法大队", *rates)], PAGE)
    assert fits_smaller.size < TABLE_SIZES[0]
    assert fits_smaller.widths[1] >= needed("区城市管理局综合执法大队", fits_smaller.size)
    name = "海川街道安全生产监督管理办公室综合执法中队"
    squeezed = table_layout(columns, [("1", name, *rates)], PAGE)
    assert squeezed.size == TABLE_SIZES[-1] and abs(sum(squeezed.widths) - PAGE) < 0.01
    assert squeezed.widths[1] < needed(name, squeezed.size)  # the long name wraps …
    assert all(width >= needed(cell, squeezed.size) for width, cell in zip(squeezed.widths[2:], rates, strict=True))


def test_free_text_takes_what_is_left() -> None:
    columns = (Column("案件编号"), Column("问题", wraps=True), Column("本环节期限"))
    title = "小区东门外人行道上堆放大量建筑垃圾，影响居民出行，请尽快清运，已多次反映仍未解决，群众意见很大"
    layout = table_layout(columns, [("20250601000001", title, "2025年8月11日10时33分")], PAGE)
    assert layout.size == TABLE_SIZES[0]
    assert layout.widths[0] >= needed("20250601000001", layout.size)
    assert layout.widths[2] >= needed("2025年8月11日10时33分", layout.size)
    assert layout.widths[1] < needed(title, layout.size)
