"""How the work reports write numbers, periods and comparisons: “办结率99.6%”, “同比增长12.5%”,
“同比下降2.1个百分点”, “今年1-6月”. Every number is formatted by ``kpi.metrics.format_value``; nothing is rounded or
computed here beyond the direction of a change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from civicgrid.kpi.comparable import Basis
from civicgrid.kpi.metrics import INDICATORS, Unit, format_value
from civicgrid.kpi.periods import BEIJING, Period
from civicgrid.kpi.service import Comparison, change

Values = Mapping[str, float | int | None]

UNIT_SUFFIX = {Unit.CASES: "件", Unit.PERCENT: "%", Unit.HOURS: "小时", Unit.SCORE: "分"}


def number(value: float | int | None, unit: Unit) -> str:
    """The bare figure as the KPI module formats it: 38,606 / 99.6 / — ."""
    return format_value(value, unit)


def with_unit(value: float | int | None, unit: Unit) -> str:
    """38,606件 / 99.6% / 12.5小时 / 80.0分; “—” alone when there is nothing to count."""
    text = format_value(value, unit)
    return text if value is None else f"{text}{UNIT_SUFFIX[unit]}"


def cell(values: Values, key: str) -> str:
    """A table cell: counts bare (the column title carries 件), rates with %, hours and scores bare."""
    unit = INDICATORS[key].unit
    value = values[key]
    if unit is Unit.PERCENT and value is not None:
        return f"{format_value(value, unit)}%"
    return format_value(value, unit)


def stated(values: Values, key: str, label: str | None = None) -> str:
    """办结率99.6% — or 满意率暂无 when the indicator has nothing to count."""
    indicator = INDICATORS[key]
    name = label or indicator.label
    value = values[key]
    if value is None:
        return f"{name}暂无"
    return f"{name}{with_unit(value, indicator.unit)}"


def comparison(word: str, key: str, current: Values, earlier: Values) -> str | None:
    """同比增长12.5% for a count (relative change), 同比提高2.1个百分点 for a rate (difference in points), 同比持平;
    None when the earlier period gives nothing to compare with."""
    indicator = INDICATORS[key]
    is_rate = indicator.unit is Unit.PERCENT
    delta = change(current[key], earlier[key], rate=is_rate)
    if delta is None:
        return None
    magnitude = format_value(abs(delta), Unit.PERCENT)
    if float(magnitude) == 0:
        return f"{word}持平"
    if is_rate:
        up = "提高" if indicator.higher_is_better else "上升"
        return f"{word}{up if delta > 0 else '下降'}{magnitude}个百分点"
    return f"{word}{'增长' if delta > 0 else '下降'}{magnitude}%"


def compared_with(compared: Comparison, key: str, basis: Basis, *, say_unavailable: bool = False) -> str | None:
    """The indicator's 同比/环比 as ``comparison`` words it — or, when the comparison period cannot be compared
    with (``kpi.comparable``: too few cases, or data that begins part-way), None, or “上年同期无可比数据” /
    “上期无可比数据” with ``say_unavailable`` (say it once, with the first figure, not after every rate)."""
    if not compared.comparable(basis):
        judged = compared.basis(basis)
        return judged.unavailable if say_unavailable and judged is not None else None
    earlier = compared.previous if basis is Basis.PREVIOUS else compared.last_year
    return comparison(basis.word, key, compared.current.values, earlier.values)


def joined(parts: list[str | None], separator: str = "，") -> str:
    return separator.join(part for part in parts if part)


def beijing(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(BEIJING)


def counted_at_text(moment: dt.datetime) -> str:
    """数据统计截至2026年11月24日10时."""
    local = beijing(moment)
    return f"数据统计截至{local.year}年{local.month}月{local.day}日{local.hour}时"


def period_opening(period: Period, counted_at: dt.datetime) -> str:
    """How the summary opens: 今年1-6月 (the counting year), 2025年1-6月 (an earlier one), or the period's own name
    (2025年6月1日至6月15日) when it is not whole months; “（截至11月24日）” when the period is still running."""
    span = period.month_span_label
    today = beijing(counted_at).date()
    if span != period.label:  # whole months within one year: 1-6月
        span = f"{'今年' if period.first.year == today.year else f'{period.first.year}年'}{span}"
    if period.first <= today < period.last:
        span = f"{span}（截至{today.month}月{today.day}日）"
    return span


def beijing_minute(moment: dt.datetime) -> str:
    """2026年11月20日17时05分."""
    local = beijing(moment)
    return f"{local.year}年{local.month}月{local.day}日{local.hour}时{local.minute:02d}分"
