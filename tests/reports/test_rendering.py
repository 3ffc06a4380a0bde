"""The report's two renderings of one document: Markdown that keeps typed text as text, and a Word file that
re-opens with real tables, the charts, Chinese fonts on every style it uses and page numbers. Built from a
hand-made dashboard, so the red and black lists have enough departments to name."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote

import docx
import pytest
from docx.oxml.ns import qn
from docx.shared import RGBColor
from docx.styles.style import ParagraphStyle
from markdown_it import MarkdownIt
from tests.reports.samples import HOSTILE_TITLE, sample_dashboard

from civicgrid.kpi.dashboard import Dashboard
from civicgrid.reports.document import Document, Paragraph
from civicgrid.reports.draft import DRAFT_NOTE
from civicgrid.reports.service import ReportFormat, render, write
from civicgrid.reports.to_docx import to_docx
from civicgrid.reports.to_markdown import escape, to_markdown
from civicgrid.reports.work_report import compose, file_safe


@pytest.fixture
def dashboard() -> Dashboard:
    return sample_dashboard()


@pytest.fixture
def document(dashboard: Dashboard) -> Document:
    return compose(dashboard, [], min_repeats=3)


def test_the_best_and_the_worst_departments_are_named(dashboard: Dashboard, document: Document) -> None:
    text = "\n".join(block.text for block in document.section("部门考核") if isinstance(block, Paragraph))
    red = "、".join(f"{e.group.label}（{e.value:.1f}分）" for e in dashboard.department_lists.red)
    black = "、".join(f"{e.group.label}（{e.value:.1f}分）" for e in dashboard.department_lists.black)
    assert f"部门红榜：{red}；部门黑榜：{black}。" in text
    assert red.startswith("第1科") and black.startswith("第6科")
    ranks = [row[0] for row in document.tables[2].rows]
    assert ranks == ["1", "2", "3", "4", "5", "6"]


def test_markdown_keeps_typed_text_as_text() -> None:
    html = MarkdownIt("commonmark").enable("table").render(f"{escape(HOSTILE_TITLE)}\n")
    assert "<script>" not in html and "<a " not in html and "<em>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; | *加急* [点我](http://x.example) &amp;amp;" in html
    assert escape("# 标题\n第二行") == "\\# 标题 第二行"  # no heading, no second line
    assert escape("1. 一条") == "1\\. 一条"  # no list


def test_the_markdown_report_renders_with_its_tables_and_charts(document: Document) -> None:
    text = to_markdown(document, lambda figure: f"图-{figure.name}.png")
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert html.count("<table>") == len(document.tables) == 4
    for table, rendered in zip(document.tables, re.findall(r"<table>.*?</table>", html, re.S), strict=True):
        rows = re.findall(r"<tr>.*?</tr>", rendered, re.S)
        assert len(rows) == len(table.rows) + 1
        assert all(len(re.findall(r"<t[hd][ >]", row)) == len(table.columns) for row in rows)  # “|” stayed text
    assert "<script>" not in html
    assert html.count("<img ") == 2 and "%E5%9B%BE-trend.png" in html
    assert "<img " not in MarkdownIt("commonmark").render(to_markdown(document))  # charts left out


def word_of(document: Document) -> docx.document.Document:
    return docx.Document(io.BytesIO(to_docx(document)))


def test_the_word_file_has_real_tables_charts_and_page_numbers(document: Document) -> None:
    word = word_of(document)
    assert word.core_properties.title == document.title
    assert len(word.tables) == 4 and all(t.style is not None and t.style.name == "Table Grid" for t in word.tables)
    for written, source in zip(word.tables, document.tables, strict=True):
        assert [c.text.replace("\n", "") for c in written.rows[0].cells] == list(source.headers)
        assert written.rows[0]._tr.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None  # repeats on each page
        assert len(written.rows) == len(source.rows) + 1
    assert HOSTILE_TITLE in [cell.text for cell in word.tables[3].rows[1].cells]
    assert len(word.inline_shapes) == 2
    parts = [rel.target_part for rel in word.part.rels.values() if "image" in rel.reltype]
    assert {part.content_type for part in parts} == {"image/png"}
    footer = word.sections[0].footer._element.xml
    assert 'w:instr="PAGE"' in footer


def test_every_style_the_word_file_uses_names_an_east_asian_font(document: Document) -> None:
    word = word_of(document)
    used = {paragraph.style.name for paragraph in word.paragraphs if paragraph.style is not None}
    used |= {p.style.name for t in word.tables for row in t.rows for c in row.cells for p in c.paragraphs if p.style}
    assert {"Title", "Heading 1", "Normal", "Caption", "Table Text"} <= used
    fonts = {}
    for name in used:
        style = word.styles[name]
        assert isinstance(style, ParagraphStyle)
        rfonts = style.element.find(f"{qn('w:rPr')}/{qn('w:rFonts')}")
        assert rfonts is not None, name
        assert rfonts.get(qn("w:eastAsiaTheme")) is None, name  # a theme font would override the named one
        fonts[name] = rfonts.get(qn("w:eastAsia"))
    assert fonts["Normal"] == "仿宋" and fonts["Heading 1"] == "黑体" and fonts["Title"] == "宋体"
    assert fonts["Table Text"] == "宋体"
    language = word.styles["Normal"].element.find(f"{qn('w:rPr')}/{qn('w:lang')}")
    assert language is not None and language.get(qn("w:eastAsia")) == "zh-CN"


def test_the_drafted_sections_are_marked_and_set_apart_in_markdown(document: Document) -> None:
    text = to_markdown(document)
    assert f"## 七、存在问题 *{DRAFT_NOTE}*" in text and f"## 八、下步打算 *{DRAFT_NOTE}*" in text
    html = MarkdownIt("commonmark").render(text)
    assert f"<h2>七、存在问题 <em>{DRAFT_NOTE}</em></h2>" in html
    drafted = html.split(f"{DRAFT_NOTE}</em></h2>", 1)[1].split("<blockquote>\n<p>说明", 1)[0]
    body = re.sub(r"<h2>.*?</h2>|<blockquote>.*?</blockquote>|\s", "", drafted, flags=re.S)
    assert body == ""  # every drafted paragraph is quoted, none is body text
    assert drafted.count("<blockquote>") >= 4 and "一是" in drafted and "二是" in drafted
    assert "<script>" not in drafted  # the overdue case's title, typed by a resident, stays text here too


def test_the_drafted_sections_are_marked_and_set_apart_in_word(document: Document) -> None:
    word = word_of(document)
    paragraphs = word.paragraphs
    start = next(i for i, p in enumerate(paragraphs) if p.text.startswith("七、存在问题"))
    heading = paragraphs[start]
    assert heading.text == f"七、存在问题{DRAFT_NOTE}"
    note = heading.runs[-1]
    assert note.text == DRAFT_NOTE and note.font.color.rgb == RGBColor(0xC0, 0, 0)
    drafted = [p for p in paragraphs[start + 1 :] if not p.text.startswith(("八、", "说明"))]
    assert drafted and {p.style.name for p in drafted if p.style is not None} == {"Report Draft"}
    style = word.styles["Report Draft"].element
    assert style.find(f"{qn('w:pPr')}/{qn('w:shd')}").get(qn("w:fill")) == "EDEDED"  # a grey ground
    assert style.find(f"{qn('w:pPr')}/{qn('w:pBdr')}/{qn('w:left')}") is not None  # and a rule on the left
    normal = word.styles["Normal"].element
    assert normal.find(f"{qn('w:pPr')}/{qn('w:shd')}") is None


def test_written_markdown_has_its_charts_beside_it_and_downloads_name_the_report(
    document: Document, tmp_path: Path
) -> None:
    written = write(document, ReportFormat.MD, tmp_path / "总结.md")
    assert [path.name for path in written] == ["总结.md", "总结-trend.png", "总结-categories.png"]
    assert all(path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for path in written[1:])
    assert "](%E6%80%BB%E7%BB%93-trend.png)" in written[0].read_text(encoding="utf-8")
    rendered = render(document, ReportFormat.DOCX)
    assert rendered.file_name == "海川街道2025年上半年工作总结.docx"
    assert rendered.ascii_file_name == "work-report-370299001-2025-H1.docx"


def test_the_markdown_archive_holds_the_text_and_every_chart_it_links(document: Document) -> None:
    rendered = render(document, ReportFormat.ZIP)
    assert rendered.file_name == "海川街道2025年上半年工作总结.zip" and rendered.media_type == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(rendered.content))
    text = bundle.read("work-report-370299001-2025-H1.md").decode("utf-8")
    links = [unquote(target) for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)]
    assert len(links) == len(document.figures) == 2
    assert sorted(bundle.namelist()) == sorted(["work-report-370299001-2025-H1.md", *links])  # nothing else
    assert all(bundle.read(link)[:8] == b"\x89PNG\r\n\x1a\n" for link in links)
    assert [bundle.read(link) for link in links] == [figure.png for figure in document.figures]


def test_a_grid_name_cannot_make_the_file_name_a_path() -> None:
    assert file_safe('东区/西区:第"1"网格工作总结') == "东区_西区_第_1_网格工作总结"
    assert file_safe("..") == "工作总结"
