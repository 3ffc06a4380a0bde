"""The rule for a 环比/同比 (kpi.comparable): at its edges — the fewest cases, the least coverage by the data — and
where the data begins (each district's first case)."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.cases.conftest import DISTRICT, OTHER_STREET, STREET, District
from tests.kpi.conftest import Story

from civicgrid.kpi.comparable import MIN_CASES, MIN_COVERAGE, Basis, Comparability, Incomparable, data_start
from civicgrid.kpi.periods import parse_period

OCTOBER = parse_period("2025-10")  # 31 days
TWENTY_DAYS = parse_period("2025-06-01..2025-06-20")


def judged(period_cases: int, data_from: dt.date | None, period: str = "2025-10") -> Comparability:
    return Comparability(Basis.LAST_YEAR, parse_period(period), period_cases, data_from)


@pytest.mark.parametrize(
    ("received", "data_from", "problem"),
    [
        (MIN_CASES, dt.date(2020, 1, 1), None),  # just enough cases
        (MIN_CASES - 1, dt.date(2020, 1, 1), Incomparable.TOO_FEW_CASES),
        (0, dt.date(2020, 1, 1), Incomparable.TOO_FEW_CASES),
        (500, None, Incomparable.DATA_INCOMPLETE),  # no case at all (cannot happen with 500, but the rule holds)
        (500, dt.date(2025, 11, 1), Incomparable.DATA_INCOMPLETE),  # the data begins after the period
        (500, dt.date(2025, 10, 2), None),  # 30 of 31 days: 96.8 %
        (500, dt.date(2025, 10, 3), Incomparable.DATA_INCOMPLETE),  # 29 of 31 days: 93.5 %
        (5, dt.date(2025, 10, 20), Incomparable.DATA_INCOMPLETE),  # both wrong: the coverage is said first
    ],
)
def test_the_edges_of_the_rule(received: int, data_from: dt.date | None, problem: Incomparable | None) -> None:
    found = judged(received, data_from)
    assert found.problem is problem
    assert found.comparable is (problem is None)
    assert (found.reason == "") is (problem is None)


def test_exactly_the_least_coverage_is_enough() -> None:
    enough = Comparability(Basis.PREVIOUS, TWENTY_DAYS, 100, dt.date(2025, 6, 2))  # 19 of 20 days
    assert enough.coverage == MIN_COVERAGE == 0.95 and enough.comparable
    short = Comparability(Basis.PREVIOUS, TWENTY_DAYS, 100, dt.date(2025, 6, 3))
    assert short.coverage == 0.9 and short.problem is Incomparable.DATA_INCOMPLETE
    assert Comparability(Basis.PREVIOUS, TWENTY_DAYS, 100, dt.date(2019, 1, 1)).coverage == 1.0


def test_what_is_said_instead_of_a_percentage() -> None:
    assert judged(3, dt.date(2020, 1, 1)).unavailable == "上年同期无可比数据"
    previous = Comparability(Basis.PREVIOUS, OCTOBER, 3, dt.date(2020, 1, 1))
    assert previous.unavailable == "上期无可比数据"
    assert previous.reason == "上期（2025年10月）仅受理3件，少于10件，不作比较"
    assert (
        judged(500, dt.date(2025, 10, 25)).reason == "数据自2025年10月25日起，上年同期（2025年10月）只有23%的天数有数据"
    )
    assert judged(0, dt.date(2026, 1, 1)).reason == "数据自2026年1月1日起，上年同期（2025年10月）没有数据"
    assert judged(0, None).reason == "上年同期（2025年10月）没有数据"
    assert (Basis.PREVIOUS.word, Basis.LAST_YEAR.word) == ("环比", "同比")


def test_the_data_begins_with_the_districts_first_case(district: District, story: Story) -> None:
    session = district.session
    first = story.earlier.reported_at  # 30 September 2025, 16:00 Beijing: the story's first case
    assert (
        data_start(session, STREET)
        == dt.date(2025, 9, 30)
        == first.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    )
    assert data_start(session, OTHER_STREET) == dt.date(2025, 9, 30)  # a street is judged by its district's start
    assert data_start(session, DISTRICT) == data_start(session, None) == dt.date(2025, 9, 30)
    assert data_start(session, "37") == dt.date(2025, 9, 30)  # above the districts: the latest of theirs


def test_without_any_case_there_is_no_start(district: District) -> None:
    assert data_start(district.session, STREET) is None
    assert data_start(district.session, None) is None


def test_the_docs_state_the_rule_as_the_code_has_it() -> None:
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "KPI.md").read_text(encoding="utf-8")
    assert f"至少 {MIN_COVERAGE:.0%} 的天数" in docs and f"不少于 {MIN_CASES} 件" in docs
