"""How wide text is on the page, and how the Word file fits its title and its table columns to the page.

Word and LibreOffice lay the text out with the fonts they find; the report cannot ask them, so widths are
estimated in ems of the font size, on the safe side: a Chinese (full-width) character is one em, a Latin letter
or digit 0.72 em — DejaVu Serif, what LibreOffice on Linux puts in place of a missing Times New Roman, is the
widest face it may use (digits 0.64 em, bold 0.70 em, ``%`` 0.95 em); Times New Roman itself is narrower — and
each change between Chinese and Latin text a quarter em more (both Word and LibreOffice put a little space there).

Tables: every column gets the width its content needs. A cell that is not free text (names, numbers, dates) is
never wrapped; the header may break into two lines at its unit (受理量 / （件）) or in its middle (按期 / 办结率);
free text (a case's title, ``Column.wraps``) takes what is left. When even that does not fit at 五号 (10.5 pt), the
table is set smaller (小五 9 pt, 8 pt, 六号 7.5 pt) before anything is wrapped; and when nothing fits even then, the
widest text columns (the longest names) give up the difference — never the numbers.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from civicgrid.reports.document import Column

NARROW = frozenset(" .,:;!'|()[]-/ilIjft")
NARROW_EM = 0.35
LATIN_EM = 0.72
SCRIPT_CHANGE_EM = 0.25
WIDE_SYMBOLS = frozenset("%@&mwMW")
WIDE_SYMBOL_EM = 0.95
TABLE_SIZES = (10.5, 9.0, 8.0, 7.5)  # 五号, 小五, a step between, 六号: smaller before anything must wrap
CELL_MARGIN_PT = 2.85  # 0.1 cm left and right of a cell's text
SAFETY_EM = 0.3  # per column: rounding, bold header text, the renderer's own padding
NAME_MIN_EM = 4.0  # the narrowest a name is squeezed to when nothing else can give
WRAP_MIN_EM = 8.0  # free text keeps at least this width (or its own, when shorter): a short title on one line
TITLE_SIZES = (22.0, 16.0)  # 二号 down to 三号: a title that needs less than 三号 to stay on one line breaks
TITLE_LINE_MIN = 14.0  # each line of a broken title is fitted down to 四号


def em_width(text: str) -> float:
    """The estimated width of ``text`` in ems (see the module docstring)."""
    total = 0.0
    wide_before: bool | None = None
    for character in text:
        wide = unicodedata.east_asian_width(character) in ("W", "F")
        if wide_before is not None and wide != wide_before and not character.isspace():
            total += SCRIPT_CHANGE_EM
        wide_before = wide
        if wide:
            total += 1.0
        elif character in NARROW:
            total += NARROW_EM
        elif character in WIDE_SYMBOLS:
            total += WIDE_SYMBOL_EM
        elif character.isascii():
            total += LATIN_EM
        else:  # “—”, “…” and other symbols of ambiguous width: as wide as a Chinese character
            total += 1.0
    return total


def fitted_size(lines: Sequence[str], width_pt: float, largest: float, smallest: float) -> float:
    """The largest font size (half-point steps) from ``largest`` down to ``smallest`` at which every line fits
    ``width_pt``; ``smallest`` when none does."""
    widest = max((em_width(line) for line in lines), default=0.0)
    if widest <= 0:
        return largest
    fitting = int(2 * width_pt / widest) / 2
    return max(smallest, min(largest, fitting))


@dataclass(frozen=True)
class TitleLayout:
    size: float  # points
    lines: tuple[str, ...]


def title_layout(title: str, lines: Sequence[str], width_pt: float) -> TitleLayout:
    """The title on one line at the largest size it fits from 二号 to 三号; else on the given ``lines`` (each then
    fitted down to 四号)."""
    largest, smallest = TITLE_SIZES
    if em_width(title) * smallest <= width_pt or len(lines) < 2:
        return TitleLayout(fitted_size([title], width_pt, largest, smallest), (title,))
    return TitleLayout(fitted_size(lines, width_pt, largest, TITLE_LINE_MIN), tuple(lines))


@dataclass(frozen=True)
class TableLayout:
    size: float  # the table's font size, points
    widths: tuple[float, ...]  # each column's width, points; they add up to the page's text width
    headers: tuple[tuple[str, ...], ...]  # each column's header, as the lines it is written on


def header_pieces(title: str) -> tuple[str, ...]:
    """Where a header may break: before its unit (受理量 / （件）), else in the middle (按期 / 办结率); a header of
    three characters or fewer stays whole."""
    if "（" in title.strip("（"):
        cut = title.index("（", 1)
        return (title[:cut], title[cut:])
    if len(title) < 4:
        return (title,)
    return (title[: len(title) // 2], title[len(title) // 2 :])


def table_layout(columns: Sequence[Column], rows: Sequence[Sequence[str]], width_pt: float) -> TableLayout:
    """Column widths for ``rows`` under ``columns`` on a text width of ``width_pt`` (see the module docstring)."""
    natural_em = [
        max([em_width(column.title), *(em_width(row[i]) for row in rows)]) for i, column in enumerate(columns)
    ]
    least_em = [_least_em(column, [row[i] for row in rows]) for i, column in enumerate(columns)]
    size = next((s for s in TABLE_SIZES if sum(_points(least_em, s)) <= width_pt), TABLE_SIZES[-1])
    natural, least = _points(natural_em, size), _points(least_em, size)
    floor = _points([NAME_MIN_EM], size)[0]
    widths = _share(natural, least, width_pt, [not column.numeric for column in columns], floor)
    headers = tuple(
        (column.title,) if _points([em_width(column.title)], size)[0] <= width + 0.01 else header_pieces(column.title)
        for column, width in zip(columns, widths, strict=True)
    )
    return TableLayout(size, widths, headers)


def _least_em(column: Column, cells: Sequence[str]) -> float:
    header = max(em_width(piece) for piece in header_pieces(column.title))
    widest = max((em_width(cell) for cell in cells), default=0.0)
    return max(header, min(widest, WRAP_MIN_EM) if column.wraps else widest)


def _points(ems: Sequence[float], size: float) -> list[float]:
    return [(em + SAFETY_EM) * size + 2 * CELL_MARGIN_PT for em in ems]


def _share(
    natural: Sequence[float], least: Sequence[float], width: float, text: Sequence[bool], floor: float
) -> tuple[float, ...]:
    """Natural widths stretched to the page when they fit; else each column between its least and its natural
    width by the same share of the difference; else the least widths, the text columns (``text``) narrowed in
    proportion to what they have above ``floor`` (something must wrap: a long name, not a number)."""
    if sum(natural) <= width:
        return tuple(w * width / sum(natural) for w in natural)
    if sum(least) <= width:
        spare = (width - sum(least)) / (sum(natural) - sum(least))
        return tuple(low + (high - low) * spare for low, high in zip(least, natural, strict=True))
    excess = [max(w - floor, 0.0) if is_text else 0.0 for w, is_text in zip(least, text, strict=True)]
    deficit = sum(least) - width
    if sum(excess) < deficit:
        return tuple(w * width / sum(least) for w in least)
    return tuple(w - extra * deficit / sum(excess) for w, extra in zip(least, excess, strict=True))
