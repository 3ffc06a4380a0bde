"""Reporting periods: spellings, Beijing boundaries, and the periods compared with (环比 / 同比)."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.errors import InvalidInputError
from civicgrid.kpi.periods import Granularity, parse_period


@pytest.mark.parametrize(
    ("text", "first", "last", "granularity", "label"),
    [
        ("2025", dt.date(2025, 1, 1), dt.date(2025, 12, 31), Granularity.YEAR, "2025年"),
        ("2025-H1", dt.date(2025, 1, 1), dt.date(2025, 6, 30), Granularity.HALF, "2025年上半年"),
        ("2025h2", dt.date(2025, 7, 1), dt.date(2025, 12, 31), Granularity.HALF, "2025年下半年"),
        ("2025-Q3", dt.date(2025, 7, 1), dt.date(2025, 9, 30), Granularity.QUARTER, "2025年第三季度"),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29), Granularity.MONTH, "2024年2月"),
        ("2025-W01", dt.date(2024, 12, 30), dt.date(2025, 1, 5), Granularity.WEEK, "2024年12月30日至1月5日"),
        ("2025-06-15", dt.date(2025, 6, 15), dt.date(2025, 6, 15), Granularity.DAY, "2025年6月15日"),
        (
            "2025-01-01..2025-03-31",
            dt.date(2025, 1, 1),
            dt.date(2025, 3, 31),
            Granularity.CUSTOM,
            "2025年1月1日至3月31日",
        ),
    ],
)
def test_spellings(text: str, first: dt.date, last: dt.date, granularity: Granularity, label: str) -> None:
    period = parse_period(text)
    assert (period.first, period.last, period.granularity, period.label) == (first, last, granularity, label)
    assert parse_period(period.key) == period  # the key reads back


def test_boundaries_are_beijing_midnights_in_utc() -> None:
    period = parse_period("2025-H1")
    assert period.start_utc == dt.datetime(2024, 12, 31, 16, 0, tzinfo=dt.UTC)
    assert period.end_utc == dt.datetime(2025, 6, 30, 16, 0, tzinfo=dt.UTC)
    assert period.month_span_label == "1-6月"


def test_previous_and_same_period_last_year() -> None:
    assert parse_period("2025-H1").previous().key == "2024-H2"
    assert parse_period("2025-01").previous().key == "2024-12"
    assert parse_period("2025-Q1").same_last_year().key == "2024-Q1"
    assert parse_period("2025").previous().key == "2024"
    custom = parse_period("2025-03-01..2025-03-10")
    assert (custom.previous().first, custom.previous().last) == (dt.date(2025, 2, 19), dt.date(2025, 2, 28))
    leap = parse_period("2024-02-29")
    assert leap.same_last_year().first == dt.date(2023, 2, 28)


def test_months_of_a_period_are_clipped_to_it() -> None:
    months = parse_period("2025-01-15..2025-03-10").months()
    assert [(m.first, m.last) for m in months] == [
        (dt.date(2025, 1, 15), dt.date(2025, 1, 31)),
        (dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
        (dt.date(2025, 3, 1), dt.date(2025, 3, 10)),
    ]


@pytest.mark.parametrize("text", ["", "2025-13", "2025-H3", "2025-02-30", "去年", "2025-03-01..2025-02-01", "1999"])
def test_bad_periods_are_refused_in_chinese(text: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_period(text)
    assert caught.value.code == "invalid_period"
    assert "统计期间" in str(caught.value)


@pytest.mark.parametrize(
    ("period", "today", "previous", "last_year"),
    [
        # finished periods: the whole previous period and the whole same period a year earlier
        ("2025-10", dt.date(2025, 11, 3), "2025-09", "2024-10"),
        ("2025", dt.date(2026, 1, 1), "2024", "2024"),
        # running: the same span of each, so that part of a period never stands against a whole one
        ("2025-10", dt.date(2025, 10, 20), "2025-09-01..2025-09-20", "2024-10-01..2024-10-20"),
        ("2026", dt.date(2026, 12, 7), "2025-01-01..2025-12-07", "2025-01-01..2025-12-07"),
        ("2025-03", dt.date(2025, 3, 30), "2025-02", "2024-03-01..2024-03-30"),  # February has only 28 days
        ("2024-Q1", dt.date(2024, 2, 29), "2023-10-01..2023-11-29", "2023-01-01..2023-02-28"),  # leap day
        ("2025-W23", dt.date(2025, 6, 4), "2025-05-26..2025-05-28", "2024-06-03..2024-06-05"),  # 52 weeks back
        ("2025-06-01..2025-06-30", dt.date(2025, 6, 9), "2025-05-02..2025-05-10", "2024-06-01..2024-06-09"),
        # the last day of a period, and a period not begun yet: compared whole
        ("2025-10", dt.date(2025, 10, 31), "2025-09", "2024-10"),
        ("2025-10", dt.date(2025, 9, 1), "2025-09", "2024-10"),
    ],
)
def test_a_running_period_is_compared_with_the_same_span(
    period: str, today: dt.date, previous: str, last_year: str
) -> None:
    found_previous, found_last_year = parse_period(period).bases(today)
    assert (found_previous.key, found_last_year.key) == (previous, last_year)
