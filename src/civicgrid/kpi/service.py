"""Computing the indicators: one SQL aggregate per breakdown, always within the actor's readable cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Select, SQLColumnExpression, Table, and_, false, func, literal, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, aliased

from civicgrid import timesource
from civicgrid.cases.auth import readable
from civicgrid.cases.models import CHANNEL_LABELS, AssignmentRole, Case, CaseAssignment, CaseType, Category, Channel
from civicgrid.cases.queries import CaseFilter, filtered
from civicgrid.code_prefix import code_starts_with
from civicgrid.errors import InvalidInputError, NotFoundError
from civicgrid.grid.index import GridIndex, grid_index
from civicgrid.grid.models import GridNode
from civicgrid.kpi.comparable import Basis, Comparability, data_start
from civicgrid.kpi.metrics import (
    COUNTER_NAMES,
    INDICATORS,
    Counts,
    Figures,
    Weights,
    counter_columns,
    due_unanswered,
    evaluate,
    handling_time_condition,
)
from civicgrid.kpi.periods import BEIJING, Period
from civicgrid.kpi.rollup import cells_keeping, code_length_for, current_months, month_key, segments
from civicgrid.kpi.sql import beijing_day, beijing_month
from civicgrid.org.actor import ALL_GRIDS, Actor
from civicgrid.org.models import Department, User
from civicgrid.org.roles import Permission
from civicgrid.settings import Settings, get_settings


class Dimension(StrEnum):
    WHOLE = "whole"  # one group: everything counted
    GRID = "grid"  # the scope grid's children
    DEPARTMENT = "department"  # the main department (主办); assisting departments are counted separately
    CATEGORY = "category"  # top-level categories, or the children of the filtered category
    CHANNEL = "channel"
    CASE_TYPE = "case_type"
    GRID_WORKER = "grid_worker"  # cases a grid worker reported on patrol
    MONTH = "month"
    DAY = "day"

    @property
    def label(self) -> str:
        return {
            "grid": "网格",
            "department": "部门",
            "category": "类别",
            "channel": "来源渠道",
            "case_type": "案件类型",
            "grid_worker": "网格员",
            "month": "月份",
            "day": "日期",
            "whole": "合计",
        }[self.value]


@dataclass(frozen=True)
class KpiQuery:
    """What to count: a period's cohort (cases reported in it), narrowed by any of the filters."""

    period: Period
    grid_code: str | None = None  # a grid subtree; None = everything the actor reads
    department_id: int | None = None  # main department
    category_code: str | None = None  # a category subtree
    channel: Channel | None = None
    case_type_code: str | None = None
    channel_group: frozenset[Channel] = frozenset()  # several channels (the hotlines); empty = no such filter

    def for_period(self, period: Period) -> KpiQuery:
        return replace(self, period=period)

    def channels(self) -> frozenset[Channel] | None:
        """The channels counted (both channel filters at once); None: every channel."""
        if self.channel is None:
            return self.channel_group or None
        return frozenset({self.channel}) & self.channel_group if self.channel_group else frozenset({self.channel})


@dataclass(frozen=True)
class Group:
    """One row of a KPI table: a group's key, its name and its indicator values."""

    key: str | None
    label: str
    figures: Figures
    values: dict[str, float | int | None]
    assisted: int = 0  # cases the department assisted (协办), for the department dimension only


def weights_from(settings: Settings) -> Weights:
    return Weights(settings.kpi_weight_response, settings.kpi_weight_resolution, settings.kpi_weight_satisfaction)


def cohort(actor: Actor, query: KpiQuery) -> Select[Any]:
    """The cases a query counts, as a statement over ``case`` (select the columns you need from it).

    A query for a grid the actor covers needs no readability test per case: every case located in that subtree
    is in her scope, and the grid filter drops everything else. Skipping the test's OR (scope, escalation,
    departments, own reports) for the dashboard's usual query is what keeps PostgreSQL on a plain range scan."""
    stmt = select(Case.id) if _covered(actor, query) else readable(select(Case.id), actor)
    return filtered(stmt, cohort_filter(query))


def cohort_filter(query: KpiQuery) -> CaseFilter:
    """The query's cohort as the case list's filter (period, grid, main department, category, channels, case
    type) — the one definition ``cohort`` counts and a figure's case list selects."""
    conditions: list[ColumnElement[bool]] = []
    if query.category_code:  # a subquery, not filtered()'s join: the category breakdown joins the table itself
        subtree = select(Category.id).where(code_starts_with(Category.code, query.category_code))
        conditions.append(Case.category_id.in_(subtree))
    if query.case_type_code:
        conditions.append(Case.case_type_code == query.case_type_code)
    channels = query.channels()
    if channels is not None and not channels:  # two channel filters that exclude each other
        conditions.append(false())
    return CaseFilter(
        grid_code=query.grid_code,
        main_department_ids=() if query.department_id is None else (query.department_id,),
        channels=sorted(channels or ()),
        reported_from=query.period.start_utc,
        reported_to=query.period.end_utc,
        conditions=conditions,
    )


def indicator_filter(query: KpiQuery, indicator_key: str, now: dt.datetime) -> CaseFilter:
    """The cases behind one figure of the query — those it counts, or the ones a rate or time is computed over —
    as the case list's filter: the cohort and the indicator's own selection (``Indicator.cases``)."""
    indicator = INDICATORS.get(indicator_key)
    if indicator is None or indicator.cases is None:
        raise InvalidInputError(
            f"指标“{indicator_key}”没有对应的案件清单", code="invalid_indicator", detail={"indicator": indicator_key}
        )
    criteria = cohort_filter(query)
    return replace(criteria, conditions=[*criteria.conditions, indicator.cases.condition(now)])


def _covered(actor: Actor, query: KpiQuery) -> bool:
    return bool(query.grid_code) and actor.has(Permission.CASE_READ) and actor.covers_grid(query.grid_code or "")


def headline(
    session: Session,
    actor: Actor,
    query: KpiQuery,
    *,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
    percentiles: bool = True,
) -> Group:
    """The figures of the whole query (one group); ``percentiles=False`` skips the handling-time median and P90
    (a second pass over the cases)."""
    found = breakdowns(session, actor, query, [Dimension.WHOLE], now=now, settings=settings)[Dimension.WHOLE]
    whole = as_headline(query, found, weights_from(settings or get_settings()))
    return with_percentiles(session, actor, query, whole) if percentiles else whole


def as_headline(query: KpiQuery, whole: list[Group], weights: Weights) -> Group:
    """The one group of a ``Dimension.WHOLE`` breakdown as the query's headline (empty when nothing counted)."""
    group = whole[0] if whole else _empty_group(None, weights)
    return replace(group, key=None, label=query.period.label)


def with_percentiles(session: Session, actor: Actor, query: KpiQuery, whole: Group) -> Group:
    """The headline with the handling-time median and P90 of all the query's cases."""
    median, p90 = _percentiles(session, cohort(actor, query), literal("all")).get("all", (None, None))
    return _regroup(whole, whole.figures.counts, median, p90)


def _empty_group(key: str | None, weights: Weights) -> Group:
    empty = Figures(Counts(), weights=weights)
    return Group(key, key or "", empty, evaluate(empty))


def _regroup(group: Group, counts: Counts, median: int | None = None, p90: int | None = None) -> Group:
    figures = Figures(counts, median, p90, group.figures.weights)
    return replace(group, figures=figures, values=evaluate(figures))


@dataclass(frozen=True)
class Comparison:
    current: Group
    previous: Group  # 环比
    last_year: Group  # 同比
    previous_period: Period
    last_year_period: Period
    previous_basis: Comparability | None = None  # whether 环比 may be computed (None: not judged, it may)
    last_year_basis: Comparability | None = None

    def basis(self, basis: Basis) -> Comparability | None:
        return self.previous_basis if basis is Basis.PREVIOUS else self.last_year_basis

    def comparable(self, basis: Basis) -> bool:
        judged = self.basis(basis)
        return judged is None or judged.comparable

    def change(self, key: str, basis: Basis) -> float | None:
        """The indicator's 环比 or 同比 (``change``); None when there is nothing to compare with, or when the
        comparison period is not comparable (``kpi.comparable``)."""
        if not self.comparable(basis):
            return None
        earlier = self.previous if basis is Basis.PREVIOUS else self.last_year
        return change(self.current.values[key], earlier.values[key], rate=INDICATORS[key].changes_in_points)


def compare(
    session: Session,
    actor: Actor,
    query: KpiQuery,
    *,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
    current: Group | None = None,
) -> Comparison:
    """The query's figures with 环比 and 同比 (counts only for the earlier periods), each judged comparable or not
    (``kpi.comparable``). A running period is compared with the same span of the earlier ones
    (``Period.bases``). A caller that already has the current figures passes them as ``current``; a year's
    previous period is its last year, counted once."""
    now = now or timesource.now()
    previous_period, last_year_period = query.period.bases(now.astimezone(BEIJING).date())

    def counted(period: Period) -> Group:
        return headline(session, actor, query.for_period(period), now=now, settings=settings, percentiles=False)

    previous = counted(previous_period)
    last_year = previous if last_year_period == previous_period else counted(last_year_period)
    if current is None:
        current = headline(session, actor, query, now=now, settings=settings)
    data_from = data_start(session, query.grid_code)
    return Comparison(
        current,
        previous,
        last_year,
        previous_period,
        last_year_period,
        Comparability(Basis.PREVIOUS, previous_period, previous.figures.counts.received, data_from),
        Comparability(Basis.LAST_YEAR, last_year_period, last_year.figures.counts.received, data_from),
    )


def change(current: float | int | None, earlier: float | int | None, *, rate: bool) -> float | None:
    """同比/环比: for counts the relative change in percent, for rates the difference in percentage points."""
    if current is None or earlier is None:
        return None
    if rate:
        return float(current) - float(earlier)
    if earlier == 0:
        return None
    return 100.0 * (float(current) - float(earlier)) / float(earlier)


def breakdown(
    session: Session,
    actor: Actor,
    query: KpiQuery,
    dimension: Dimension,
    *,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
    percentiles: bool = False,
) -> list[Group]:
    """The query's figures per group of ``dimension``, labelled in Chinese, largest 受理量 first (time in order).
    ``percentiles`` adds each group's handling-time median and P90 (one more pass)."""
    found = breakdowns(session, actor, query, [dimension], now=now, settings=settings)[dimension]
    if not percentiles:
        return found
    key = _key_expression(session, actor, query, dimension)
    base = cohort(actor, query)
    if dimension is Dimension.CATEGORY:
        base = base.outerjoin(Category, Category.id == Case.category_id)
    ranks = _percentiles(session, base, key)
    return [_regroup(group, group.figures.counts, *ranks.get(group.key, (None, None))) for group in found]


def breakdowns(
    session: Session,
    actor: Actor,
    query: KpiQuery,
    dimensions: Sequence[Dimension],
    *,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> dict[Dimension, list[Group]]:
    """Several breakdowns from one pass over the cases: the counters are summed per combination of the
    dimensions' raw keys (grid code, category id, …) in SQL and rolled up to each dimension's groups here —
    counts add up, so this is exact, and a year of cases is read once instead of once per table."""
    weights = weights_from(settings or get_settings())
    keys = [_raw_key(session, actor, query, dimension) for dimension in dimensions]
    raw_keys, sums = _aggregate(session, actor, query, keys, now or timesource.now())
    found = {}
    for index, (dimension, key) in enumerate(zip(dimensions, keys, strict=True)):
        group_keys = [key.to_group(raw[index]) for raw in raw_keys]
        found[dimension] = _finish(session, actor, query, dimension, _roll_up(group_keys, sums), weights)
    return found


def _roll_up(group_keys: list[str | None], sums: npt.NDArray[np.int64]) -> dict[str | None, Counts]:
    """Add up the rows of ``sums`` that share a group key."""
    positions: dict[str | None, int] = {}
    rows = np.fromiter((positions.setdefault(key, len(positions)) for key in group_keys), dtype=np.int64)
    totals = np.zeros((len(positions), sums.shape[1]), dtype=np.int64)
    np.add.at(totals, rows, sums)
    return {
        key: Counts(**dict(zip(COUNTER_NAMES, map(int, totals[row]), strict=True))) for key, row in positions.items()
    }


def _finish(
    session: Session,
    actor: Actor,
    query: KpiQuery,
    dimension: Dimension,
    counted: dict[str | None, Counts],
    weights: Weights,
) -> list[Group]:
    labels = _labels(session, dimension, list(counted))
    groups = []
    for key, counts in counted.items():
        figures = Figures(counts, weights=weights)
        groups.append(Group(key, labels.get(key, _unknown(dimension, key)), figures, evaluate(figures)))
    if dimension is Dimension.DEPARTMENT:
        groups = _with_assisted(session, actor, query, groups)
    if dimension in (Dimension.MONTH, Dimension.DAY):
        return sorted(groups, key=lambda group: group.key or "")
    return sorted(groups, key=lambda group: (-group.figures.counts.received, group.key or ""))


def trend(
    session: Session,
    actor: Actor,
    query: KpiQuery,
    *,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
    percentiles: bool = False,
) -> list[Group]:
    """Month by month (day by day within a month or shorter), every bucket of the period present."""
    dimension = trend_dimension(query.period)
    found = breakdown(session, actor, query, dimension, now=now, settings=settings, percentiles=percentiles)
    return fill_trend(query.period, found, weights_from(settings or get_settings()))


def trend_dimension(period: Period) -> Dimension:
    return Dimension.DAY if period.days <= 31 else Dimension.MONTH


def fill_trend(period: Period, found: list[Group], weights: Weights) -> list[Group]:
    """A trend breakdown with the buckets nothing was reported in added, in time order."""
    by_key = {group.key: group for group in found}
    buckets = _buckets(period, trend_dimension(period))
    empty = [replace(_empty_group(bucket, weights), label=_bucket_label(bucket)) for bucket in buckets]
    return [by_key.get(bucket) or blank for bucket, blank in zip(buckets, empty, strict=True)]


def _buckets(period: Period, dimension: Dimension) -> list[str]:
    if dimension is Dimension.MONTH:
        return [month.first.strftime("%Y-%m") for month in period.months()]
    return [(period.first + dt.timedelta(days=offset)).isoformat() for offset in range(period.days)]


def _bucket_label(bucket: str) -> str:
    parts = [int(part) for part in bucket.split("-")]
    return f"{parts[1]}月{parts[2]}日" if len(parts) == 3 else f"{parts[0]}年{parts[1]}月"


# --- the SQL ---------------------------------------------------------------------------------------------------


def _aggregate(
    session: Session, actor: Actor, query: KpiQuery, keys: list[RawKey], now: dt.datetime
) -> tuple[list[tuple[Any, ...]], npt.NDArray[np.int64]]:
    """The counters (in the order of ``Counts``' fields) summed per combination of ``keys`` over the query's
    cases: the combinations, and one row of sums for each (a combination may come in several rows — from the
    roll-up and from the cases — and the caller adds them up).

    Whole months whose roll-up is current are read from their cells when the query allows it; the rest of the
    period is read from the cases."""
    cells = _cell_plan(actor, query, keys)
    served = current_months(session, query.period) if cells is not None else []
    parts = [
        _scan(session, actor, query.for_period(part), keys, now)
        for part in segments(query.period, served, inside=False)
    ]
    if served and cells is not None:
        parts.append(_from_cells(session, served, keys, *cells))
        parts.extend(
            _due_unanswered(session, actor, query.for_period(part), keys, now)
            for part in segments(query.period, served, inside=True)
        )
    raw_keys = [combination for part_keys, _ in parts for combination in part_keys]
    sums = np.concatenate([part_sums for _, part_sums in parts]) if parts else _sums([], 0)
    return raw_keys, sums


Aggregated = tuple[list[tuple[Any, ...]], npt.NDArray[np.int64]]


def _scan(session: Session, actor: Actor, query: KpiQuery, keys: list[RawKey], now: dt.datetime) -> Aggregated:
    columns = counter_columns(now)
    labelled = _labelled(keys)
    stmt = cohort(actor, query).with_only_columns(*labelled, *(columns[name].label(name) for name in COUNTER_NAMES))
    return _split(session.execute(stmt.group_by(*(key.from_case for key in keys))).all(), len(keys))


def _from_cells(
    session: Session, months: list[Period], keys: list[RawKey], table: Table, where: list[ColumnElement[bool]]
) -> Aggregated:
    cell_keys = [key.from_case if key.cell_column == WHOLE_KEY else table.c[key.cell_column or ""] for key in keys]
    sums = [func.sum(table.c[name]) for name in COUNTER_NAMES]
    stmt = (
        select(*cell_keys, *sums)
        .where(table.c.month.in_([month_key(month) for month in months]), *where)
        .group_by(*cell_keys)
    )
    return _split(session.execute(stmt).all(), len(keys))


def _due_unanswered(
    session: Session, actor: Actor, query: KpiQuery, keys: list[RawKey], now: dt.datetime
) -> Aggregated:
    """The cells count only answered cases in 应响应 (``due_to_respond``); add those still unanswered and due."""
    labelled = _labelled(keys)
    stmt = (
        cohort(actor, query)
        .where(due_unanswered(now))
        .with_only_columns(*labelled, func.count())
        .group_by(*(key.from_case for key in keys))
    )
    rows = session.execute(stmt).all()
    width = len(keys)
    sums = _sums([], len(rows))
    sums[:, COUNTER_NAMES.index("due_to_respond")] = [int(row[width]) for row in rows]
    return [tuple(row[:width]) for row in rows], sums


def _labelled(keys: list[RawKey]) -> list[Any]:
    return [key.from_case.label(f"key_{index}") for index, key in enumerate(keys)]


def _split(rows: Sequence[Any], width: int) -> Aggregated:
    return [tuple(row[:width]) for row in rows], _sums([row[width:] for row in rows], len(rows))


def _sums(values: list[Sequence[Any]], count: int) -> npt.NDArray[np.int64]:
    if not values:
        return np.zeros((count, len(COUNTER_NAMES)), dtype=np.int64)
    return np.array([[int(value or 0) for value in row] for row in values], dtype=np.int64)


def _cell_plan(actor: Actor, query: KpiQuery, keys: list[RawKey]) -> tuple[Table, list[ColumnElement[bool]]] | None:
    """The cell table that answers the query and the query's filters on it — or None when no cells can: a
    breakdown or filter they do not keep (day, case type, grid worker; category with department or channel), or
    an actor who reads only part of the grid asked for."""
    if query.case_type_code or not _covered(actor, query) or any(key.cell_column is None for key in keys):
        return None
    grid_code = query.grid_code or ""
    needed = max([len(grid_code), *(key.code_length for key in keys)])
    filters: dict[str, Callable[[Table], ColumnElement[bool]]] = {
        "scope_code": lambda table: and_(
            table.c.code_length == code_length_for(needed),
            code_starts_with(table.c.scope_code, grid_code),
        )
    }
    if query.department_id is not None:
        filters["department_id"] = lambda table: table.c.department_id == query.department_id
    channels = query.channels()
    if channels is not None:
        filters["channel"] = lambda table: table.c.channel.in_(sorted(channel.value for channel in channels))
    if query.category_code:
        subtree = select(Category.id).where(code_starts_with(Category.code, query.category_code))
        filters["category_id"] = lambda table: table.c.category_id.in_(subtree)
    grouped = {key.cell_column or "" for key in keys} - {WHOLE_KEY, "month"}
    table = cells_keeping(grouped | set(filters))
    if table is None:
        return None
    return table, [condition(table) for condition in filters.values()]


def _percentiles(
    session: Session, base: Select[Any], key: SQLColumnExpression[Any]
) -> dict[str | None, tuple[int, int]]:
    """Median and P90 of the handling time per group by the nearest-rank method (the ⌈n/2⌉-th and ⌈0.9n⌉-th
    smallest value). SQL returns each group's histogram — how many cases took each number of minutes, a few
    thousand distinct values at most — and the ranks are read off its running total: exact, and one pass."""
    minutes = Case.handle_work_minutes
    stmt: Any = (
        base.where(handling_time_condition())
        .with_only_columns(key.label("group_key"), minutes, func.count())
        .group_by(key, minutes)
    )
    histograms: dict[str | None, list[tuple[int, int]]] = {}
    for group_key, value, count in session.execute(stmt).all():
        histograms.setdefault(_as_key(group_key), []).append((int(value), int(count)))
    return {group_key: _nearest_ranks(histogram) for group_key, histogram in histograms.items()}


def _nearest_ranks(histogram: list[tuple[int, int]]) -> tuple[int, int]:
    histogram.sort()
    size = sum(count for _, count in histogram)
    wanted = [(size + 1) // 2, (9 * size + 9) // 10]  # ⌈n/2⌉ and ⌈9n/10⌉ in integers
    found: list[int] = []
    seen = 0
    for value, count in histogram:
        seen += count
        while len(found) < len(wanted) and seen >= wanted[len(found)]:
            found.append(value)
    return found[0], found[1]


def _when(condition: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
    return sql_case((condition, value), else_=None)


def _as_key(value: object) -> str | None:
    return None if value is None else str(value)


WHOLE_KEY = ""  # RawKey.cell_column of the one-group breakdown: a constant, the same over cases and cells


@dataclass(frozen=True)
class RawKey:
    """What SQL groups by for a dimension — over the cases, and the column of the roll-up's cells that holds the
    same value (None: the cells do not keep it) — and how a raw value rolls up to the dimension's group key."""

    from_case: SQLColumnExpression[Any]
    cell_column: str | None
    to_group: Callable[[Any], str | None]
    code_length: int = 0  # how much of a place's code the groups need (the grid breakdown's child code length)


def _raw_key(session: Session, actor: Actor, query: KpiQuery, dimension: Dimension) -> RawKey:
    if dimension is Dimension.GRID:
        length = _child_code_length(session, actor, query.grid_code)
        return RawKey(Case.scope_code, "scope_code", lambda code: None if code is None else str(code)[:length], length)
    if dimension is Dimension.CATEGORY:
        codes = {row.id: row.code for row in session.execute(select(Category.id, Category.code))}
        length = len(query.category_code or "") + 2
        return RawKey(Case.category_id, "category_id", lambda category_id: _prefix(codes.get(category_id), length))
    if dimension is Dimension.WHOLE:
        return RawKey(literal("all"), WHOLE_KEY, _as_key)
    cell_column = {
        Dimension.DEPARTMENT: "department_id",
        Dimension.CHANNEL: "channel",
        Dimension.MONTH: "month",
    }.get(dimension)
    return RawKey(_key_expression(session, actor, query, dimension), cell_column, _as_key)


def _prefix(code: str | None, length: int) -> str | None:
    return None if code is None else code[:length]


def _key_expression(session: Session, actor: Actor, query: KpiQuery, dimension: Dimension) -> SQLColumnExpression[Any]:
    match dimension:
        case Dimension.GRID:
            return func.substr(Case.scope_code, 1, _child_code_length(session, actor, query.grid_code))
        case Dimension.DEPARTMENT:
            return Case.main_department_id
        case Dimension.CATEGORY:
            return func.substr(Category.code, 1, len(query.category_code or "") + 2)
        case Dimension.CHANNEL:
            return Case.channel
        case Dimension.CASE_TYPE:
            return Case.case_type_code
        case Dimension.GRID_WORKER:
            return _when(Case.channel == Channel.GRID_PATROL.value, Case.reporter_user_id)
        case Dimension.MONTH:
            return beijing_month(Case.reported_at)
        case Dimension.DAY:
            return beijing_day(Case.reported_at)
    raise InvalidInputError(f"不支持的统计维度“{dimension}”", code="invalid_dimension")


def scope_root(session: Session, actor: Actor, grid_code: str | None) -> GridNode:
    """The grid a breakdown by grid splits: the one asked for, or the top of the actor's scope — stepping down
    while it has a single child, so a global administrator's 山东省 › 青岛市 › 海川区 counts 海川区, the first level
    with something to compare."""
    if not grid_code:
        roots = actor_roots(session, actor)
        if len(roots) != 1:
            raise InvalidInputError("请先选择要统计的网格", code="grid_required", detail={"roots": roots})
        grid_code = first_branching(grid_index(session), roots[0])
    node = session.execute(select(GridNode).where(GridNode.code == grid_code)).scalar_one_or_none()
    if node is None or not actor.sees_grid(grid_code):
        raise NotFoundError(f"找不到网格“{grid_code}”，或无权查看", code="grid_not_found")
    return node


def actor_roots(session: Session, actor: Actor) -> list[str]:
    """The tops of the actor's grid scope that exist (the tree's roots for a global scope), in code order."""
    index = grid_index(session)
    if actor.grid_codes == ALL_GRIDS:
        return sorted(ref.code for node_id, ref in index.refs.items() if index.parents[node_id] is None)
    return sorted(code for code in actor.grid_codes if code in index.ids_by_code)


def first_branching(index: GridIndex, code: str) -> str:
    """``code``, or its first descendant with more than one child (or none) down a chain of only children."""
    return index.first_branching(code)


def _child_code_length(session: Session, actor: Actor, grid_code: str | None) -> int:
    root = scope_root(session, actor, grid_code)
    index = grid_index(session)
    children = index.children.get(index.ids_by_code[root.code], [])
    return min((len(index.refs[child].code) for child in children), default=len(root.code))


def _labels(session: Session, dimension: Dimension, keys: Sequence[str | None]) -> dict[str | None, str]:
    present = [key for key in keys if key is not None]
    if not present or dimension is Dimension.WHOLE:
        return {}
    match dimension:
        case Dimension.GRID:
            return _names(session, GridNode.code, GridNode.name, present)
        case Dimension.DEPARTMENT:
            return _names(session, Department.id, Department.name, [int(key) for key in present])
        case Dimension.CATEGORY:
            return _names(session, Category.code, Category.name, present)
        case Dimension.CHANNEL:
            return {key: CHANNEL_LABELS[Channel(key)] for key in present if key in set(Channel)}
        case Dimension.CASE_TYPE:
            return _names(session, CaseType.code, CaseType.name, present)
        case Dimension.GRID_WORKER:
            return _names(session, User.id, User.display_name, [int(key) for key in present])
    return {key: _bucket_label(key) for key in present}


def _names(session: Session, key_column: Any, name_column: Any, keys: Sequence[Any]) -> dict[str | None, str]:
    rows = session.execute(select(key_column, name_column).where(key_column.in_(keys))).all()
    return {str(key): str(name) for key, name in rows}


def _unknown(dimension: Dimension, key: str | None) -> str:
    if key is None:
        return {
            Dimension.DEPARTMENT: "未派遣（含自处置）",
            Dimension.CATEGORY: "未分类",
            Dimension.CASE_TYPE: "未指定类型",
            Dimension.GRID_WORKER: "非网格员上报",
        }.get(dimension, "未知")
    if dimension is Dimension.GRID:
        return f"本级（{key}）"
    return key


def _with_assisted(session: Session, actor: Actor, query: KpiQuery, groups: list[Group]) -> list[Group]:
    """Add each department's 协办 count: assisting earns no 办结 or rates (those go to the main department), but
    the assessment shows the joint work. Driven by the assisting rows (few, on an index led by the role)."""
    assisting = aliased(CaseAssignment)  # not the table readable()'s own EXISTS correlates to
    rows = session.execute(
        cohort(actor, query)
        .join(assisting, assisting.case_id == Case.id)
        .where(assisting.role == AssignmentRole.ASSIST.value)
        .with_only_columns(assisting.department_id, func.count(func.distinct(assisting.case_id)))
        .group_by(assisting.department_id)
    ).all()
    assisted = {str(department): int(count) for department, count in rows}
    present = {group.key for group in groups}
    only_assisting = [key for key in assisted if key not in present]
    names = _labels(session, Dimension.DEPARTMENT, only_assisting)
    weights = groups[0].figures.weights if groups else Weights()
    empty = Figures(Counts(), weights=weights)
    extra = [Group(key, names.get(key, key), empty, evaluate(empty)) for key in only_assisting]
    return [replace(group, assisted=assisted.get(group.key or "", 0)) for group in [*groups, *extra]]
