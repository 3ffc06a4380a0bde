"""JSON API of the indicators: a period's figures (with 环比 and 同比), broken down by any dimension, and the list
of indicators with their formulas. Everything is counted within the caller's readable cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.grid.models import GridNode
from civicgrid.http.bounds import CODE_LENGTH
from civicgrid.http.deps import CurrentActor, ReadSession, settings_of
from civicgrid.http.routing import session_router
from civicgrid.kpi.metrics import INDICATORS, Indicator
from civicgrid.kpi.params import (
    change_unit,
    default_root,
    rate_like,
    read_category,
    read_channel,
    read_department,
    read_dimension,
    read_grid,
    read_period,
)
from civicgrid.kpi.periods import PERIOD_HELP, Period
from civicgrid.kpi.service import (
    Dimension,
    Group,
    KpiQuery,
    breakdown,
    change,
    compare,
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
    change_previous: float | None  # 环比
    change_last_year: float | None  # 同比
    change_unit: str  # "%" for counts and hours (relative change), "百分点" for rates, "分" for the score


class GroupOut(BaseModel):
    key: str | None
    label: str
    values: dict[str, float | int | None]
    assisted: int | None = None  # 协办件数, departments only


class ScopeOut(BaseModel):
    code: str
    name: str


class KpiOut(BaseModel):
    period: PeriodOut
    previous_period: PeriodOut
    last_year_period: PeriodOut
    scope: ScopeOut
    counted_at: dt.datetime
    filters: dict[str, str | None]
    headline: list[HeadlineValue]
    by: str | None = None
    groups: list[GroupOut] | None = None


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


def headline_values(current: Group, previous: Group, last_year: Group) -> list[HeadlineValue]:
    values = []
    for key, indicator in INDICATORS.items():
        rate = rate_like(indicator)
        now, before, year_ago = current.values[key], previous.values[key], last_year.values[key]
        values.append(
            HeadlineValue(
                key=key,
                label=indicator.label,
                unit=indicator.unit.value,
                value=now,
                previous=before,
                last_year=year_ago,
                change_previous=change(now, before, rate=rate),
                change_last_year=change(now, year_ago, rate=rate),
                change_unit=change_unit(indicator),
            )
        )
    return values


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
    groups = None
    if dimension is not None:
        found = breakdown(session, actor, query, dimension, now=now, settings=settings)
        groups = [group_out(group, dimension) for group in found]
    return KpiOut(
        period=PeriodOut.of(query.period),
        previous_period=PeriodOut.of(comparison.previous_period),
        last_year_period=PeriodOut.of(comparison.last_year_period),
        scope=ScopeOut(code=root.code, name=root.name),
        counted_at=now,
        filters=_filters(params, root.code),
        headline=headline_values(comparison.current, comparison.previous, comparison.last_year),
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


@router.get("/indicators", summary="指标清单（含计算公式）")
def indicators(actor: CurrentActor) -> list[IndicatorInfo]:
    actor.require(Permission.KPI_READ, "查看统计指标")
    return [IndicatorInfo.of(indicator) for indicator in INDICATORS.values()]
