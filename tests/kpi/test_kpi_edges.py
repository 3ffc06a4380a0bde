"""The edge rules of the indicators, on cases driven through the real workflow: a duplicate, a suspended case,
a reopened one, a late and reworked one, a self-handled one, a rejected one, one never answered, and one reported
the month before but closed in this one. Every expected number is worked out by hand in the comments."""

from __future__ import annotations

from typing import Any

import pytest
from tests.cases.conftest import STREET, District, beijing
from tests.kpi.conftest import COUNTED_AT, Story

from civicgrid.cases.models import Case, Channel
from civicgrid.errors import InvalidInputError
from civicgrid.kpi import service
from civicgrid.kpi.comparable import Basis, Incomparable
from civicgrid.kpi.metrics import INDICATORS
from civicgrid.kpi.periods import parse_period
from civicgrid.kpi.ranking import honour_lists, longest_overdue, rank
from civicgrid.org.actor import Actor


def october(d: District, actor: Actor, **filters: Any) -> service.Group:
    query = service.KpiQuery(parse_period("2025-10"), **filters)
    return service.headline(d.session, actor, query, now=COUNTED_AT, settings=d.settings)


def test_the_counters_follow_the_edge_rules(district: District, story: Story) -> None:
    counts = october(district, district.dispatcher).figures.counts
    assert counts.received == 8  # all but September's case and the other street's (not the dispatcher's)
    assert counts.duplicates == 1
    assert counts.registered == 5  # on time, late, suspended, self-handled, reopened
    assert counts.rejected == 1
    assert counts.dispatched == 4  # self-handling is not dispatching
    assert counts.linked == 1
    assert counts.suspended == 1
    assert counts.closed == 3  # on time, late, self-handled; not the duplicate closed with its master
    assert counts.closed_on_time == 2  # self-handled on the spot counts as on time
    assert counts.reworked == 1
    assert counts.self_handled == 1
    assert (counts.rated, counts.satisfied, counts.unsatisfied) == (2, 1, 1)  # reopening cleared one rating
    assert counts.reopened == 1
    assert (counts.due_to_respond, counts.responded_on_time) == (8, 7)  # the unanswered one is past its time
    assert counts.resolved == 2  # closed and not rated 不满意
    assert (counts.handle_minutes_total, counts.handle_minutes_count) == (60 + 510, 2)
    assert counts.overdue_now == 2  # the unanswered one and the reopened one, flagged by the tick
    assert counts.ever_overdue == 3  # … and the late one


def test_the_rates_follow_their_formulas(district: District, story: Story) -> None:
    group = october(district, district.dispatcher)
    values = group.values
    assert values["registration_rate"] == pytest.approx(100 * 5 / 7)  # 立案 ÷ (受理 − 重复)
    assert values["closure_rate"] == pytest.approx(100 * 3 / 4)  # 办结 ÷ (应办结 − 挂账)
    assert values["on_time_closure_rate"] == pytest.approx(100 * 2 / 3)
    assert values["rework_rate"] == pytest.approx(100 / 3)
    assert values["extension_rate"] == 0.0
    assert values["self_handle_rate"] == pytest.approx(100 / 3)
    assert values["satisfaction_rate"] == 50.0
    assert values["duplicate_rate"] == pytest.approx(100 / 8)
    assert values["response_rate"] == pytest.approx(100 * 7 / 8)
    assert values["resolution_rate"] == 50.0
    assert values["average_handle_hours"] == pytest.approx(570 / 2 / 60)
    assert values["median_handle_hours"] == 1.0  # nearest rank ⌈2/2⌉ = the 1st of (60, 510)
    assert values["p90_handle_hours"] == 8.5  # ⌈0.9·2⌉ = the 2nd
    assert values["composite_score"] == pytest.approx(0.30 * 87.5 + 0.35 * 50 + 0.35 * 50)


def test_a_case_belongs_to_the_period_it_was_reported_in(district: District, story: Story) -> None:
    september = service.headline(
        district.session, district.dispatcher, service.KpiQuery(parse_period("2025-09")), now=COUNTED_AT
    )
    assert september.figures.counts.received == 1 and september.figures.counts.closed == 1
    empty = service.headline(district.session, district.dispatcher, service.KpiQuery(parse_period("2025-08")))
    assert empty.figures.counts.received == 0 and empty.values["closure_rate"] is None


def test_counting_never_leaves_the_actors_scope(district: District, story: Story) -> None:
    d = district
    assert october(d, d.district_dispatcher).figures.counts.received == 9  # the other street's case too
    assert october(d, d.other_dispatcher).figures.counts.received == 1
    assert october(d, d.grid_worker).figures.counts.received == 8  # her grid holds all of the street's cases
    assert october(d, d.resident).figures.counts.received == 0  # her own reports only: none
    # A grid inside the actor's scope is counted without the per-case readability test: the same numbers.
    assert october(d, d.dispatcher, grid_code=STREET).figures.counts == october(d, d.dispatcher).figures.counts
    # A grid outside it still counts only what the actor reads.
    assert october(d, d.cgj, grid_code=STREET).figures.counts.received == 1  # the case dispatched to 区城管局
    assert october(d, d.other_dispatcher, grid_code=STREET).figures.counts.received == 0


def test_breakdowns_add_up_and_are_labelled(district: District, story: Story) -> None:
    d = district
    query = service.KpiQuery(parse_period("2025-10"))
    whole = october(d, d.dispatcher).figures.counts
    for dimension in (service.Dimension.DEPARTMENT, service.Dimension.CHANNEL, service.Dimension.GRID):
        groups = service.breakdown(d.session, d.dispatcher, query, dimension, now=COUNTED_AT)
        total = groups[0].figures.counts
        for group in groups[1:]:
            total = total + group.figures.counts
        assert total == whole, dimension
    departments = {g.label: g for g in service.breakdown(d.session, d.dispatcher, query, service.Dimension.DEPARTMENT)}
    assert departments["区城市管理局"].figures.counts.closed == 1
    assert departments["区市场监督管理局"].assisted == 1  # assisting shows, but earns nothing
    assert departments["区市场监督管理局"].figures.counts.received == 0
    channels = {g.label for g in service.breakdown(d.session, d.dispatcher, query, service.Dimension.CHANNEL)}
    assert channels == {"12345热线", "网格员巡查"}


def test_filters_narrow_the_cohort(district: District, story: Story) -> None:
    d = district
    assert october(d, d.dispatcher, channel=Channel.GRID_PATROL).figures.counts.received == 1
    assert october(d, d.dispatcher, category_code="01").figures.counts.received == 5  # those registered
    cgj = next(
        g
        for g in service.breakdown(
            d.session, d.dispatcher, service.KpiQuery(parse_period("2025-10")), service.Dimension.DEPARTMENT
        )
        if g.label == "区城市管理局"
    )
    assert cgj.key is not None
    assert october(d, d.dispatcher, department_id=int(cgj.key)).figures.counts.closed == 1


def test_trend_has_every_day_of_a_month(district: District, story: Story) -> None:
    points = service.trend(district.session, district.dispatcher, service.KpiQuery(parse_period("2025-10")))
    assert len(points) == 31 and points[8].label == "10月9日"
    assert points[8].figures.counts.received == 8 and sum(p.figures.counts.received for p in points) == 8


def test_comparison_with_the_previous_period(district: District, story: Story) -> None:
    october = service.KpiQuery(parse_period("2025-10"))
    after = beijing(2025, 11, 3, 9, 0)
    comparison = service.compare(district.session, district.dispatcher, october, now=after)
    assert comparison.previous_period.key == "2025-09" and comparison.last_year_period.key == "2024-10"
    assert comparison.previous.figures.counts.received == 1
    # The data begins on 30 September (the story's first case): neither September nor last October is comparable.
    assert comparison.previous_basis and comparison.previous_basis.problem is Incomparable.DATA_INCOMPLETE
    assert (
        comparison.change("received", Basis.PREVIOUS) is None and comparison.change("received", Basis.LAST_YEAR) is None
    )
    # While October runs (counted on the 20th) it is set against the same twenty days of September and last October.
    running = service.compare(district.session, district.dispatcher, october, now=COUNTED_AT)
    assert running.previous_period.key == "2025-09-01..2025-09-20"
    assert running.last_year_period.key == "2024-10-01..2024-10-20"
    assert running.previous.figures.counts.received == 0  # the September case came on the 30th
    assert service.change(8, 1, rate=False) == 700.0  # counts: percent change
    assert service.change(75.0, 100.0, rate=True) == -25.0  # rates: percentage points
    assert service.change(5, 0, rate=False) is None


def test_rankings_and_the_overdue_list(district: District, story: Story) -> None:
    d = district
    groups = service.breakdown(
        d.session, d.dispatcher, service.KpiQuery(parse_period("2025-10")), service.Dimension.DEPARTMENT
    )
    ranked = rank(groups, "closure_rate", min_cases=1)
    assert [entry.rank for entry in ranked if entry.rank is not None] == sorted(
        entry.rank for entry in ranked if entry.rank is not None
    )
    assert ranked[-1].rank is None  # the cases nobody leads are never ranked
    with pytest.raises(ValueError, match="数量指标"):
        rank(groups, "received")
    lists = honour_lists(groups, "closure_rate", size=1)
    assert not {id(e.group) for e in lists.red} & {id(e.group) for e in lists.black}
    overdue = longest_overdue(d.session, d.dispatcher, now=COUNTED_AT)
    assert [entry.case.number for entry in overdue] == [story.unanswered.number, story.reopened.number]
    assert overdue[0].overdue_days > 10
    elsewhere = longest_overdue(d.session, d.other_dispatcher, now=COUNTED_AT)
    assert [entry.case.number for entry in elsewhere] == [story.other_street.number]  # nothing of this street


def test_every_indicator_has_a_formula_and_docs_repeat_it() -> None:
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "KPI.md").read_text(encoding="utf-8")
    for indicator in INDICATORS.values():
        assert indicator.formula.startswith(indicator.label), indicator.key
        assert indicator.formula in " ".join(docs.split()), f"docs/KPI.md lacks the formula of {indicator.label}"


def test_an_independent_recount_from_the_export_agrees(district: District, story: Story) -> None:
    from dataclasses import asdict

    from tests.kpi.recount import nearest_rank_percentiles, read_detail, recount

    from civicgrid.kpi.detail import detail_workbook

    d = district
    query = service.KpiQuery(parse_period("2025-10"))
    frame = read_detail(detail_workbook(d.session, d.dispatcher, query))
    assert len(frame) == 8 and story.earlier.number not in set(frame["案件编号"])
    group = service.headline(d.session, d.dispatcher, query, now=COUNTED_AT)
    assert recount(frame, COUNTED_AT) == asdict(group.figures.counts)
    figures = group.figures
    assert nearest_rank_percentiles(frame) == (figures.median_handle_minutes, figures.p90_handle_minutes)


@pytest.mark.parametrize("filters", [{}, {"channel": Channel.HOTLINE_12345}, {"category_code": "01"}])
def test_each_figures_cases_are_exactly_what_it_counts(district: District, story: Story, filters: Any) -> None:
    """The list behind a figure (``indicator_filter``) holds the cases its counter counts — the duplicate closed
    with its master, the suspended, reopened and unanswered cases each where the edge rules put them."""
    from sqlalchemy import func, select

    from civicgrid.cases.auth import readable
    from civicgrid.cases.queries import filtered

    d = district
    query = service.KpiQuery(parse_period("2025-10"), **filters)
    counts = october(d, d.dispatcher, **filters).figures.counts
    for key, indicator in INDICATORS.items():
        if indicator.cases is None:
            with pytest.raises(InvalidInputError, match="没有对应的案件清单"):
                service.indicator_filter(query, key, COUNTED_AT)
            continue
        cases = filtered(
            readable(select(func.count()).select_from(Case), d.dispatcher),
            service.indicator_filter(query, key, COUNTED_AT),
        )
        assert d.session.execute(cases).scalar_one() == indicator.cases.size(counts), key


def test_the_rounding_every_page_report_and_export_shares() -> None:
    from civicgrid.kpi.metrics import Unit, format_value, rounded

    assert rounded(2.81359649122807, Unit.HOURS) == 2.8 and format_value(2.81359649122807, Unit.HOURS) == "2.8"
    assert rounded(99.27083333333334, Unit.PERCENT) == 99.3 and format_value(99.95, Unit.PERCENT) == "100.0"
    assert rounded(5147, Unit.CASES) == 5147 and format_value(5147, Unit.CASES) == "5,147"
    assert rounded(None, Unit.SCORE) is None and format_value(None, Unit.SCORE) == "—"
