"""A report as Markdown (CommonMark + pipe tables). Every text is escaped, so a case title typed by a resident
(“*紧急*”, “<script>”, “a | b”) shows as typed and cannot become markup, a link or a table column. The drafted
sections (存在问题, 下步打算) carry their note in italics after the heading and are quoted."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from civicgrid.reports.document import Document, Figure, Heading, Paragraph, ParagraphKind, Table

# Characters that open or close inline constructs (emphasis, code, links, inline HTML, entities, table cells).
_INLINE = re.compile(r"([\\`*_\[\]<>|&~])")
# What would turn the start of a line into a heading, quote, list item or rule.
_LINE_START = re.compile(r"^([#>+\-=])")
_ORDERED_START = re.compile(r"^(\d+)([.)])(?=\s|$)")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_NUMBERED = re.compile(r"^(\d+\. )(.*)$", re.DOTALL)


def escape(text: str) -> str:
    """Plain text for Markdown: special characters backslash-escaped, line breaks folded into one space."""
    escaped = _INLINE.sub(r"\\\1", _LINE_BREAKS.sub(" ", text.strip()))
    return _ORDERED_START.sub(r"\1\\\2", _LINE_START.sub(r"\\\1", escaped))


def image_file_name(stem: str, figure: Figure) -> str:
    """The PNG written next to the Markdown file: 海川街道2025年上半年工作总结-trend.png."""
    return f"{stem}-{figure.name}.png"


def to_markdown(document: Document, image_link: Callable[[Figure], str] | None = None) -> str:
    """The Markdown text; ``image_link`` names each figure's file (relative to the .md), or leaves figures out
    when None."""
    lines = [f"# {escape(document.title)}", ""]
    for line in document.lead:
        lines += [escape(line), ""]
    for block in document.blocks:
        if isinstance(block, Heading):
            note = f" *{escape(block.note)}*" if block.note else ""
            lines += [f"{'#' * (block.level + 1)} {escape(block.text)}{note}", ""]
        elif isinstance(block, Paragraph):
            lines += [_paragraph(block), ""]
        elif isinstance(block, Table):
            lines += [*_table(block), ""]
        elif image_link is not None:
            lines += [f"![{escape(block.caption)}]({quote(image_link(block))})", "", f"*{escape(block.caption)}*", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _paragraph(paragraph: Paragraph) -> str:
    text = escape(paragraph.text)
    if paragraph.kind in (ParagraphKind.NOTE, ParagraphKind.DRAFT):  # set apart from the body as quotations
        return f"> {text}"
    numbered = _NUMBERED.match(paragraph.text) if paragraph.kind is ParagraphKind.ITEM else None
    if numbered:  # our own numbering stays a Markdown list; the item's text is escaped
        return numbered.group(1) + escape(numbered.group(2))
    return text


def _table(table: Table) -> list[str]:
    lines = [f"**{escape(table.caption)}**", ""]
    lines.append("| " + " | ".join(escape(title) for title in table.headers) + " |")
    lines.append("|" + "|".join("---:" if column.numeric else ":---" for column in table.columns) + "|")
    lines += ["| " + " | ".join(escape(value) for value in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", escape(table.note)]
    return lines
