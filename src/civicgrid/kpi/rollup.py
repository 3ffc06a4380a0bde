"""The KPI roll-up: building each month's cells from the cases, and finding the months that can be read from them.

Counts add up, so the counters of a whole month summed per (place, category, main department, channel) give every
table the dashboard shows for that month exactly. The triggers of migration 0006 count each change to a case into
its report month's ``changes``; building a month records the count it saw *before* reading the cases, so a change
that commits while the month is being built leaves it behind (``built_changes < changes``) and it is read from
the cases until the next build. The scheduler (and `civicgrid kpi rollup`) builds what is behind.

What the cells cannot hold is read live by ``kpi.service``: the unanswered cases that have become due to answer
since (``metrics.due_unanswered``), partial months at the period's edges, months behind, and the handling-time
median and P90.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    SQLColumnExpression,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from civicgrid.cases.models import Case
from civicgrid.kpi.metrics import COUNTER_NAMES, counter_columns
from civicgrid.kpi.models import CELL_TABLES, CODE_LENGTHS, FULL_CODE, KpiRollupMonth
from civicgrid.kpi.periods import Granularity, Period, parse_period


def month_key(period: Period) -> str:
    """'2025-06' for a period starting in June 2025 (the ``month`` of the roll-up's tables)."""
    return f"{period.first.year:04d}-{period.first.month:02d}"


@dataclass(frozen=True)
class BuildReport:
    months: list[str]  # the months rebuilt, in order
    cells: int  # cells written

    def __str__(self) -> str:
        return f"统计汇总：重建 {len(self.months)} 个月，{self.cells} 个汇总格"


def refresh(session: Session, *, rebuild_all: bool = False) -> BuildReport:
    """Build every month whose cells are missing or behind its cases (every month with ``rebuild_all``)."""
    stmt = select(KpiRollupMonth.month, KpiRollupMonth.changes).order_by(KpiRollupMonth.month)
    if not rebuild_all:
        stmt = stmt.where(_behind())
    behind = session.execute(stmt).all()
    cells = sum(build_month(session, month, seen) for month, seen in behind)
    return BuildReport([month for month, _ in behind], cells)


def build_month(session: Session, month: str, seen_changes: int) -> int:
    """Replace one month's cells with counts from its cases; ``seen_changes`` is the month's change count read
    before this call. Returns the number of cells written."""
    period = parse_period(month)
    counters = counter_columns(None)
    written = 0
    for table in CELL_TABLES:
        session.execute(delete(table).where(table.c.month == month))
        names = ["month", "code_length", *(column.name for column in cell_keys(table)), *COUNTER_NAMES]
        keys = [_CASE_COLUMNS[column.name] for column in cell_keys(table)]
        uncut = (
            select(literal(month), literal(FULL_CODE), *keys, *(counters[name] for name in COUNTER_NAMES))
            .where(Case.reported_at >= period.start_utc, Case.reported_at < period.end_utc)
            .group_by(*keys)
        )
        session.execute(insert(table).from_select(names, uncut))
        for length in CODE_LENGTHS:  # each size of place summed from the uncut cells, not from the cases again
            session.execute(insert(table).from_select(names, _cut(table, month, length)))
        # counted, not the INSERT's rowcount: psycopg reports -1 for INSERT … SELECT
        written += session.execute(select(func.count()).where(table.c.month == month)).scalar_one()
    session.execute(update(KpiRollupMonth).where(KpiRollupMonth.month == month).values(built_changes=seen_changes))
    return written


def _cut(table: Table, month: str, length: int) -> Select[Any]:
    place = func.substr(table.c.scope_code, 1, length)
    others = [column for column in cell_keys(table) if column.name != "scope_code"]
    return (
        select(literal(month), literal(length), place, *others, *(func.sum(table.c[name]) for name in COUNTER_NAMES))
        .where(table.c.month == month, table.c.code_length == FULL_CODE)
        .group_by(place, *others)
    )


def code_length_for(needed: int) -> int:
    """The coarsest size of place whose cells still tell apart codes of ``needed`` characters."""
    return min((length for length in CODE_LENGTHS if length >= needed), default=FULL_CODE)


def cell_keys(table: Table) -> list[Column[Any]]:
    """The columns a cell table is keyed by besides its month: the place, and category or department and channel."""
    return [column for column in table.c if column.name not in ("id", "month", "code_length", *COUNTER_NAMES)]


def cells_keeping(columns: set[str]) -> Table | None:
    """The narrowest cell table that has all of ``columns`` (to group or filter by), if one has."""
    return next((table for table in CELL_TABLES if columns <= {column.name for column in cell_keys(table)}), None)


_CASE_COLUMNS: dict[str, SQLColumnExpression[Any]] = {
    "scope_code": Case.scope_code,
    "category_id": Case.category_id,
    "department_id": Case.main_department_id,
    "channel": Case.channel,
}


def current_months(session: Session, period: Period) -> list[Period]:
    """The whole calendar months inside ``period`` whose cells are up to date with their cases."""
    whole = {month_key(month): month for month in period.months() if _is_whole_month(month)}
    if not whole:
        return []
    current = session.execute(
        select(KpiRollupMonth.month).where(
            KpiRollupMonth.month.in_(list(whole)), KpiRollupMonth.built_changes == KpiRollupMonth.changes
        )
    ).scalars()
    return sorted((whole[month] for month in current), key=lambda month: month.first)


def _is_whole_month(month: Period) -> bool:
    return month.first.day == 1 and (month.last + dt.timedelta(days=1)).day == 1


def segments(period: Period, months: list[Period], *, inside: bool) -> list[Period]:
    """The runs of consecutive days of ``period`` that are (``inside``) or are not in ``months``, as periods."""
    taken = {month.first for month in months}
    runs: list[Period] = []
    for month in period.months():
        if (month.first in taken) != inside:
            continue
        if runs and runs[-1].end == month.first:
            runs[-1] = Period(runs[-1].first, month.last, Granularity.CUSTOM)
        else:
            runs.append(Period(month.first, month.last, Granularity.CUSTOM))
    return runs


def behind_count(session: Session) -> int:
    """How many months are not built or behind their cases (for status pages and tests)."""
    return int(session.execute(select(func.count()).where(_behind())).scalar_one())


def _behind() -> ColumnElement[bool]:
    """Months without cells, or whose cases changed since their cells were built."""
    return KpiRollupMonth.built_changes.is_(None) | (KpiRollupMonth.built_changes != KpiRollupMonth.changes)
