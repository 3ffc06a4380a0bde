"""Everything the leader dashboard and the work report show for one query, computed in one place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.kpi.hotline import hotline_comparison
from civicgrid.kpi.periods import Period
from civicgrid.kpi.ranking import HonourLists, OverdueCase, Ranked, honour_lists, longest_overdue, rank
from civicgrid.kpi.service import (
    Comparison,
    Dimension,
    Group,
    KpiQuery,
    as_headline,
    breakdowns,
    compare,
    fill_trend,
    scope_root,
    trend_dimension,
    weights_from,
    with_percentiles,
)
from civicgrid.org.actor import Actor
from civicgrid.settings import Settings, get_settings


@dataclass(frozen=True)
class Dashboard:
    query: KpiQuery
    scope_code: str
    scope_name: str
    counted_at: dt.datetime  # 统计截至
    comparison: Comparison  # headline figures, 环比 and 同比
    trend: list[Group]
    by_category: list[Group]
    by_grid: list[Group]
    by_department: list[Group]
    by_channel: list[Group]
    department_ranking: list[Ranked]
    grid_ranking: list[Ranked]
    department_lists: HonourLists
    grid_lists: HonourLists
    overdue_longest: list[OverdueCase]
    hotline: Comparison | None = None  # the 12345 三率 over the hotline channels (kpi.hotline); None: not counted

    @property
    def period(self) -> Period:
        return self.query.period


def build_dashboard(
    session: Session,
    actor: Actor,
    query: KpiQuery,
    *,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> Dashboard:
    """The whole dashboard for the query's period within the actor's scope (or ``query.grid_code``)."""
    now = now or timesource.now()
    root = scope_root(session, actor, query.grid_code)
    query = replace(query, grid_code=root.code)

    # Two passes over the period's cases give every table: counts add up, so each pass serves several.
    weights = weights_from(settings or get_settings())
    trend_by = trend_dimension(query.period)
    places = breakdowns(session, actor, query, [Dimension.WHOLE, Dimension.GRID, Dimension.CATEGORY], now=now)
    flows = breakdowns(session, actor, query, [Dimension.DEPARTMENT, Dimension.CHANNEL, trend_by], now=now)
    whole = with_percentiles(session, actor, query, as_headline(query, places[Dimension.WHOLE], weights))
    departments, grids = flows[Dimension.DEPARTMENT], places[Dimension.GRID]
    return Dashboard(
        query=query,
        scope_code=root.code,
        scope_name=root.name,
        counted_at=now,
        comparison=compare(session, actor, query, now=now, settings=settings, current=whole),
        hotline=hotline_comparison(session, actor, query, now=now, settings=settings),
        trend=fill_trend(query.period, flows[trend_by], weights),
        by_category=places[Dimension.CATEGORY],
        by_grid=grids,
        by_department=departments,
        by_channel=flows[Dimension.CHANNEL],
        department_ranking=rank(departments, "composite_score"),
        grid_ranking=rank(grids, "composite_score"),
        department_lists=honour_lists(departments),
        grid_lists=honour_lists(grids),
        overdue_longest=longest_overdue(session, actor, grid_code=root.code, now=now),
    )
