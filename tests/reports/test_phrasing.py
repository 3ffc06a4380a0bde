"""How the report words numbers, comparisons and periods — the register of the street offices' own reports."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.kpi.metrics import Unit
from civicgrid.kpi.periods import parse_period
from civicgrid.reports.phrasing import cell, comparison, counted_at_text, period_opening, stated, with_unit

BEIJING = dt.timezone(dt.timedelta(hours=8))


def at(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("key", "current", "earlier", "expected"),
    [
        ("received", 12, 10, "同比增长20.0%"),
        ("received", 8, 10, "同比下降20.0%"),
        ("received", 10, 10, "同比持平"),
        ("received", 10, 0, None),  # nothing to grow from
        ("closure_rate", 97.5, 95.0, "同比提高2.5个百分点"),  # rates change by percentage points
        ("closure_rate", 95.0, 97.5, "同比下降2.5个百分点"),
        ("closure_rate", 95.0, None, None),  # the earlier period had nothing to close
        ("closure_rate", 95.02, 95.0, "同比持平"),  # below the one decimal the report shows
        ("rework_rate", 6.0, 4.0, "同比上升2.0个百分点"),  # a rate that should be low rises, it does not improve
    ],
)
def test_comparisons_are_phrased_as_the_reports_do(
    key: str, current: float | None, earlier: float | None, expected: str | None
) -> None:
    assert comparison("同比", key, {key: current}, {key: earlier}) == expected


def test_values_carry_their_units_and_a_missing_value_says_so() -> None:
    values = {"received": 38606, "closure_rate": 99.63, "satisfaction_rate": None, "average_handle_hours": 12.25}
    assert with_unit(38606, Unit.CASES) == "38,606件"
    assert stated(values, "closure_rate") == "办结率99.6%"
    assert stated(values, "satisfaction_rate") == "满意率暂无"
    assert stated(values, "average_handle_hours") == "平均处置时长12.2小时"
    assert cell(values, "closure_rate") == "99.6%"
    assert cell(values, "received") == "38,606"
    assert cell(values, "satisfaction_rate") == "—"


@pytest.mark.parametrize(
    ("period", "counted_at", "expected"),
    [
        ("2025-Q3", at(2025, 10, 9), "今年7-9月"),
        ("2025-H1", at(2026, 11, 24), "2025年1-6月"),
        ("2026-11", at(2026, 11, 24), "今年11月（截至11月24日）"),
        ("2026", at(2026, 11, 24), "今年1-12月（截至11月24日）"),
        ("2025-06-01..2025-06-15", at(2025, 7, 1), "2025年6月1日至6月15日"),
        ("2025-W23", at(2025, 7, 1), "2025年6月2日至6月8日"),
    ],
)
def test_the_opening_names_the_period_as_a_report_would(period: str, counted_at: dt.datetime, expected: str) -> None:
    assert period_opening(parse_period(period), counted_at) == expected


def test_the_counting_moment_is_stated_in_beijing_time() -> None:
    assert counted_at_text(dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.UTC)) == "数据统计截至2026年11月24日10时"
