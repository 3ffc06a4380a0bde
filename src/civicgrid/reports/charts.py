"""The report's charts as PNG: the trend (受理量 bars, 办结率 line) and 受理量 by category, drawn by matplotlib.

matplotlib's own font (DejaVu Sans) has no Chinese glyphs — every label would come out as boxes — so a CJK font
is looked up among the installed fonts (Debian: fonts-noto-cjk) and checked to really cover Chinese before it is
used; without one the report is refused with a message that says what to install. Figures are drawn through the
object API (``Figure`` + Agg canvas) with the font passed to each text, never through pyplot's global state, so
two requests may draw at once.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator

from civicgrid.errors import CivicgridError
from civicgrid.kpi.metrics import Unit, format_value
from civicgrid.kpi.service import Group

# Preferred Simplified-Chinese sans fonts first (Debian, Adobe, WenQuanYi, Windows, macOS), then other CJK faces.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
    "SimSun",
)
CJK_NAME_HINTS = ("CJK", "Han Sans", "Han Serif", "Hei", "Song", "Kai", "Fang", "Ming")
# Characters the charts always draw; a font must have every one of them.
GLYPH_SAMPLE = "受理量办结率趋势月日件类别未分类合计网格"
INSTALL_HINT = "请安装中文字体（Debian/Ubuntu：apt-get install fonts-noto-cjk），然后重新运行"

BAR_COLOUR = "#3a6ea5"
LINE_COLOUR = "#d9534f"
DPI = 150
CATEGORY_BARS = 12  # the largest categories; the rest would be unreadable slivers


class CjkFontMissingError(CivicgridError):
    """No installed font can draw Chinese: the charts would be boxes."""

    code = "cjk_font_missing"


def covers(font_file: str, text: str) -> bool:
    """The font (the face matplotlib chose, for a .ttc collection) has a glyph for every character of ``text``."""
    charmap = font_manager.get_font(font_file).get_charmap()
    return all(ord(character) in charmap for character in text if not character.isspace())


@functools.cache
def cjk_font_family() -> str:
    """The family of the CJK font the charts use: the first installed one whose face covers ``GLYPH_SAMPLE``."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    others = sorted(name for name in installed if any(hint in name for hint in CJK_NAME_HINTS))
    for family in [name for name in CJK_FAMILIES if name in installed] + others:
        try:
            found = font_manager.findfont(FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        if covers(found, GLYPH_SAMPLE):
            return family
    raise CjkFontMissingError(f"未找到可显示中文的字体，无法绘制报告图表。{INSTALL_HINT}")


def cjk_font_file() -> str:
    """The font file matplotlib draws the charts' Chinese with."""
    return str(font_manager.findfont(cjk_font(), fallback_to_default=False))


def cjk_font(size: float = 9.0) -> FontProperties:
    return FontProperties(family=cjk_font_family(), size=size)


def trend_chart(groups: Sequence[Group], title: str) -> bytes:
    """受理量 per month (or day) as bars, 办结率 as a line on a 0–100 % axis; a bucket without cases leaves a gap
    in the line, not a zero."""
    font, small = cjk_font(10), cjk_font(8)
    figure = Figure(figsize=(7.0, 3.6), dpi=DPI)
    axes = figure.add_subplot()
    positions = list(range(len(groups)))
    received = [float(group.values["received"] or 0) for group in groups]
    rates = [_or_nan(group.values["closure_rate"]) for group in groups]
    bars = axes.bar(positions, received, color=BAR_COLOUR, width=0.6, label="受理量（件）")
    axes.set_ylabel("受理量（件）", fontproperties=font)
    axes.set_xticks(positions, [_bucket_tick(group.key) for group in groups], fontproperties=small)
    _thin_ticks(axes, len(groups))
    axes.set_ylim(0, max([*received, 1.0]) * 1.3)  # room for the legend above the highest bar
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    rate_axes = axes.twinx()
    (line,) = rate_axes.plot(positions, rates, color=LINE_COLOUR, marker="o", markersize=3, label="办结率（%）")
    rate_axes.set_ylim(0, 105)
    rate_axes.set_ylabel("办结率（%）", fontproperties=font)
    axes.legend([bars, line], ["受理量（件）", "办结率（%）"], prop=small, loc="upper left", ncols=2, frameon=False)
    axes.set_title(title, fontproperties=cjk_font(11))
    axes.spines["top"].set_visible(False)
    rate_axes.spines["top"].set_visible(False)
    return _png(figure)


def category_chart(groups: Sequence[Group], title: str) -> bytes:
    """受理量 by category, largest on top, each bar labelled with its count."""
    shown = list(groups)[:CATEGORY_BARS]
    font = cjk_font(10)
    figure = Figure(figsize=(7.0, max(2.2, 0.42 * len(shown) + 1.2)), dpi=DPI)
    axes = figure.add_subplot()
    positions = list(range(len(shown)))
    counts = [float(group.values["received"] or 0) for group in shown]
    axes.barh(positions, counts, color=BAR_COLOUR, height=0.6)
    axes.set_yticks(positions, [group.label for group in shown], fontproperties=font)
    axes.invert_yaxis()
    axes.set_xlabel("受理量（件）", fontproperties=font)
    axes.set_xlim(0, max([*counts, 1.0]) * 1.15)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for position, group in zip(positions, shown, strict=True):
        label = format_value(group.values["received"], Unit.CASES)
        axes.annotate(label, (counts[position], position), xytext=(3, 0), textcoords="offset points", va="center")
    axes.set_title(title, fontproperties=cjk_font(11))
    axes.spines["top"].set_visible(False)
    axes.spines["right"].set_visible(False)
    return _png(figure)


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _or_nan(value: float | int | None) -> float:
    return math.nan if value is None else float(value)


def _bucket_tick(key: str | None) -> str:
    """'2025-06' → 6月, '2025-06-15' → 15日 (the chart's title names the year and month)."""
    parts = (key or "").split("-")
    if len(parts) == 3:
        return f"{int(parts[2])}日"
    if len(parts) == 2:
        return f"{int(parts[1])}月"
    return key or ""


def _thin_ticks(axes: Axes, count: int) -> None:
    """Daily trends have up to 31 ticks: keep every few so the labels do not collide."""
    if count <= 16:
        return
    step = math.ceil(count / 11)
    for index, label in enumerate(axes.get_xticklabels()):
        label.set_visible(index % step == 0)
