"""The leader dashboard (数据看板): headline figures with 环比/同比, the trend, breakdowns by category, channel and
grid (with a choropleth), rankings and 红黑榜, the cases overdue longest — every number a link to the cases behind
it — and each table as an Excel file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.cases.models import Channel
from civicgrid.errors import InvalidInputError
from civicgrid.excel import COUNT_FORMAT, DECIMAL_FORMAT, Formatted, percent, workbook_bytes
from civicgrid.grid.index import grid_index
from civicgrid.grid.models import GridNode
from civicgrid.http.deps import CSRF_CHECKED, ReadSession, SignedIn, settings_of
from civicgrid.http.routing import session_router
from civicgrid.kpi.comparable import Basis
from civicgrid.kpi.dashboard import Dashboard, build_dashboard
from civicgrid.kpi.hotline import HOTLINE_RATES, HOTLINE_TITLE, hotline_channels_text, hotline_query
from civicgrid.kpi.metrics import INDICATORS, Counts, Figures, Indicator, Unit, evaluate, format_value, rounded
from civicgrid.kpi.params import (
    change_unit,
    current_year,
    default_root,
    read_category,
    read_channel,
    read_department,
    read_grid,
)
from civicgrid.kpi.periods import BEIJING, Granularity, Period, parse_period
from civicgrid.kpi.ranking import HonourLists, Ranked, honour_lists, rank
from civicgrid.kpi.service import (
    Comparison,
    Dimension,
    Group,
    KpiQuery,
    actor_roots,
    breakdown,
    trend,
    weights_from,
)
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department
from civicgrid.org.roles import Permission
from civicgrid.settings import Settings
from civicgrid.web.app_context import map_config
from civicgrid.web.forms import category_options, department_options
from civicgrid.web.render import page

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)
AppSettings = Annotated[Settings, Depends(settings_of)]
T = TypeVar("T")

HEADLINE_KEYS = (
    "received", "registered", "closed", "closure_rate", "on_time_closure_rate", "satisfaction_rate",
    "overdue_now", "linked", "average_handle_hours", "composite_score",
)  # fmt: skip
TABLE_KEYS = (
    "received", "registered", "closed", "closure_rate", "on_time_closure_rate", "satisfaction_rate", "overdue_now",
    "composite_score",
)  # fmt: skip
CHANNEL_KEYS = ("received", "closed", "closure_rate", "satisfaction_rate")
MAP_KEYS = (
    "received", "closure_rate", "on_time_closure_rate", "satisfaction_rate", "overdue_now", "linked",
    "average_handle_hours", "composite_score",
)  # fmt: skip
RANKABLE = tuple(key for key, indicator in INDICATORS.items() if indicator.higher_is_better is not None)
DEFAULT_RANK = "composite_score"
YEARS_OFFERED = 3

EXPORT_TABLES = {
    "category": Dimension.CATEGORY,
    "grid": Dimension.GRID,
    "department": Dimension.DEPARTMENT,
    "channel": Dimension.CHANNEL,
}
EXPORT_TITLES = {"category": "按类别", "grid": "按网格", "department": "按部门", "channel": "按渠道", "trend": "趋势"}


# --- the form ----------------------------------------------------------------------------------------------------


@dataclass
class DashboardForm:
    """The dashboard's query string as typed (the form shows it back, errors and all)."""

    period: str = ""  # a period spelling, or "custom" with start/end
    start: str = ""
    end: str = ""
    grid: str = ""
    category: str = ""
    department: str = ""
    channel: str = ""
    rank_by: str = ""

    @classmethod
    def of(cls, request: Request) -> DashboardForm:
        params = request.query_params
        return cls(**{name: params.get(name, "").strip()[:100] for name in _FORM_FIELDS})

    def params(self, **changes: str) -> dict[str, str]:
        values = {name: getattr(self, name) for name in _FORM_FIELDS}
        values.update(changes)
        if values["period"] not in ("", "custom"):  # the range fields only count for a custom period
            values["start"] = values["end"] = ""
        return {name: value for name, value in values.items() if value}

    def link(self, path: str, **changes: str) -> str:
        return f"{path}?{urlencode(self.params(**changes))}"


_FORM_FIELDS = ("period", "start", "end", "grid", "category", "department", "channel", "rank_by")


@dataclass(frozen=True)
class Resolved:
    """What the form asks for, checked: the KPI query (its grid always explicit) and the values links repeat."""

    query: KpiQuery
    root: GridNode
    department_code: str
    rank_by: str


def resolve(session: Session, actor: Actor, form: DashboardForm, errors: dict[str, str]) -> Resolved | None:
    """The query, or None with each bad field's Chinese message in ``errors``. A grid outside the actor's scope
    is refused outright (403): the form never offers one."""
    root = read_grid(session, actor, form.grid) if form.grid else default_root(session, actor)
    period = _checked(errors, "period", lambda: _period(form))
    department_id = _checked(errors, "department", lambda: read_department(session, form.department))
    category = _checked(errors, "category", lambda: read_category(session, form.category))
    channel = _checked(errors, "channel", lambda: read_channel(form.channel))
    if form.rank_by and form.rank_by not in RANKABLE:
        errors["rank_by"] = f"无法按“{form.rank_by}”排名"
    if errors or period is None:
        return None
    query = KpiQuery(period, root.code, department_id, category, channel)
    return Resolved(query, root, form.department if department_id is not None else "", form.rank_by or DEFAULT_RANK)


def _checked(errors: dict[str, str], name: str, read: Callable[[], T]) -> T | None:
    try:
        return read()
    except InvalidInputError as error:
        errors[name] = error.message
        return None


def _period(form: DashboardForm) -> Period:
    if form.period == "custom" or (not form.period and (form.start or form.end)):
        if not (form.start and form.end):
            raise InvalidInputError("自定义期间请填写开始日期和结束日期", code="invalid_period")
        return parse_period(f"{form.start}..{form.end}")
    return parse_period(form.period) if form.period else current_year()


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def grid_choices(session: Session, actor: Actor, current: str) -> list[Choice]:
    """Each scope root (with its single-child chain), its children and its children's children, indented."""
    index = grid_index(session)
    children = index.children
    choices: list[Choice] = []

    def add(node_id: int, depth: int) -> None:
        choices.append(Choice(index.refs[node_id].code, "　" * depth + index.refs[node_id].name))

    for root in actor_roots(session, actor):
        node_id, depth = index.ids_by_code[root], 0
        add(node_id, depth)
        while len(children.get(node_id, [])) == 1:
            node_id, depth = children[node_id][0], depth + 1
            add(node_id, depth)
        for child in children.get(node_id, []):
            add(child, depth + 1)
            for grandchild in children.get(child, []):
                add(grandchild, depth + 2)
    if current and current not in {choice.value for choice in choices} and current in index.ids_by_code:
        choices.insert(0, Choice(current, index.refs[index.ids_by_code[current]].name))
    return choices


def period_choices(now: dt.datetime, current: Period | None) -> list[tuple[str, list[Choice]]]:
    """Years, halves, quarters and months of the last few years, up to the present one (newest first)."""
    today = now.astimezone(BEIJING).date()
    years = range(today.year, today.year - YEARS_OFFERED, -1)
    groups: list[tuple[str, list[Choice]]] = []
    for title, spellings in (
        ("年度", ["{y}"]),
        ("半年", ["{y}-H2", "{y}-H1"]),
        ("季度", ["{y}-Q4", "{y}-Q3", "{y}-Q2", "{y}-Q1"]),
        ("月份", [f"{{y}}-{month:02d}" for month in range(12, 0, -1)]),
    ):
        periods = [parse_period(spelling.format(y=year)) for year in years for spelling in spellings]
        groups.append((title, [Choice(p.key, p.label) for p in periods if p.first <= today]))
    offered = {choice.value for _, choices in groups for choice in choices}
    if current is not None and current.key not in offered and current.granularity is not Granularity.CUSTOM:
        groups.insert(0, ("当前", [Choice(current.key, current.label)]))
    return groups


# --- figures as the page shows them ----------------------------------------------------------------------------


def shown(value: float | int | None, key: str) -> str:
    """A value without its unit, as the reports print it: 38,606 · 99.6 · 12.5 · “—”."""
    return format_value(value, INDICATORS[key].unit)


def with_unit(value: float | int | None, key: str) -> str:
    if value is None:
        return "—"
    unit = INDICATORS[key].unit
    return f"{shown(value, key)}{'' if unit is Unit.CASES else unit.value}"


@dataclass(frozen=True)
class Change:
    """One 环比 or 同比 as shown: the arrow and amount, and whether it is good news — or, against a period that
    cannot be compared with (``kpi.comparable``), “上年同期无可比数据” and why."""

    text: str
    direction: str  # up | down | flat | none
    tone: str  # better | worse | neutral
    note: str = ""  # why there is no change (the tooltip)

    @classmethod
    def of(cls, key: str, comparison: Comparison, basis: Basis) -> Change:
        judged = comparison.basis(basis)
        if judged is not None and not judged.comparable:
            return cls(judged.unavailable, "none", "neutral", judged.reason)
        indicator = INDICATORS[key]
        amount = comparison.change(key, basis)
        if amount is None:
            return cls("—", "none", "neutral")
        if abs(amount) < 0.05:
            return cls("持平", "flat", "neutral")
        up = amount > 0
        unit = change_unit(indicator)
        text = f"{'↑' if up else '↓'} {abs(amount):,.1f}{'个百分点' if unit == '百分点' else unit}"
        if indicator.higher_is_better is None:
            return cls(text, "up" if up else "down", "neutral")
        better = up == indicator.higher_is_better
        return cls(text, "up" if up else "down", "better" if better else "worse")


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    value: str
    href: str | None
    cases: int | None  # how many cases the link opens (the figure itself for a count)
    previous: Change
    last_year: Change
    formula: str


@dataclass(frozen=True)
class CaseLinks:
    """Links to the case list (/cases) of exactly the cases behind a number: the indicator (``indicator=…``,
    which the list resolves through ``kpi.service.indicator_filter``) within the dashboard's cohort — the period's
    reporting dates, its grid, category, main department (``lead``) and channel — and the group's own filter."""

    base: dict[str, Any]

    @classmethod
    def of(cls, resolved: Resolved) -> CaseLinks:
        query = resolved.query
        base: dict[str, Any] = {
            "date_from": query.period.first.isoformat(),
            "date_to": query.period.last.isoformat(),
            "grid": resolved.root.code,
            "category": query.category_code or "",
            "lead": resolved.department_code,
            "channel": query.channel.value if query.channel else "",
        }
        return cls(base)

    def to(self, indicator_key: str, group: dict[str, Any] | None = None) -> str | None:
        """The list of the indicator's cases in the group; None for an indicator without one set (综合得分)."""
        if INDICATORS[indicator_key].cases is None:
            return None
        values = {**self.base, **(group or {}), "indicator": indicator_key}
        return "/cases?" + urlencode({key: value for key, value in values.items() if value}, doseq=True)


def cases_behind(key: str, group: Group) -> int | None:
    """How many cases the indicator's list of the group holds."""
    selection = INDICATORS[key].cases
    return None if selection is None else selection.size(group.figures.counts)


@dataclass(frozen=True)
class Cell:
    key: str
    text: str
    href: str | None
    cases: int | None = None


@dataclass(frozen=True)
class Row:
    key: str | None
    label: str
    cells: list[Cell]
    group: Group
    drill: str | None = None  # the dashboard of this grid


@dataclass
class Table:
    name: str  # category | grid | department | channel | trend
    title: str
    indicators: list[Indicator]  # the columns
    rows: list[Row] = field(default_factory=list)
    export: str = ""


@dataclass(frozen=True)
class RankedRow:
    rank: int | None
    label: str
    value: str
    value_href: str | None
    value_cases: int | None
    received: int
    received_href: str | None
    assisted: int | None


@dataclass(frozen=True)
class Hotline:
    """The 12345 三率 card: its title, the channels it counts and how many of their cases."""

    title: str
    channels: str
    received: int
    figures: list[Figure]


@dataclass(frozen=True)
class Honours:
    title: str
    red: list[RankedRow]
    black: list[RankedRow]


class View:
    """Turns the dashboard's groups into what the template shows: texts and links."""

    def __init__(self, session: Session, resolved: Resolved, form: DashboardForm, dashboard: Dashboard) -> None:
        self.resolved = resolved
        self.form = form
        self.dashboard = dashboard
        self.links = CaseLinks.of(resolved)
        ids = [int(group.key) for group in dashboard.by_department if group.key is not None]
        self.department_codes = _department_codes(session, ids)
        self.child_codes = {group.key for group in dashboard.by_grid if group.key} & set(
            _child_codes(session, resolved.root)
        )
        self.grids = own_level_named(dashboard.by_grid, resolved.root.code, resolved.root.name)

    def group_filter(self, dimension: Dimension, group: Group) -> dict[str, Any] | None:
        """The case list's filter for one group, or None when the list cannot select it (no link then)."""
        key = group.key
        if key is None:
            return None
        match dimension:
            case Dimension.CATEGORY:
                return {"category": key}
            case Dimension.GRID:
                return {"grid": key} if key in self.child_codes else None
            case Dimension.DEPARTMENT:
                code = self.department_codes.get(key)
                return {"lead": code} if code else None
            case Dimension.CHANNEL:
                return {"channel": key}
        return _bucket_dates(key, self.resolved.query.period)

    def figures(
        self, keys: Sequence[str], comparison: Comparison | None = None, group: dict[str, Any] | None = None
    ) -> list[Figure]:
        """Headline figures of ``comparison`` (the dashboard's own by default), linked within ``group``."""
        comparison = comparison or self.dashboard.comparison
        result = []
        for key in keys:
            indicator = INDICATORS[key]
            current = comparison.current
            result.append(
                Figure(
                    key=key,
                    label=indicator.label,
                    unit="" if indicator.unit is Unit.CASES else indicator.unit.value,
                    value=shown(current.values[key], key),
                    href=self.links.to(key, group),
                    cases=cases_behind(key, current),
                    previous=Change.of(key, comparison, Basis.PREVIOUS),
                    last_year=Change.of(key, comparison, Basis.LAST_YEAR),
                    formula=indicator.formula,
                )
            )
        return result

    def hotline(self) -> Hotline | None:
        """The 12345 三率 card: over the hotline channels (within the dashboard's channel filter)."""
        comparison = self.dashboard.hotline
        if comparison is None:
            return None
        channels = hotline_query(self.resolved.query).channels() or frozenset()
        figures = self.figures(HOTLINE_RATES, comparison, {"channel": sorted(channels)})
        if not channels:  # the dashboard counts a channel that is no hotline: nothing to list
            figures = [replace(figure, href=None) for figure in figures]
        return Hotline(HOTLINE_TITLE, hotline_channels_text(), comparison.current.figures.counts.received, figures)

    def table(
        self, name: str, title: str, dimension: Dimension, groups: list[Group], keys: Sequence[str] = TABLE_KEYS
    ) -> Table:
        rows = []
        for group in groups:
            group_filter = self.group_filter(dimension, group)
            cells = [
                Cell(
                    key,
                    shown(group.values[key], key),
                    None if group_filter is None else self.links.to(key, group_filter),
                    cases_behind(key, group),
                )
                for key in keys
            ]
            drill = None
            if dimension is Dimension.GRID and group_filter is not None:
                drill = self.form.link("/dashboard", grid=group.key or "")
            rows.append(Row(group.key, group.label, cells, group, drill))
        indicators = [INDICATORS[key] for key in keys]
        return Table(name, title, indicators, rows, self.form.link("/dashboard/export", table=name))

    def ranking(self, dimension: Dimension, groups: list[Group]) -> list[RankedRow]:
        return [self._ranked_row(dimension, entry) for entry in rank(groups, self.resolved.rank_by)]

    def honours(self, title: str, dimension: Dimension, groups: list[Group]) -> Honours:
        lists: HonourLists = honour_lists(groups, self.resolved.rank_by)
        return Honours(
            title,
            [self._ranked_row(dimension, entry) for entry in lists.red],
            [self._ranked_row(dimension, entry) for entry in lists.black],
        )

    def _ranked_row(self, dimension: Dimension, entry: Ranked) -> RankedRow:
        group = entry.group
        group_filter = self.group_filter(dimension, group)
        rank_by = self.resolved.rank_by
        return RankedRow(
            rank=entry.rank,
            label=group.label,
            value=with_unit(entry.value, rank_by),
            value_href=None if group_filter is None else self.links.to(rank_by, group_filter),
            value_cases=cases_behind(rank_by, group),
            received=group.figures.counts.received,
            received_href=None if group_filter is None else self.links.to("received", group_filter),
            assisted=group.assisted if dimension is Dimension.DEPARTMENT else None,
        )


def own_level_named(groups: list[Group], root_code: str, root_name: str) -> list[Group]:
    """A breakdown by grid, the cases placed on the scope grid itself (not in any of its children) named as such:
    “海川街道（本级）” beside its communities, not as if it were one of them."""
    return [replace(group, label=f"{root_name}（本级）") if group.key == root_code else group for group in groups]


def _bucket_dates(key: str, period: Period) -> dict[str, Any]:
    """A trend bucket ('2025-06' or '2025-06-15') as the list's reporting dates, clipped to the period."""
    if len(key) == 10:
        return {"date_from": key, "date_to": key}
    first = dt.date.fromisoformat(f"{key}-01")
    month = next(m for m in period.months() if m.first.strftime("%Y-%m") == first.strftime("%Y-%m"))
    return {"date_from": month.first.isoformat(), "date_to": month.last.isoformat()}


def _department_codes(session: Session, ids: list[int]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(select(Department.id, Department.code).where(Department.id.in_(ids))).all()
    return {str(department_id): str(code) for department_id, code in rows}


def _child_codes(session: Session, root: GridNode) -> list[str]:
    index = grid_index(session)
    children = index.children.get(index.ids_by_code[root.code], [])
    return [index.refs[child].code for child in children]


def _child_levels(session: Session, root: GridNode) -> list[str]:
    index = grid_index(session)
    children = index.children.get(index.ids_by_code[root.code], [])
    return sorted({index.refs[child].level.value for child in children}) or [root.grid_level.value]


# --- what the scripts draw -------------------------------------------------------------------------------------


def chart_data(view: View, settings: Settings, session: Session) -> dict[str, Any]:
    """The charts' and the choropleth's data (a JSON script tag: the CSP allows no inline script)."""
    dashboard, resolved = view.dashboard, view.resolved
    trend_rows = [
        (group, view.links.to("received", view.group_filter(Dimension.MONTH, group))) for group in dashboard.trend
    ]
    config = map_config(settings, [])
    return {
        "trend": {
            "labels": [group.label for group, _ in trend_rows],
            "received": [group.values["received"] for group, _ in trend_rows],
            "closure_rate": [_rounded(group.values["closure_rate"]) for group, _ in trend_rows],
            "links": [link for _, link in trend_rows],
        },
        "category": _series(view, Dimension.CATEGORY, dashboard.by_category),
        "channel": _series(view, Dimension.CHANNEL, dashboard.by_channel),
        "map": {
            "scope": resolved.root.code,
            "scope_name": resolved.root.name,
            "levels": _child_levels(session, resolved.root),
            "crs": config["crs"],
            "tiles": config["tiles"],
            "indicators": [_indicator_json(INDICATORS[key]) for key in MAP_KEYS],
            "grids": _map_grids(view, session, settings),
        },
    }


def _map_grids(view: View, session: Session, settings: Settings) -> dict[str, dict[str, Any]]:
    """Every child grid of the scope (a grid without cases too: 0 件, rates “—”), or the scope itself when it has
    no children."""
    index = grid_index(session)
    root = view.resolved.root
    found = {group.key: group for group in view.dashboard.by_grid if group.key}
    empty = evaluate(Figures(Counts(), weights=weights_from(settings)))
    grids = {}
    for code in _child_codes(session, root) or [root.code]:
        group = found.get(code)
        values = group.values if group else empty
        grids[code] = {
            "name": index.refs[index.ids_by_code[code]].name,
            "values": {key: _rounded(values[key]) for key in MAP_KEYS},
            "href": view.form.link("/dashboard", grid=code),
        }
    return grids


def _series(view: View, dimension: Dimension, groups: list[Group]) -> dict[str, Any]:
    links = []
    for group in groups:
        group_filter = view.group_filter(dimension, group)
        links.append(None if group_filter is None else view.links.to("received", group_filter))
    return {"labels": [g.label for g in groups], "received": [g.values["received"] for g in groups], "links": links}


def _indicator_json(indicator: Indicator) -> dict[str, Any]:
    return {
        "key": indicator.key,
        "label": indicator.label,
        "unit": "" if indicator.unit is Unit.CASES else indicator.unit.value,
        "higher_is_better": indicator.higher_is_better,
    }


def _rounded(value: float | int | None) -> float | int | None:
    return round(value, 2) if isinstance(value, float) else value


# --- the pages -------------------------------------------------------------------------------------------------


def _choices(session: Session, actor: Actor, form: DashboardForm, period: Period | None) -> dict[str, Any]:
    return {
        "period_choices": period_choices(timesource.now(), period),
        "grid_choices": grid_choices(session, actor, form.grid),
        "categories": [option for option in category_options(session) if option.depth <= 1],
        "departments": department_options(session, actor),
        "channels": list(Channel),
        "rankable": [INDICATORS[key] for key in RANKABLE],
    }


def _selected_period(form: DashboardForm, period: Period | None) -> str:
    if form.period == "custom" or (period is not None and period.granularity is Granularity.CUSTOM):
        return "custom"
    if period is not None:
        return period.key
    return form.period


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, session: ReadSession, actor: SignedIn, settings: AppSettings) -> Response:
    actor.require(Permission.KPI_READ, "查看数据看板")
    form = DashboardForm.of(request)
    errors: dict[str, str] = {}
    resolved = resolve(session, actor, form, errors)
    if resolved is None:
        context = {
            "form": form,
            "errors": errors,
            "selected_period": _selected_period(form, None),
            "custom_start": form.start,
            "custom_end": form.end,
            **_choices(session, actor, form, None),
        }
        return page(request, "dashboard/index.html", context, status_code=422)
    dashboard = build_dashboard(session, actor, resolved.query, settings=settings)
    view = View(session, resolved, form, dashboard)
    period = dashboard.period
    if not form.grid:
        form.grid = resolved.root.code
    context = {
        "form": form,
        "errors": errors,
        "dashboard": dashboard,
        "period": period,
        "selected_period": _selected_period(form, period),
        "custom_start": form.start or period.first.isoformat(),
        "custom_end": form.end or period.last.isoformat(),
        "figures": view.figures(HEADLINE_KEYS),
        "hotline": view.hotline(),
        "rank_label": INDICATORS[resolved.rank_by].label,
        "rank_by": resolved.rank_by,
        "trend_table": view.table("trend", "趋势", Dimension.MONTH, dashboard.trend),
        "category_table": view.table("category", "按类别", Dimension.CATEGORY, dashboard.by_category),
        "channel_table": view.table("channel", "按来源渠道", Dimension.CHANNEL, dashboard.by_channel, CHANNEL_KEYS),
        "grid_table": view.table("grid", "按网格", Dimension.GRID, view.grids),
        "department_export": form.link("/dashboard/export", table="department"),
        "department_ranking": view.ranking(Dimension.DEPARTMENT, dashboard.by_department),
        "grid_ranking": view.ranking(Dimension.GRID, view.grids),
        "honours": [
            view.honours("部门", Dimension.DEPARTMENT, dashboard.by_department),
            view.honours("网格", Dimension.GRID, view.grids),
        ],
        "charts": chart_data(view, settings, session),
        "report_links": _report_links(period, resolved.root.code),
        "overdue_href": "/cases?" + urlencode({"queue": "overdue", "grid": resolved.root.code}),
        **_choices(session, actor, form, period),
    }
    return page(request, "dashboard/index.html", context)


def _report_links(period: Period, grid: str) -> dict[str, str]:
    return {
        fmt: "/reports/work-report?" + urlencode({"period": period.key, "grid": grid, "format": fmt})
        for fmt in ("docx", "zip", "md")
    }


# --- Excel -----------------------------------------------------------------------------------------------------


@router.get("/dashboard/export")
def export_table(request: Request, session: ReadSession, actor: SignedIn, settings: AppSettings) -> Response:
    """One of the dashboard's tables as an .xlsx: every indicator per group, rates as Excel percentages."""
    actor.require(Permission.KPI_READ, "导出统计表")
    table = request.query_params.get("table", "")
    if table not in EXPORT_TITLES:
        raise InvalidInputError(f"无法导出“{table}”：可导出 类别、网格、部门、渠道 或 趋势 表", code="invalid_table")
    form = DashboardForm.of(request)
    errors: dict[str, str] = {}
    resolved = resolve(session, actor, form, errors)
    if resolved is None:
        raise InvalidInputError("；".join(errors.values()), code="invalid_filter", detail=errors)
    query, now = resolved.query, timesource.now()
    if table == "trend":
        groups = trend(session, actor, query, now=now, settings=settings, percentiles=True)
    else:
        groups = breakdown(session, actor, query, EXPORT_TABLES[table], now=now, settings=settings, percentiles=True)
        if table == "grid":
            groups = own_level_named(groups, resolved.root.code, resolved.root.name)
    title = f"{EXPORT_TITLES[table]}统计"
    content = workbook_bytes(
        title,
        export_headers(table),
        (export_row(table, group, query.period) for group in groups),
        note=_note(resolved, now),
    )
    filename = quote(f"数据看板-{title}-{query.period.key}.xlsx")
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )


_GROUP_HEADERS = {"category": ("类别", "类别代码"), "grid": ("网格", "网格代码"), "department": ("部门", "部门代码"),
                  "channel": ("来源渠道", "渠道代码"), "trend": ("期间", "开始日期", "结束日期")}  # fmt: skip


def export_headers(table: str) -> list[str]:
    headers = list(_GROUP_HEADERS[table])
    headers += [f"{indicator.label}（{indicator.unit.value}）" for indicator in INDICATORS.values()]
    if table == "department":
        headers.append("协办件数（件）")
    return headers


def export_row(table: str, group: Group, period: Period) -> list[Any]:
    if table == "trend":
        dates = _bucket_dates(group.key or "", period)
        row: list[Any] = [
            group.label,
            dt.date.fromisoformat(dates["date_from"]),
            dt.date.fromisoformat(dates["date_to"]),
        ]
    else:
        row = [group.label, group.key or ""]
    row.extend(export_cell(group.values[key], indicator.unit) for key, indicator in INDICATORS.items())
    if table == "department":
        row.append(Formatted(group.assisted, COUNT_FORMAT))
    return row


def export_cell(value: float | int | None, unit: Unit) -> Formatted:
    """A figure as a number cell at the page's precision (``kpi.metrics.rounded``), formatted as the page shows
    it: 5,147 · 99.6% (Excel's own percent, the fraction 0.996) · 12.5 (hours, points)."""
    shown_value = rounded(value, unit)
    if unit is Unit.PERCENT:
        return percent(shown_value)
    return Formatted(shown_value, COUNT_FORMAT if unit is Unit.CASES else DECIMAL_FORMAT)


def _note(resolved: Resolved, now: dt.datetime) -> str:
    local = now.astimezone(BEIJING)
    return (
        f"统计范围：{resolved.root.name}；统计期间：{resolved.query.period.label}；"
        f"统计截至 {local.year}年{local.month}月{local.day}日 {local:%H:%M}（北京时间）"
    )
