"""The KPI module against an independent recount, on a generated year of cases (both backends): every counter of
the headline, of each department and of each month, and the handling-time percentiles, recounted with pandas from
the 案件明细 Excel export must equal what the SQL aggregates give — exactly. Three ways of counting are checked:
the leader's readable cases, her street asked by grid code, and the same from the monthly roll-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.conftest import rolled_back_session
from tests.kpi.recount import nearest_rank_percentiles, read_detail, recount

from civicgrid import timesource
from civicgrid.demo.district import build_demo
from civicgrid.demo.history import HistoryOptions, generate_history
from civicgrid.kpi import rollup, service
from civicgrid.kpi.detail import detail_workbook
from civicgrid.kpi.periods import parse_period
from civicgrid.org.actor import Actor
from civicgrid.org.service import actor_for, get_user
from civicgrid.settings import Settings

BEIJING = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 24, 10, 30, tzinfo=BEIJING)
CASES = 2500


@dataclass
class Year:
    session: Session
    leader: Actor
    frame: pd.DataFrame
    query: service.KpiQuery


@pytest.fixture(scope="module")
def year(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Year]:
    settings = Settings(var_dir=tmp_path_factory.mktemp("var"), database_url="sqlite://")
    with rolled_back_session(engine) as session:
        build_demo(session, settings=settings)
        options = HistoryOptions(cases=CASES, start=dt.date(2025, 11, 24), end=dt.date(2026, 11, 23), seed=7)
        with timesource.pinned(NOW):
            generate_history(session, options, settings=settings, now=NOW)
        session.flush()
        leader = actor_for(session, get_user(session, "leader"))
        query = service.KpiQuery(parse_period("2025-11-24..2026-11-23"))
        frame = read_detail(detail_workbook(session, leader, query))
        yield Year(session, leader, frame, query)


@pytest.fixture(scope="module", params=["readable", "grid", "rollup"])
def counted(year: Year, request: pytest.FixtureRequest) -> Iterator[Year]:
    """The year counted over what the leader reads (no grid asked), over her street by its code, and over her
    street from the roll-up's cells (built for the 11 whole months inside the year, inside a savepoint)."""
    if request.param == "readable":
        yield year
        return
    (street,) = year.leader.grid_codes
    query = replace(year.query, grid_code=street)
    frame = read_detail(detail_workbook(year.session, year.leader, query))
    if request.param == "grid":
        yield Year(year.session, year.leader, frame, query)
        return
    savepoint = year.session.begin_nested()
    built = rollup.refresh(year.session)
    assert len(rollup.current_months(year.session, query.period)) == 11, built
    yield Year(year.session, year.leader, frame, query)
    savepoint.rollback()


def test_the_headline_recounts_exactly(counted: Year) -> None:
    whole = service.headline(counted.session, counted.leader, counted.query, now=NOW)
    assert len(counted.frame) == whole.figures.counts.received > 0.9 * CASES  # the leader's street: most of them
    assert recount(counted.frame, NOW) == asdict(whole.figures.counts)
    assert nearest_rank_percentiles(counted.frame) == (
        whole.figures.median_handle_minutes,
        whole.figures.p90_handle_minutes,
    )
    assert whole.figures.counts.closed > 0.9 * CASES and whole.figures.counts.rated > 0  # a year worth checking


def test_each_department_recounts_exactly(counted: Year) -> None:
    groups = service.breakdown(
        counted.session, counted.leader, counted.query, service.Dimension.DEPARTMENT, now=NOW, percentiles=True
    )
    leading = [group for group in groups if group.key is not None and group.figures.counts.received]
    assert len(leading) >= 3
    for group in leading:
        rows = counted.frame[counted.frame["主办部门"] == group.label]
        assert recount(rows, NOW) == asdict(group.figures.counts), group.label
        medians = (group.figures.median_handle_minutes, group.figures.p90_handle_minutes)
        assert nearest_rank_percentiles(rows) == medians, group.label


def test_each_month_recounts_exactly(counted: Year) -> None:
    months = service.breakdown(counted.session, counted.leader, counted.query, service.Dimension.MONTH, now=NOW)
    assert len(months) == 13  # 24 November 2025 … 23 November 2026
    reported = counted.frame["受理时间"].dt.strftime("%Y-%m")
    for month in months:
        assert recount(counted.frame[reported == month.key], NOW) == asdict(month.figures.counts), month.key
