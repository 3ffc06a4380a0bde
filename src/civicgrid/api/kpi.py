"""JSON API of the indicators: a period's figures (with 环比 and 同比, and the 12345 三率 over the hotline channels),
broken down by any dimension, the cases behind any figure, and the list of indicators with their formulas.
Everything is counted within the caller's readable cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.cases import queries
from civicgrid.cases.views import CaseView, case_views
from civicgrid.grid.models import GridNode
from civicgrid.http.bounds import CODE_LENGTH, Limit, Offset
from civicgrid.http.deps import CurrentActor, ReadSession, settings_of
from civicgrid.http.routing import session_router
from civicgrid.kpi.comparable import Basis, Comparability
from civicgrid.kpi.hotline import HOTLINE_RATES, HOTLINE_TITLE, hotline_comparison, hotline_query
from civicgrid.kpi.metrics import INDICATORS, Indicator
from civicgrid.kpi.params import (
    change_unit,
    default_root,
    read_category,
    read_channel,
    read_department,
    read_dimension,
    read_grid,
    read_period,
)
from civicgrid.kpi.periods import PERIOD_HELP, Period
from civicgrid.kpi.service import (
    Comparison,
    Dimension,
    Group,
    KpiQuery,
    breakdown,
    compare,
    indicator_filter,
)
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.settings import Settings

router = session_router(prefix="/api/v1/kpi", tags=["统计指标"])


# --- the answer ------------------------------------------------------------------------------------------------


class PeriodOut(BaseModel):
    key: str
    label: str
    first: dt.date
    last: dt.date

    @classmethod
    def of(cls, period: Period) -> PeriodOut:
        return cls(key=period.key, label=period.label, first=period.first, last=period.last)


class IndicatorInfo(BaseModel):
    key: str
    label: str
    unit: str
    higher_is_better: bool | None
    formula: str

    @classmethod
    def of(cls, indicator: Indicator) -> IndicatorInfo:
        return cls(
            key=indicator.key,
            label=indicator.label,
            unit=indicator.unit.value,
            higher_is_better=indicator.higher_is_better,
            formula=indicator.formula,
        )


class HeadlineValue(BaseModel):
    key: str
    label: str
    unit: str
    value: float | int | None
    previous: float | int | None  # the previous period's value (环比的基期)
    last_year: float | int | None  # the same period last year (同比的基期)
    change_previous: float | None = Field(description="环比；null：无可比数据（见 previous_comparison）或基期无值")
    change_last_year: float | None = Field(description="同比；null：无可比数据（见 last_year_comparison）或基期无值")
    change_unit: str  # "%" for counts and hours (relative change), "百分点" for rates, "分" for the score


class ComparisonOut(BaseModel):
    """基期能否比较（kpi.comparable）：基期受理量不少于最低件数，且有数据的天数达到最低占比，才给出环比、同比。"""

    period: PeriodOut
    comparable: bool
    code: str | None = Field(description="无可比数据的原因：data_incomplete（数据不完整）、too_few_cases（案件过少）")
    message: str | None = Field(description="上年同期无可比数据 / 上期无可比数据；可比时为 null")
    reason: str | None
    received: int = Field(description="基期受理量")
    coverage: float = Field(description="基期有数据的天数占比（0–1）")
    data_from: dt.date | None = Field(description="数据起始日期（该区最早受理案件的日期）")

    @classmethod
    def of(cls, judged: Comparability) -> ComparisonOut:
        return cls(
            period=PeriodOut.of(judged.period),
            comparable=judged.comparable,
            code=None if judged.problem is None else judged.problem.value,
            message=None if judged.comparable else judged.unavailable,
            reason=judged.reason or None,
            received=judged.received,
            coverage=judged.coverage,
            data_from=judged.data_from,
        )


class GroupOut(BaseModel):
    key: str | None
    label: str
    values: dict[str, float | int | None]
    assisted: int | None = None  # 协办件数, departments only


class ScopeOut(BaseModel):
    code: str
    name: str


class HotlineOut(BaseModel):
    """12345 热线三率（响应率、解决率、满意率），只计热线渠道（12345 及并入的热线），与看板和工作报告口径一致。"""

    title: str
    channels: list[str]
    received: int = Field(description="热线渠道受理量")
    rates: list[HeadlineValue]
    previous_comparison: ComparisonOut
    last_year_comparison: ComparisonOut


class KpiOut(BaseModel):
    period: PeriodOut
    previous_period: PeriodOut = Field(description="环比基期；统计期间尚未结束时截至同样的天数")
    last_year_period: PeriodOut = Field(description="同比基期（上年同期）；统计期间尚未结束时截至上年同日")
    previous_comparison: ComparisonOut
    last_year_comparison: ComparisonOut
    scope: ScopeOut
    counted_at: dt.datetime
    filters: dict[str, str | None]
    headline: list[HeadlineValue]
    hotline: HotlineOut
    by: str | None = None
    groups: list[GroupOut] | None = None


class KpiCasesOut(BaseModel):
    """某个统计数字背后的案件：计数指标即所计的案件，比率指标即其分母的案件；total 等于该数字（或比率的分母）。"""

    indicator: str
    describe: str
    total: int
    items: list[CaseView]


@dataclass(frozen=True)
class KpiParams:
    """The query string of a KPI request, as typed."""

    period: str | None = None
    grid: str | None = None
    department: str | None = None
    category: str | None = None
    channel: str | None = None
    case_type: str | None = None


def kpi_params(
    period: Annotated[str | None, Query(max_length=40, description=PERIOD_HELP + "；默认今年")] = None,
    grid: Annotated[
        str | None, Query(max_length=CODE_LENGTH, description="网格代码（默认：本人管辖范围的顶层网格）")
    ] = None,
    department: Annotated[str | None, Query(max_length=CODE_LENGTH, description="主办部门代码")] = None,
    category: Annotated[str | None, Query(max_length=CODE_LENGTH, description="案件类别代码（含下级）")] = None,
    channel: Annotated[str | None, Query(max_length=24, description="来源渠道")] = None,
    case_type: Annotated[str | None, Query(max_length=CODE_LENGTH, description="案件类型代码")] = None,
) -> KpiParams:
    return KpiParams(period, grid, department, category, channel, case_type)


def build_query(session: Session, actor: Actor, params: KpiParams) -> tuple[KpiQuery, GridNode]:
    """The KpiQuery a request asks for, every part checked (a clear error for each bad one)."""
    actor.require(Permission.KPI_READ, "查看统计指标")
    period = read_period(params.period)
    root = read_grid(session, actor, params.grid) if params.grid else default_root(session, actor)
    query = KpiQuery(
        period=period,
        grid_code=root.code,
        department_id=read_department(session, params.department),
        category_code=read_category(session, params.category),
        channel=read_channel(params.channel),
        case_type_code=(params.case_type or "").strip() or None,
    )
    return query, root


def headline_values(comparison: Comparison, keys: Iterable[str] = INDICATORS) -> list[HeadlineValue]:
    values = []
    for key in keys:
        indicator = INDICATORS[key]
        values.append(
            HeadlineValue(
                key=key,
                label=indicator.label,
                unit=indicator.unit.value,
                value=comparison.current.values[key],
                previous=comparison.previous.values[key],
                last_year=comparison.last_year.values[key],
                change_previous=comparison.change(key, Basis.PREVIOUS),
                change_last_year=comparison.change(key, Basis.LAST_YEAR),
                change_unit=change_unit(indicator),
            )
        )
    return values


def judged(comparison: Comparison, basis: Basis) -> ComparisonOut:
    found = comparison.basis(basis)
    if found is None:  # compare() judges both; only a hand-made Comparison lacks them
        raise ValueError("a comparison without its comparability")
    return ComparisonOut.of(found)


def hotline_out(query: KpiQuery, comparison: Comparison) -> HotlineOut:
    channels = hotline_query(query).channels() or frozenset()
    return HotlineOut(
        title=HOTLINE_TITLE,
        channels=sorted(channel.value for channel in channels),
        received=comparison.current.figures.counts.received,
        rates=headline_values(comparison, HOTLINE_RATES),
        previous_comparison=judged(comparison, Basis.PREVIOUS),
        last_year_comparison=judged(comparison, Basis.LAST_YEAR),
    )


def group_out(group: Group, dimension: Dimension) -> GroupOut:
    assisted = group.assisted if dimension is Dimension.DEPARTMENT else None
    return GroupOut(key=group.key, label=group.label, values=group.values, assisted=assisted)


@router.get("", summary="统计指标（含环比、同比，可按维度分组）")
def kpi(
    session: ReadSession,
    actor: CurrentActor,
    settings: Annotated[Settings, Depends(settings_of)],
    params: Annotated[KpiParams, Depends(kpi_params)],
    by: Annotated[
        str | None, Query(max_length=24, description="分组维度：" + "、".join(d.value for d in Dimension))
    ] = None,
) -> KpiOut:
    dimension = read_dimension(by) if by else None
    query, root = build_query(session, actor, params)
    now = timesource.now()
    comparison = compare(session, actor, query, now=now, settings=settings)
    hotline = hotline_comparison(session, actor, query, now=now, settings=settings)
    groups = None
    if dimension is not None:
        found = breakdown(session, actor, query, dimension, now=now, settings=settings)
        groups = [group_out(group, dimension) for group in found]
    return KpiOut(
        period=PeriodOut.of(query.period),
        previous_period=PeriodOut.of(comparison.previous_period),
        last_year_period=PeriodOut.of(comparison.last_year_period),
        previous_comparison=judged(comparison, Basis.PREVIOUS),
        last_year_comparison=judged(comparison, Basis.LAST_YEAR),
        scope=ScopeOut(code=root.code, name=root.name),
        counted_at=now,
        filters=_filters(params, root.code),
        headline=headline_values(comparison),
        hotline=hotline_out(query, hotline),
        by=dimension.value if dimension else None,
        groups=groups,
    )


def _filters(params: KpiParams, grid_code: str) -> dict[str, str | None]:
    return {
        "grid": grid_code,
        "department": params.department or None,
        "category": params.category or None,
        "channel": params.channel or None,
        "case_type": params.case_type or None,
    }


@router.get("/cases", summary="某个统计数字背后的案件（与该数字的口径完全一致）")
def kpi_cases(
    session: ReadSession,
    actor: CurrentActor,
    params: Annotated[KpiParams, Depends(kpi_params)],
    indicator: Annotated[
        str,
        Query(max_length=CODE_LENGTH, description="指标代码，如 registered、closed、overdue_now、satisfaction_rate"),
    ],
    limit: Limit = 50,
    offset: Offset = 0,
) -> KpiCasesOut:
    """The cases a figure of ``GET /api/v1/kpi`` (same parameters) counts — for a rate, those it is computed over
    (满意率: the rated cases) — newest first; ``total`` is the figure (or the rate's denominator)."""
    query, _ = build_query(session, actor, params)
    criteria = indicator_filter(query, indicator, timesource.now())
    cases, total = queries.list_cases(session, actor, criteria, limit=limit, offset=offset)
    selection = INDICATORS[indicator].cases
    return KpiCasesOut(
        indicator=indicator,
        describe=selection.describe if selection else "",
        total=total,
        items=case_views(session, actor, cases),
    )


@router.get("/indicators", summary="指标清单（含计算公式）")
def indicators(actor: CurrentActor) -> list[IndicatorInfo]:
    actor.require(Permission.KPI_READ, "查看统计指标")
    return [IndicatorInfo.of(indicator) for indicator in INDICATORS.values()]
