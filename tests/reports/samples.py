"""A hand-made dashboard for the renderers' tests: enough departments for red and black lists, names as long
as the caller wants (for the page layout), a case title typed by a hostile resident."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from civicgrid.cases.models import Case
from civicgrid.kpi.dashboard import Dashboard
from civicgrid.kpi.metrics import Counts, Figures, evaluate
from civicgrid.kpi.periods import parse_period
from civicgrid.kpi.ranking import OverdueCase, honour_lists, rank
from civicgrid.kpi.service import Comparison, Group, KpiQuery

COUNTED_AT = dt.datetime(2025, 7, 3, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
HOSTILE_TITLE = "<script>alert(1)</script> | *加急* [点我](http://x.example) &amp;"
DEPARTMENTS = tuple(f"第{i}科" for i in range(1, 7))


def group(key: str | None, label: str, received: int, closed: int, satisfied: int) -> Group:
    counts = Counts(
        received=received,
        registered=received,
        dispatched=received,
        closed=closed,
        closed_on_time=closed,
        rated=closed,
        satisfied=satisfied,
        due_to_respond=received,
        responded_on_time=received,
        resolved=closed,
    )
    figures = Figures(counts)
    return Group(key, label, figures, evaluate(figures))


def sample_dashboard(
    *,
    period: str = "2025-H1",
    scope_name: str = "海川街道",
    departments: Sequence[str] = DEPARTMENTS,
    overdue_titles: Sequence[str] = (HOSTILE_TITLE,),
) -> Dashboard:
    within = parse_period(period)
    units = [group(str(i), name, 10, 11 - i, 10 - i) for i, name in enumerate(departments, start=1)]
    total = group(None, within.label, 60, 45, 39)
    grids = [group("370299001001", "泰和社区", 40, 30, 26), group("370299001002", "华山社区", 20, 15, 13)]
    overdue = [
        OverdueCase(Case(number=f"2025060100000{i}", title=title), COUNTED_AT - dt.timedelta(days=3 + i), 3.25 + i)
        for i, title in enumerate(overdue_titles, start=1)
    ]
    months = [group(month.first.strftime("%Y-%m"), month.label, 10, 7, 6) for month in within.months()]
    return Dashboard(
        query=KpiQuery(within, "370299001"),
        scope_code="370299001",
        scope_name=scope_name,
        counted_at=COUNTED_AT,
        comparison=Comparison(total, group(None, "", 50, 40, 30), group(None, "", 0, 0, 0), within, within),
        trend=months,
        by_category=[group("01", "市容环境", 35, 30, 25), group(None, "未分类", 25, 15, 14)],
        by_grid=grids,
        by_department=units,
        by_channel=[group("hotline_12345", "12345热线", 60, 45, 39)],
        department_ranking=rank(units, "composite_score"),
        grid_ranking=rank(grids, "composite_score"),
        department_lists=honour_lists(units),
        grid_lists=honour_lists(grids),
        overdue_longest=overdue,
    )
