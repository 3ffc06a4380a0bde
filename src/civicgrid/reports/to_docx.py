"""A report as a Word document (.docx, python-docx): real tables, embedded charts, Chinese fonts, page numbers.

Word picks the font of Chinese characters from the ``w:eastAsia`` attribute of a run's ``w:rFonts``, which
python-docx's ``font.name`` does not set (it sets the Latin ``w:ascii``/``w:hAnsi`` only); without it Chinese text
falls back to whatever the template's theme names. So every style the report uses gets its East Asian font set
explicitly, its theme font attributes removed (a theme font wins over a named one), and its language set to zh-CN.
The faces are those of Chinese official documents: 宋体 title, 黑体 and 楷体 headings, 仿宋 body, 宋体 tables.

The title is set on one line at the size it fits (``layout.title_layout``) and each table's columns are sized by
their content (``layout.table_layout``: fixed widths, so LibreOffice does not share the page out evenly). The
drafted sections (存在问题, 下步打算) are set apart: their heading's note in red 楷体, their text in 楷体 on a grey
ground with a rule on the left, so nobody prints the draft as the office's own words unread.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import docx
from docx.document import Document as WordDocument
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import ParagraphStyle
from docx.table import Table as WordTable
from docx.table import _Row
from docx.text.paragraph import Paragraph as WordParagraph

from civicgrid.reports.document import Document, Figure, Heading, Paragraph, ParagraphKind, Table
from civicgrid.reports.layout import CELL_MARGIN_PT, TableLayout, table_layout, title_layout

LATIN_FONT = "Times New Roman"
TABLE_STYLE = "Table Grid"  # in python-docx's default template: every cell ruled, as Chinese reports print tables
TABLE_TEXT = "Table Text"
NOTE = "Report Note"
DRAFT = "Report Draft"
DRAFT_NOTE_COLOUR = RGBColor(0xC0, 0x00, 0x00)
DRAFT_GROUND = "EDEDED"
DRAFT_RULE = "808080"
PAGE_WIDTH, PAGE_HEIGHT = Cm(21), Cm(29.7)  # A4
LEFT_MARGIN, RIGHT_MARGIN = Cm(2.8), Cm(2.6)
TEXT_WIDTH_PT = (PAGE_WIDTH - LEFT_MARGIN - RIGHT_MARGIN) / Pt(1)
FIGURE_WIDTH = Cm(15.5)
BLACK = RGBColor(0, 0, 0)
_THEME_FONT_ATTRIBUTES = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")


@dataclass(frozen=True)
class StyleSpec:
    east_asian: str
    size: float  # points
    bold: bool = False
    centred: bool = False
    first_line_indent: bool = False  # two characters, as Chinese body text


STYLES: dict[str, StyleSpec] = {
    "Normal": StyleSpec("仿宋", 14, first_line_indent=True),
    "Title": StyleSpec("宋体", 22, bold=True, centred=True),
    "Subtitle": StyleSpec("楷体", 14, centred=True),
    "Heading 1": StyleSpec("黑体", 16),
    "Heading 2": StyleSpec("楷体", 16, bold=True),
    "Caption": StyleSpec("黑体", 12, centred=True),
    TABLE_TEXT: StyleSpec("宋体", 10.5),
    NOTE: StyleSpec("宋体", 10.5),
    DRAFT: StyleSpec("楷体", 14, first_line_indent=True),
}
PARAGRAPH_STYLES = {ParagraphKind.NOTE: NOTE, ParagraphKind.DRAFT: DRAFT}


def to_docx(document: Document) -> bytes:
    word = docx.Document()
    _page_setup(word)
    writer = _Writer(word, _styles(word))
    _properties(word, document)
    writer.title(document)
    for line in document.lead:
        writer.paragraph(line, "Subtitle")
    for block in document.blocks:
        if isinstance(block, Heading):
            writer.heading(block)
        elif isinstance(block, Paragraph):
            writer.paragraph(block.text, PARAGRAPH_STYLES.get(block.kind, "Normal"))
        elif isinstance(block, Table):
            writer.table(block)
        else:
            writer.figure(block)
    _page_numbers(word)
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def _page_setup(word: WordDocument) -> None:
    section = word.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)  # GB/T 9704 公文版心
    section.left_margin, section.right_margin = LEFT_MARGIN, RIGHT_MARGIN


def _styles(word: WordDocument) -> dict[str, str]:
    """Set up the report's styles; their ids by name."""
    existing = {style.name for style in word.styles}
    ids: dict[str, str] = {}
    for name, spec in STYLES.items():
        if name not in existing:
            added = word.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            added.base_style = word.styles["Normal"]
            added.quick_style = True
        style = word.styles[name]
        assert isinstance(style, ParagraphStyle)
        _apply(style, spec)
        ids[name] = style.style_id
    draft = word.styles[DRAFT]
    assert isinstance(draft, ParagraphStyle)
    _set_apart(draft)
    return ids


def _apply(style: ParagraphStyle, spec: StyleSpec) -> None:
    font = style.font
    font.name = LATIN_FONT
    font.size = Pt(spec.size)
    font.bold = spec.bold
    font.italic = False
    font.color.rgb = BLACK
    east_asian_font(style, spec.east_asian)
    paragraph = style.paragraph_format
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if spec.centred else None
    paragraph.first_line_indent = Pt(spec.size * 2) if spec.first_line_indent else Pt(0)
    paragraph.space_before = Pt(6) if style.name.startswith(("Heading", "Caption")) else Pt(0)
    paragraph.space_after = Pt(6) if style.name in ("Title", "Caption", NOTE) else Pt(0)
    paragraph.line_spacing = 1.0 if style.name == TABLE_TEXT else 1.5
    _drop_border(style)


def east_asian_font(style: ParagraphStyle, name: str) -> None:
    """Name the font for Chinese text (``w:eastAsia``), drop the theme fonts that would override it, and mark the
    text as Simplified Chinese."""
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), name)
    for attribute in _THEME_FONT_ATTRIBUTES:
        fonts.attrib.pop(qn(attribute), None)
    language = rpr.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        rpr.append(language)  # w:lang comes after every property python-docx sets (sz, color, b …)
    language.set(qn("w:val"), "en-US")
    language.set(qn("w:eastAsia"), "zh-CN")


def _set_apart(style: ParagraphStyle) -> None:
    """A grey ground and a rule down the left: drafted text the office is to rewrite."""
    ppr = style.element.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    rule = OxmlElement("w:left")
    for attribute, value in (("w:val", "single"), ("w:sz", "18"), ("w:space", "6"), ("w:color", DRAFT_RULE)):
        rule.set(qn(attribute), value)
    borders.append(rule)
    shading = OxmlElement("w:shd")
    for attribute, value in (("w:val", "clear"), ("w:color", "auto"), ("w:fill", DRAFT_GROUND)):
        shading.set(qn(attribute), value)
    # CT_PPr's children have a fixed order: pBdr and shd come before spacing, ind and jc.
    anchor = next((child for child in ppr if child.tag in {qn("w:spacing"), qn("w:ind"), qn("w:jc")}), None)
    for element in (borders, shading):
        if anchor is None:
            ppr.append(element)
        else:
            anchor.addprevious(element)


def _drop_border(style: ParagraphStyle) -> None:
    """The template's Title has a coloured rule under it; a Chinese report's title has none."""
    ppr = style.element.pPr
    border = ppr.find(qn("w:pBdr")) if ppr is not None else None
    if border is not None:
        ppr.remove(border)


def _properties(word: WordDocument, document: Document) -> None:
    properties = word.core_properties
    properties.title = document.title
    properties.author = "civicgrid 网格化基层治理平台"
    properties.last_modified_by = "civicgrid"
    properties.language = "zh-CN"
    moment = document.counted_at.astimezone(dt.UTC).replace(tzinfo=None)  # core properties are naive UTC
    properties.created = properties.modified = moment


class _Writer:
    """Appends paragraphs, tables and pictures. Styles are set by id: python-docx resolves a style *name* by
    scanning every style of the document, which for a few hundred table cells takes seconds."""

    def __init__(self, word: WordDocument, style_ids: dict[str, str]) -> None:
        self.word = word
        self.style_ids = style_ids

    def paragraph(self, text: str, style: str) -> WordParagraph:
        paragraph = self.word.add_paragraph(text)
        self._style(paragraph, style)
        return paragraph

    def _style(self, paragraph: WordParagraph, style: str) -> None:
        paragraph._p.style = self.style_ids[style]

    def title(self, document: Document) -> None:
        """The title on one line at the size it fits, or on its ``title_lines`` when it cannot."""
        fitted = title_layout(document.title, document.title_lines, TEXT_WIDTH_PT)
        paragraph = self.paragraph("", "Title")
        for position, line in enumerate(fitted.lines):
            run = paragraph.add_run(line)
            run.font.size = Pt(fitted.size)
            if position < len(fitted.lines) - 1:
                run.add_break()

    def heading(self, heading: Heading) -> None:
        paragraph = self.paragraph(heading.text, f"Heading {min(heading.level, 2)}")
        if heading.note:
            note = paragraph.add_run(heading.note)
            note.font.size = Pt(12)
            note.font.color.rgb = DRAFT_NOTE_COLOUR
            note._r.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "楷体")

    def table(self, table: Table) -> None:
        self.paragraph(table.caption, "Caption")
        layout = table_layout(table.columns, table.rows, TEXT_WIDTH_PT)
        grid = self.word.add_table(rows=1, cols=len(table.columns))
        grid.style = self.word.styles[TABLE_STYLE]
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        _fix_widths(grid, layout)
        for cell, lines in zip(grid.rows[0].cells, layout.headers, strict=True):
            self._cell(cell.paragraphs[0], lines, WD_ALIGN_PARAGRAPH.CENTER, layout.size, bold=True)
        _repeat_header(grid)
        for row in table.rows:
            cells = grid.add_row().cells
            for cell, value, column in zip(cells, row, table.columns, strict=True):
                align = WD_ALIGN_PARAGRAPH.RIGHT if column.numeric else WD_ALIGN_PARAGRAPH.LEFT
                self._cell(cell.paragraphs[0], (value,), align, layout.size)
        for row in grid.rows:
            _keep_together(row)
            for cell, width in zip(row.cells, layout.widths, strict=True):
                cell.width = Pt(width)
        if table.note:
            self.paragraph(table.note, NOTE)

    def _cell(
        self,
        paragraph: WordParagraph,
        lines: tuple[str, ...],
        align: WD_ALIGN_PARAGRAPH,
        size: float,
        *,
        bold: bool = False,
    ) -> None:
        self._style(paragraph, TABLE_TEXT)
        paragraph.alignment = align
        for position, line in enumerate(lines):
            run = paragraph.add_run(line)
            run.font.size = Pt(size)
            if bold:
                run.bold = True
            if position < len(lines) - 1:
                run.add_break()

    def figure(self, figure: Figure) -> None:
        picture = self.paragraph("", "Normal")
        picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
        picture.paragraph_format.first_line_indent = Pt(0)
        picture.add_run().add_picture(io.BytesIO(figure.png), width=FIGURE_WIDTH)
        self.paragraph(figure.caption, "Caption")


def _fix_widths(grid: WordTable, layout: TableLayout) -> None:
    """Fixed layout with the computed widths (Word and LibreOffice would otherwise share the width out evenly or
    by their own measure) and narrow cell margins."""
    grid.autofit = False
    for column, width in zip(grid.columns, layout.widths, strict=True):
        column.width = Pt(width)
    properties = grid._tbl.tblPr
    total = properties.find(qn("w:tblW"))  # python-docx writes one (auto); the schema's order puts it here
    assert total is not None
    total.set(qn("w:w"), str(round(sum(layout.widths) * 20)))
    total.set(qn("w:type"), "dxa")
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), str(round(CELL_MARGIN_PT * 20)))
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    look = properties.find(qn("w:tblLook"))  # tblCellMar comes after tblLayout, before tblLook
    if look is None:
        properties.append(margins)
    else:
        look.addprevious(margins)


def _keep_together(row: _Row) -> None:
    """A row is never split over two pages (its cells would read as two rows)."""
    keep = OxmlElement("w:cantSplit")
    row._tr.get_or_add_trPr().append(keep)


def _repeat_header(grid: WordTable) -> None:
    """The header row repeats on every page a long table runs over."""
    row_properties = grid.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    row_properties.append(header)


def _page_numbers(word: WordDocument) -> None:
    """— 1 — centred in the footer, as a PAGE field Word and LibreOffice fill in."""
    footer = word.sections[0].footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.paragraph_format.first_line_indent = Pt(0)
    footer.add_run("— ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    footer._p.append(field)
    footer.add_run(" —")
