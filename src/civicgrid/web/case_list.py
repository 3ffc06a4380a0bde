"""The case list (filters, sorting, keyset pages, Excel export) and a department's inbox."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from civicgrid import timesource
from civicgrid.cases import queries
from civicgrid.cases.auth import readable
from civicgrid.cases.models import Case, CaseState, Channel, Rating
from civicgrid.cases.queues import QUEUES, queue_filter, queues_for
from civicgrid.errors import InvalidInputError, PermissionDeniedError
from civicgrid.excel import workbook_bytes, xlsx_response
from civicgrid.grid.index import GridIndex, grid_index
from civicgrid.http.deps import CSRF_CHECKED, ReadSession, SignedIn
from civicgrid.http.routing import session_router
from civicgrid.kpi.metrics import INDICATORS
from civicgrid.kpi.periods import parse_period
from civicgrid.kpi.service import KpiQuery, indicator_filter
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department
from civicgrid.org.roles import Permission, Role
from civicgrid.web.forms import category_options, department_options, local_day
from civicgrid.web.render import page

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)
PAGE_SIZE = 50
EXPORT_LIMIT = 50_000


@dataclass
class ListQuery:
    """The list's query string, parsed: what the filter form shows and what the next-page link repeats."""

    states: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    queue: str = ""
    category: str = ""
    grid: str = ""
    department: str = ""
    q: str = ""
    date_from: str = ""
    date_to: str = ""
    sort: str = queries.Sort.NEWEST.value
    after: str = ""
    size: str = ""
    lead: str = ""  # 主办部门 (the main department), where ``department`` is any department working on it
    indicator: str = ""  # the cases behind a dashboard figure (kpi.service.indicator_filter)

    @classmethod
    def of(cls, request: Request) -> ListQuery:
        params = request.query_params
        return cls(
            states=[s for s in params.getlist("state") if s],
            channels=[c for c in params.getlist("channel") if c],
            **{name: params.get(name, "").strip() for name in _SCALARS},
        )

    def link(self, **changes: str) -> str:
        values: dict[str, Any] = {"state": self.states, "channel": self.channels}
        values.update({name: getattr(self, name) for name in _SCALARS})
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v}, doseq=True)


_SCALARS = (
    "queue", "category", "grid", "department", "q", "date_from", "date_to", "sort", "after", "size", "lead",
    "indicator",
)  # fmt: skip
PAGE_SIZES = (20, 50, 100)


def criteria_of(session: Session, actor: Actor, query: ListQuery) -> queries.CaseFilter:
    base = queue_filter(actor, query.queue) if query.queue in QUEUES else queries.CaseFilter()
    try:
        states = [CaseState(s) for s in query.states] or list(base.states)
        channels = [Channel(c) for c in query.channels] or list(base.channels)
    except ValueError as error:
        raise InvalidInputError("筛选条件无效", code="invalid_filter") from error
    lead = _department_id(session, actor, query.lead)
    criteria = queries.CaseFilter(
        states=states,
        channels=channels,
        category_code=query.category or None,
        grid_code=query.grid or None,
        department_id=_department_id(session, actor, query.department),
        due_soon=base.due_soon,
        overdue=base.overdue,
        open_only=base.open_only,
        unplaced=base.unplaced,
        conditions=base.conditions,
        text=query.q or None,
        reported_from=local_day(query.date_from),
        reported_to=local_day(query.date_to, end=True),
        main_department_ids=() if lead is None else (lead,),
    )
    if not query.indicator:
        return criteria
    # A dashboard figure's cases: its cohort and its selection as the KPI module defines them (the list's own
    # grid/category/channel/date filters name the same cohort), narrowed only by what the list adds itself.
    behind = indicator_filter(_kpi_query(query, channels, lead), query.indicator, timesource.now())
    return replace(
        behind,
        states=criteria.states,
        department_id=criteria.department_id,
        due_soon=criteria.due_soon,
        overdue=criteria.overdue,
        open_only=criteria.open_only,
        unplaced=criteria.unplaced,
        conditions=(*behind.conditions, *criteria.conditions),  # a queue's, when the list is also one
        text=criteria.text,
    )


def _kpi_query(query: ListQuery, channels: list[Channel], lead: int | None) -> KpiQuery:
    if not (query.date_from and query.date_to):
        raise InvalidInputError("按统计指标查看案件，请填写上报起止日期", code="invalid_filter")
    period = parse_period(f"{query.date_from}..{query.date_to}")  # the dates are checked above (local_day)
    return KpiQuery(
        period,
        grid_code=query.grid or None,
        department_id=lead,
        category_code=query.category or None,
        channel_group=frozenset(channels),
    )


def indicator_label(query: ListQuery) -> str | None:
    """What the list holds when it is a dashboard figure's cases: “立案数：已立案的案件（不含重复件）”."""
    indicator = INDICATORS.get(query.indicator)
    if indicator is None or indicator.cases is None:
        return None
    return f"{indicator.label}：{indicator.cases.describe}"


def _department_id(session: Session, actor: Actor, code: str) -> int | None:
    if not code:
        return None
    found = session.execute(select(Department.id).where(Department.code == code)).scalar_one_or_none()
    if found is None:
        raise InvalidInputError(f"部门“{code}”不存在", code="department_not_found")
    return found


def _sort(value: str) -> queries.Sort:
    try:
        return queries.Sort(value or queries.Sort.NEWEST.value)
    except ValueError:
        return queries.Sort.NEWEST


@dataclass(frozen=True)
class Row:
    case: Case
    grid_name: str
    department: str


def rows_of(cases: list[Case], index: GridIndex, departments: dict[int, str]) -> list[Row]:
    return [
        Row(
            case,
            index.refs[case.grid_node_id].name if case.grid_node_id in index.refs else "未落图",
            departments.get(case.main_department_id, "") if case.main_department_id else "",
        )
        for case in cases
    ]


def _department_name(session: Session, code: str) -> str:
    if not code:
        return ""
    return session.execute(select(Department.name).where(Department.code == code)).scalar_one_or_none() or code


def _department_names(session: Session) -> dict[int, str]:
    return {row.id: row.name for row in session.execute(select(Department.id, Department.name))}


def _grid_options(index: GridIndex, actor: Actor) -> list[tuple[str, str]]:
    """Streets and communities the actor works on (units are too many for a list: type a code instead)."""
    return [
        (ref.code, ("　" if ref.level.value == "community" else "") + ref.name)
        for ref in sorted(index.refs.values(), key=lambda r: r.code)
        if ref.level.value in ("street", "community") and actor.covers_grid(ref.code)
    ]


def _scoped_criteria(
    session: Session, actor: Actor, query: ListQuery, scope: queries.CaseFilter | None
) -> queries.CaseFilter:
    """The query's filters, narrowed to a department inbox's open cases when ``scope`` is given."""
    criteria = criteria_of(session, actor, query)
    if scope is not None:
        criteria.main_department_ids = scope.main_department_ids
        criteria.open_only = True
    return criteria


def _pending_total_label(result: queries.CasePage, after: str) -> str:
    """What the pager says while a search's count is still coming (and all it says without JavaScript)."""
    if result.next_cursor:
        return f"超过 {len(result.cases):,} 件"
    return f"本页 {len(result.cases):,} 件" if after else f"共 {len(result.cases):,} 件"


def _render_list(
    request: Request,
    session: Session,
    actor: Actor,
    query: ListQuery,
    *,
    scope: queries.CaseFilter | None,
    title: str,
    base_path: str,
) -> Response:
    criteria = _scoped_criteria(session, actor, query, scope)
    size = int(query.size) if query.size.isdigit() and int(query.size) in PAGE_SIZES else PAGE_SIZE
    result = queries.page_cases(session, actor, criteria, sort=_sort(query.sort), after=query.after or None, limit=size)
    index = grid_index(session)
    context = {
        "title": title,
        "base_path": base_path,
        "query": query,
        "rows": rows_of(result.cases, index, _department_names(session)),
        "result": result,
        "count_link": None if result.count else f"{base_path}/count?{query.link(after='', sort='', size='')}",
        "pending_total": None if result.count else _pending_total_label(result, query.after),
        "next_link": f"{base_path}?{query.link(after=result.next_cursor)}" if result.next_cursor else None,
        "first_link": f"{base_path}?{query.link(after='')}" if query.after else None,
        "export_link": f"/cases/export.xlsx?{query.link(after='')}",
        "indicator_label": indicator_label(query),
        "lead_name": _department_name(session, query.lead),
        "without_indicator": f"{base_path}?{query.link(after='', indicator='', lead='')}",
        "queues": [(key, QUEUES[key].label) for key in queues_for(actor)],
        "states": list(CaseState),
        "channels": list(Channel),
        "channel_labels": {channel.value: channel.label for channel in Channel},
        "sorts": list(queries.Sort),
        "categories": [option for option in category_options(session) if option.depth <= 1],
        "departments": department_options(session, actor),
        "grids": _grid_options(index, actor),
    }
    template = "cases/_table.html" if request.headers.get("hx-target") == "case-table" else "cases/list.html"
    return page(request, template, context)


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, session: ReadSession, actor: SignedIn) -> Response:
    actor.require(Permission.CASE_READ, "查看案件")
    return _render_list(request, session, actor, ListQuery.of(request), scope=None, title="案件", base_path="/cases")


@router.get("/cases/count", response_class=HTMLResponse)
def case_count(request: Request, session: ReadSession, actor: SignedIn) -> Response:
    """The list's count on its own, for a search the page did not count (the pager loads it after the list)."""
    actor.require(Permission.CASE_READ, "查看案件")
    return _render_count(request, session, actor, scope=None)


@router.get("/inbox", response_class=HTMLResponse)
def department_inbox(request: Request, session: ReadSession, actor: SignedIn) -> Response:
    """Cases the actor's departments lead and have not finished: accept, return, submit, ask for more time."""
    return _render_list(
        request, session, actor, ListQuery.of(request), scope=_inbox(actor), title="部门待办", base_path="/inbox"
    )


@router.get("/inbox/count", response_class=HTMLResponse)
def department_inbox_count(request: Request, session: ReadSession, actor: SignedIn) -> Response:
    return _render_count(request, session, actor, scope=_inbox(actor))


def _inbox(actor: Actor) -> queries.CaseFilter:
    if Role.DEPT_STAFF not in actor.roles or not actor.department_ids:
        raise PermissionDeniedError(f"{actor.display_name}不属于任何处置部门，没有部门待办", code="no_department")
    return queries.CaseFilter(main_department_ids=sorted(actor.department_ids))


def _render_count(request: Request, session: Session, actor: Actor, *, scope: queries.CaseFilter | None) -> Response:
    criteria = _scoped_criteria(session, actor, ListQuery.of(request), scope)
    return page(request, "cases/_count.html", {"count": queries.count_cases(session, actor, criteria)})


EXPORT_HEADERS = (
    "案件编号", "标题", "问题描述", "类别", "状态", "来源渠道", "所在网格", "地址", "主办部门",
    "上报时间", "立案时间", "派遣时间", "处置时间", "结案时间", "本环节期限", "超期", "评价",
)  # fmt: skip


@router.get("/cases/export.xlsx")
def export_cases(request: Request, session: ReadSession, actor: SignedIn) -> Response:
    """The filtered list as an Excel file (newest first, at most 50,000 rows; the sheet says when cut)."""
    actor.require(Permission.CASE_READ, "导出案件")
    query = ListQuery.of(request)
    criteria = criteria_of(session, actor, query)
    stmt = queries.filtered(readable(select(Case), actor), criteria).options(selectinload(Case.category))
    stmt = stmt.order_by(Case.reported_at.desc(), Case.id.desc()).limit(EXPORT_LIMIT + 1)
    cases = list(session.execute(stmt).scalars())
    note = f"仅导出前{EXPORT_LIMIT:,}条，请缩小筛选范围" if len(cases) > EXPORT_LIMIT else ""
    rows = rows_of(cases[:EXPORT_LIMIT], grid_index(session), _department_names(session))
    content = workbook_bytes("案件清单", EXPORT_HEADERS, (_export_row(row) for row in rows), note=note)
    return xlsx_response(content, "案件清单.xlsx")


def _export_row(row: Row) -> list[Any]:
    case = row.case
    return [
        case.number,
        case.title,
        case.description,
        case.category.name if case.category else "",
        case.case_state.label,
        Channel(case.channel).label,
        row.grid_name,
        case.address or "",
        row.department,
        case.reported_at,
        case.registered_at,
        case.dispatched_at,
        case.handled_at,
        case.closed_at,
        case.stage_due_at,
        "是" if case.overdue else "",
        Rating(case.rating).label if case.rating else "",
    ]
