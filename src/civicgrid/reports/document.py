"""A small document model — headings, paragraphs, tables, figures — that both renderers (Markdown, Word) read.

Every text in it is final: numbers are already formatted, nothing is computed while rendering. Renderers escape
what they must (Markdown); the model holds plain text, including what users typed (case titles).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class ParagraphKind(StrEnum):
    BODY = "body"  # 正文, first line indented two characters
    NOTE = "note"  # 说明/注, smaller, not indented
    ITEM = "item"  # one entry of a numbered list, written with its number
    DRAFT = "draft"  # drafted by the platform for the office to rewrite (存在问题, 下步打算): set apart from the rest


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1  # 1: 一、总体情况; 2: （一）…
    note: str = ""  # set apart after the text: （系统起草，请结合实际修改）


@dataclass(frozen=True)
class Paragraph:
    text: str
    kind: ParagraphKind = ParagraphKind.BODY


@dataclass(frozen=True)
class Column:
    title: str
    numeric: bool = False  # right-aligned
    wraps: bool = False  # free text (a case's title) that may run over lines; every other cell keeps to one line


@dataclass(frozen=True)
class Table:
    caption: str  # 表1 分类别情况
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""  # shown under the table

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"{self.caption}: a row of {len(row)} cells under {len(self.columns)} columns")

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(column.title for column in self.columns)


@dataclass(frozen=True)
class Figure:
    caption: str  # 图1 受理量与办结率趋势
    name: str  # a file-name-safe ASCII stem: trend, categories
    png: bytes


Block = Heading | Paragraph | Table | Figure


@dataclass(frozen=True)
class Document:
    title: str
    file_stem: str  # 海川街道2025年上半年工作总结 — the downloaded or written file's name, without extension
    ascii_stem: str  # work-report-370299001-2025-H1 — the same for clients that cannot take a Chinese file name
    counted_at: dt.datetime
    lead: tuple[str, ...] = ()  # the lines under the title: 数据统计截至…
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    title_lines: tuple[str, ...] = ()  # where a title too long for one line breaks (海川街道2025年第三季度 / 网格化…)

    @property
    def tables(self) -> list[Table]:
        return [block for block in self.blocks if isinstance(block, Table)]

    @property
    def figures(self) -> list[Figure]:
        return [block for block in self.blocks if isinstance(block, Figure)]

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [block for block in self.blocks if isinstance(block, Paragraph)]

    def section(self, heading: str) -> list[Block]:
        """The blocks under the level-1 heading whose text contains ``heading`` (tests read sections this way)."""
        found: list[Block] = []
        inside = False
        for block in self.blocks:
            if isinstance(block, Heading) and block.level == 1:
                inside = heading in block.text
                continue
            if inside:
                found.append(block)
        return found
