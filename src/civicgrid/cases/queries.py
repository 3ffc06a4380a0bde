"""Reading cases: one case, lists with filters, and the history — always through the actor's scope."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, selectinload

from civicgrid.cases.auth import S, readable
from civicgrid.cases.models import (
    OPEN_STATES,
    UNPLACED,
    Attachment,
    Case,
    CaseAssignment,
    CaseEvent,
    CaseState,
    Category,
    Channel,
)
from civicgrid.code_prefix import code_starts_with
from civicgrid.db import MAX_INTEGER
from civicgrid.errors import InvalidInputError, NotFoundError
from civicgrid.org.actor import Actor


def get_case(session: Session, actor: Actor, number: str) -> Case:
    """The case, if the actor may read it. An unreadable case is reported as not found (no existence leak)."""
    stmt = readable(select(Case).where(Case.number == number.strip()), actor).options(
        selectinload(Case.assignments), selectinload(Case.category)
    )
    case = session.execute(stmt).scalar_one_or_none()
    if case is None:
        raise NotFoundError(f"找不到案件{number}，或无权查看", code="case_not_found", detail={"number": number})
    return case


@dataclass
class CaseFilter:
    states: Sequence[CaseState] = ()
    category_code: str | None = None  # a category and its subtree
    grid_code: str | None = None  # a grid subtree
    department_id: int | None = None
    channels: Sequence[Channel] = ()
    due_soon: bool | None = None
    overdue: bool | None = None
    reported_from: dt.datetime | None = None
    reported_to: dt.datetime | None = None
    text: str | None = None
    unplaced: bool | None = None
    main_department_ids: Sequence[int] = ()  # a department inbox: cases these departments lead
    open_only: bool = False
    conditions: Sequence[
        ColumnElement[bool]
    ] = ()  # more conditions on "case": an indicator's cases (kpi), what the actor can act on now (a queue)


def filtered(stmt: S, criteria: CaseFilter) -> S:
    if criteria.states:
        stmt = stmt.where(Case.state.in_([state.value for state in criteria.states]))
    if criteria.grid_code:
        stmt = stmt.where(code_starts_with(Case.scope_code, criteria.grid_code))
    if criteria.category_code:
        stmt = stmt.join(Case.category).where(code_starts_with(Category.code, criteria.category_code))
    if criteria.department_id is not None:
        stmt = stmt.where(
            Case.assignments.any((CaseAssignment.department_id == criteria.department_id) & CaseAssignment.active)
        )
    if criteria.channels:
        stmt = stmt.where(Case.channel.in_([channel.value for channel in criteria.channels]))
    if criteria.due_soon is not None:
        stmt = stmt.where(Case.due_soon.is_(criteria.due_soon))
    if criteria.overdue is not None:
        stmt = stmt.where(Case.overdue.is_(criteria.overdue))
    if criteria.reported_from is not None:
        stmt = stmt.where(Case.reported_at >= criteria.reported_from)
    if criteria.reported_to is not None:
        stmt = stmt.where(Case.reported_at < criteria.reported_to)
    if criteria.unplaced:
        stmt = stmt.where(Case.placement.in_([placement.value for placement in UNPLACED]))
    if criteria.main_department_ids:
        stmt = stmt.where(Case.main_department_id.in_(sorted(criteria.main_department_ids)))
    if criteria.open_only:
        stmt = stmt.where(Case.state.in_(OPEN_STATES))
    if criteria.conditions:
        stmt = stmt.where(*criteria.conditions)
    if criteria.text:
        pattern = criteria.text.strip()
        stmt = stmt.where(
            or_(
                Case.number == pattern,
                Case.title.contains(pattern, autoescape=True),
                Case.description.contains(pattern, autoescape=True),
            )
        )
    return stmt


def list_cases(
    session: Session, actor: Actor, criteria: CaseFilter | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[Case], int]:
    """A page of cases, newest first, and the total count."""
    stmt = filtered(readable(select(Case), actor), criteria or CaseFilter())
    ids = stmt.with_only_columns(Case.id)  # counting needs no other column (SQLite would copy them all)
    total = session.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
    page = session.execute(
        stmt.options(selectinload(Case.category), selectinload(Case.assignments))
        .order_by(Case.reported_at.desc(), Case.id.desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    return list(page), int(total)


def history(session: Session, actor: Actor, number: str) -> list[CaseEvent]:
    case = get_case(session, actor, number)
    return list(
        session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)).scalars()
    )


def attachments_of(session: Session, actor: Actor, number: str) -> list[Attachment]:
    case = get_case(session, actor, number)
    return list(
        session.execute(select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)).scalars()
    )


# --- pages of a long list: keyset pagination ----------------------------------------------------------------


class Sort(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    DUE = "due"  # the current stage's deadline first; cases without one last

    @property
    def label(self) -> str:
        return {"newest": "最新上报", "oldest": "最早上报", "due": "期限最近"}[self.value]


COUNT_CAP = 10_000  # beyond this the page says "1万+": an exact count of a million rows costs more than a page


@dataclass(frozen=True)
class CaseCount:
    total: int  # at most COUNT_CAP
    capped: bool  # there are more than COUNT_CAP


@dataclass(frozen=True)
class CasePage:
    cases: list[Case]
    next_cursor: str | None
    count: CaseCount | None  # None: not counted with the page (a text search; count_cases answers later)

    @property
    def total(self) -> int | None:
        return self.count.total if self.count else None

    @property
    def total_capped(self) -> bool:
        return self.count is not None and self.count.capped


def page_cases(
    session: Session,
    actor: Actor,
    criteria: CaseFilter | None = None,
    *,
    sort: Sort = Sort.NEWEST,
    after: str | None = None,
    limit: int = 50,
) -> CasePage:
    """One page of the actor's cases, continuing after ``after`` (the previous page's cursor), with the count.

    Keyset pagination: the page is found through the sort key's index however deep the reader goes, where an
    OFFSET would read and skip every earlier row. A free-text search is not counted here unless the whole result
    is this one page: no index answers ``LIKE '%word%'``, so its count reads every readable case whatever the
    word, while its first page usually stops early (``count_cases`` gives the count on its own).
    """
    criteria = criteria or CaseFilter()
    keys = _sort_keys(sort)
    stmt = filtered(readable(select(Case), actor), criteria)
    stmt = stmt.order_by(*(key.desc() if descending else key.asc() for key, descending in keys))
    if after:
        stmt = stmt.where(_after(keys, _decode_cursor(after, len(keys))))
    rows = list(session.execute(stmt.options(selectinload(Case.category)).limit(limit + 1)).scalars())
    next_cursor = _encode_cursor(rows[limit - 1], sort) if len(rows) > limit else None
    if not criteria.text:
        count: CaseCount | None = count_cases(session, actor, criteria)
    elif next_cursor is None and not after:  # the whole result is on this page
        count = CaseCount(len(rows), capped=False)
    else:
        count = None
    return CasePage(rows[:limit], next_cursor, count)


def count_cases(session: Session, actor: Actor, criteria: CaseFilter | None = None) -> CaseCount:
    """How many of the actor's cases match, counted up to COUNT_CAP (beyond it the list says "超过 10,000 件")."""
    ids = filtered(readable(select(Case.id), actor), criteria or CaseFilter()).limit(COUNT_CAP + 1)
    counted = int(session.execute(select(func.count()).select_from(ids.subquery())).scalar_one())
    return CaseCount(min(counted, COUNT_CAP), counted > COUNT_CAP)


_FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def _sort_keys(sort: Sort) -> list[tuple[Any, bool]]:
    if sort is Sort.OLDEST:
        return [(Case.reported_at, False), (Case.id, False)]
    if sort is Sort.DUE:
        return [(func.coalesce(Case.stage_due_at, _FAR_FUTURE), False), (Case.id, False)]
    return [(Case.reported_at, True), (Case.id, True)]


def _after(keys: list[tuple[Any, bool]], values: list[Any]) -> ColumnElement[bool]:
    """(k1, k2) after (v1, v2) in the sort order, as one row-value comparison: both keys run the same way, and
    SQLite uses the index for a row value where it would scan for the equivalent OR."""
    (first, descending), (second, _) = keys
    row = tuple_(first, second)
    cursor = tuple_(literal(values[0], first.type), literal(values[1], second.type))
    after: ColumnElement[bool] = row < cursor if descending else row > cursor
    return after


def _encode_cursor(row: Case, sort: Sort) -> str:
    moment = (row.stage_due_at or _FAR_FUTURE) if sort is Sort.DUE else row.reported_at
    return f"{moment.astimezone(dt.UTC).isoformat()}~{row.id}"


def _decode_cursor(cursor: str, parts: int) -> list[Any]:
    moment, _, identifier = cursor.partition("~")
    try:
        values: list[Any] = [dt.datetime.fromisoformat(moment), int(identifier)]
    except ValueError as error:
        raise InvalidInputError("分页参数无效，请从第一页重新查看", code="invalid_cursor") from error
    if values[0].tzinfo is None or len(values) != parts or not 0 <= values[1] <= MAX_INTEGER:
        raise InvalidInputError("分页参数无效，请从第一页重新查看", code="invalid_cursor")
    return values


# --- the workbench -------------------------------------------------------------------------------------------


def recent_events(session: Session, actor: Actor, limit: int = 12) -> list[tuple[CaseEvent, Case]]:
    """The latest step on each of the cases the actor may read that moved last (the workbench's 最近动态): one
    line per case, however many entries its latest moment wrote (a 摸排 hazard is taken in and linked at once)."""
    stmt = readable(
        select(CaseEvent, Case)
        .join(Case, Case.id == CaseEvent.case_id)
        .order_by(CaseEvent.at.desc(), CaseEvent.id.desc()),
        actor,
    ).limit(limit * RECENT_LOOKAHEAD)
    latest: dict[int, tuple[CaseEvent, Case]] = {}
    for event, case_row in session.execute(stmt).all():
        if case_row.id not in latest:
            latest[case_row.id] = (event, case_row)
        if len(latest) == limit:
            break
    return list(latest.values())


RECENT_LOOKAHEAD = 4  # entries read per line shown: a case's latest moment rarely writes more than a few


def nearby_open(
    session: Session,
    actor: Actor,
    *,
    lon: float,
    lat: float,
    category_code: str | None = None,
    radius_m: float = 300.0,
    limit: int = 5,
) -> list[tuple[Case, float]]:
    """Open cases the actor may read within ``radius_m`` of a WGS-84 point (same category when given), nearest
    first: the intake form's hint that this may be a repeat of a case already in hand."""
    lat_span = radius_m / METRES_PER_DEGREE
    lon_span = radius_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    stmt = filtered(
        readable(select(Case), actor),
        CaseFilter(category_code=category_code, open_only=True),
    ).where(
        Case.lon.between(lon - lon_span, lon + lon_span),
        Case.lat.between(lat - lat_span, lat + lat_span),
        Case.state != CaseState.MERGED.value,
    )
    found = []
    for candidate in session.execute(stmt.options(selectinload(Case.category)).limit(200)).scalars():
        distance = _approximate_metres(lon, lat, candidate.lon or 0.0, candidate.lat or 0.0)  # not null: filtered
        if distance <= radius_m:
            found.append((candidate, distance))
    return sorted(found, key=lambda pair: pair[1])[:limit]


METRES_PER_DEGREE = 111_320.0


def _approximate_metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Equirectangular distance: within a few hundred metres its error is far below a GPS fix's."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return math.hypot(x, y) * 6_371_000.0
