"""The charts draw Chinese with a CJK font that really has the glyphs, and refuse clearly when none is installed."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from matplotlib import font_manager
from PIL import Image

from civicgrid.kpi.metrics import Counts, Figures, evaluate
from civicgrid.kpi.service import Group
from civicgrid.reports import charts

NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")  # Debian's fonts-noto-cjk, as in CI
LABELS = "市容环境设施管理违法建设生态环境矛盾纠纷安全生产未分类"


def group(key: str, label: str, received: int, closed: int) -> Group:
    figures = Figures(Counts(received=received, registered=received, closed=closed))
    return Group(key, label, figures, evaluate(figures))


@pytest.fixture
def fresh_font_lookup() -> Iterator[None]:
    charts.cjk_font_family.cache_clear()
    yield
    charts.cjk_font_family.cache_clear()


@pytest.mark.skipif(not NOTO_CJK.exists(), reason="fonts-noto-cjk is not installed here (CI installs it)")
def test_the_charts_use_the_installed_noto_cjk_font(fresh_font_lookup: None) -> None:
    assert Path(charts.cjk_font_file()).name.startswith("NotoSansCJK")
    assert charts.cjk_font_family() == "Noto Sans CJK SC"


def test_the_chosen_font_has_every_glyph_the_charts_draw() -> None:
    assert charts.covers(charts.cjk_font_file(), charts.GLYPH_SAMPLE + LABELS + "（）年")
    assert not charts.covers(font_manager.findfont("DejaVu Sans"), "受理量")  # what matplotlib would use otherwise


def test_charts_render_without_a_missing_glyph() -> None:
    months = [group(f"2025-{m:02d}", f"2025年{m}月", 10 * m, 8 * m) for m in range(1, 7)]
    days = [group(f"2025-06-{d:02d}", f"6月{d}日", d % 4, d % 3) for d in range(1, 31)]
    categories = [group(f"0{i}", LABELS[2 * i : 2 * i + 4], 10 - i, 5) for i in range(6)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns “Glyph … missing from font(s)” for every box it draws
        pictures = [
            charts.trend_chart(months, "2025年上半年受理量与办结率趋势（按月）"),
            charts.trend_chart(days, "2025年6月受理量与办结率趋势（按日）"),
            charts.category_chart(categories, "2025年上半年各类别受理量"),
            charts.trend_chart([], "无数据"),
        ]
    for png in pictures:
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.width > 600


def test_without_a_chinese_font_the_report_says_what_to_install(
    fresh_font_lookup: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    with pytest.raises(charts.CjkFontMissingError, match="fonts-noto-cjk") as refused:
        charts.trend_chart([group("2025-01", "2025年1月", 1, 1)], "趋势")
    assert refused.value.code == "cjk_font_missing"
    assert "未找到可显示中文的字体" in refused.value.message
