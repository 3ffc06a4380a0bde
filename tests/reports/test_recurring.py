"""突出问题: the same kind of problem again and again in one grid, counted within the actor's scope."""

from __future__ import annotations

from tests.cases.conftest import OTHER_STREET, OTHER_UNIT, UNIT
from tests.reports.conftest import RUBBISH, Quarter

from civicgrid.kpi.periods import parse_period
from civicgrid.kpi.recurring import recurring_problems
from civicgrid.kpi.service import KpiQuery
from civicgrid.org.actor import Actor

Q3 = parse_period("2025-Q3")


def groups(quarter: Quarter, actor: Actor, period: str = "2025-Q3", **options: int) -> list[tuple[str, str, int]]:
    found = recurring_problems(quarter.d.session, actor, KpiQuery(parse_period(period)), **options)
    return [(problem.category_code, problem.place.code, problem.count) for problem in found]


def test_a_problem_recurring_in_one_grid_is_found_with_its_count_and_latest_case(quarter: Quarter) -> None:
    d = quarter.d
    [problem] = recurring_problems(d.session, d.leader, KpiQuery(Q3))  # at least 3 cases by default
    # Four closed rubbish cases in the unit; the rejected report and the merged duplicate there are not occurrences.
    assert (problem.category_code, problem.category_name, problem.place.code, problem.count) == (
        RUBBISH,
        "暴露垃圾",
        UNIT,
        4,
    )
    assert problem.example_number == quarter.recurring_unit[-1].number
    assert problem.sentence == "泰和社区（泰和第01网格）暴露垃圾问题反复出现（4件）"


def test_the_threshold_and_the_limit_decide_what_is_listed_most_first(quarter: Quarter) -> None:
    leader = quarter.d.leader
    assert groups(quarter, leader, min_cases=2) == [(RUBBISH, UNIT, 4), (RUBBISH, OTHER_UNIT, 2)]
    assert groups(quarter, leader, min_cases=2, limit=1) == [(RUBBISH, UNIT, 4)]
    assert groups(quarter, leader, min_cases=5) == []


def test_only_cases_reported_in_the_period_count(quarter: Quarter) -> None:
    leader = quarter.d.leader
    assert groups(quarter, leader, "2025-Q2", min_cases=2) == [(RUBBISH, UNIT, 2)]
    assert groups(quarter, leader, "2024-Q3") == [(RUBBISH, UNIT, 3)]
    assert groups(quarter, leader, "2023") == []


def test_recurring_problems_never_leave_the_actors_scope(quarter: Quarter) -> None:
    d = quarter.d
    assert groups(quarter, d.leader) == [(RUBBISH, UNIT, 4)]  # the other street's three reports are not hers
    assert groups(quarter, d.other_dispatcher) == [(RUBBISH, OTHER_STREET, 3)]
    assert groups(quarter, d.district_dispatcher) == [(RUBBISH, UNIT, 4), (RUBBISH, OTHER_STREET, 3)]
    assert groups(quarter, d.resident) == []
    in_street = recurring_problems(d.session, d.district_dispatcher, KpiQuery(Q3, grid_code=OTHER_STREET))
    assert [problem.sentence for problem in in_street] == ["东城街道暴露垃圾问题反复出现（3件）"]
