"""A case as an API or page shows it to one actor: contacts masked unless the actor may see them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.cases.auth import mask_name, mask_phone, reads_as_reporter
from civicgrid.cases.models import Case, CaseEvent, CaseState, Channel, Placement, Rating
from civicgrid.cases.public import OUTCOME_LABELS, PUBLIC_STEP_LABELS
from civicgrid.cases.workflow import Action
from civicgrid.grid.index import GridIndex, grid_index
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department
from civicgrid.org.roles import Permission


class DepartmentRef(BaseModel):
    code: str
    name: str
    role: str


class GridRef(BaseModel):
    code: str
    name: str


class CaseView(BaseModel):
    number: str
    version: int
    state: str
    state_label: str
    channel: str
    channel_label: str
    source_id: str | None
    title: str
    description: str
    case_type: str | None
    category_code: str | None
    category_name: str | None
    extra: dict[str, Any]
    priority: int
    placement: str
    placement_label: str
    grid_path: list[GridRef]
    lon: float | None
    lat: float | None
    address: str | None
    nearest_grid_code: str | None
    distance_to_grid_m: float | None
    escalation_code: str | None
    reporter_name: str | None
    reporter_phone: str | None
    departments: list[DepartmentRef]
    stage: str | None
    stage_due_at: dt.datetime | None
    deadline_at: dt.datetime | None
    due_soon: bool
    overdue: bool
    ever_overdue: bool
    suspended: bool
    pending_extension_minutes: int | None
    pending_suspension: bool
    rework_count: int
    return_count: int
    extension_count: int
    supervision_count: int
    reopen_count: int
    self_handled: bool
    rating: str | None
    rating_label: str | None
    merged_into: str | None
    reported_at: dt.datetime
    registered_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    handled_at: dt.datetime | None
    closed_at: dt.datetime | None


class EventView(BaseModel):
    seq: int
    at: dt.datetime
    actor: str | None  # None for a reporter reading her own case: staff are not named to her
    action: str
    from_state: str | None
    to_state: str
    note: str
    data: dict[str, Any]


@dataclass(frozen=True)
class _Lookups:
    """What the views of a page of cases look up, read once for the page: the grid index (its revision is one
    query), the departments and the numbers of the cases they were merged into."""

    index: GridIndex
    departments: dict[int, tuple[str, str]]  # id → (code, name)
    merged_numbers: dict[int, str]  # case id → number


def case_view(session: Session, actor: Actor, case: Case) -> CaseView:
    return case_views(session, actor, [case])[0]


def case_views(session: Session, actor: Actor, cases: Sequence[Case]) -> list[CaseView]:
    """The views of many cases with a fixed number of queries, however many cases: load the cases with their
    ``assignments`` and ``category`` (``selectinload``) and the rest is read here once."""
    lookups = _lookups(session, cases)
    return [_view(actor, case, lookups) for case in cases]


_DEPARTMENTS = select(Department.id, Department.code, Department.name)


def _lookups(session: Session, cases: Sequence[Case]) -> _Lookups:
    department_ids = {a.department_id for case in cases for a in case.assignments if a.active}
    merged_ids = {case.merged_into_id for case in cases if case.merged_into_id is not None}
    departments = (
        {row.id: (row.code, row.name) for row in session.execute(_DEPARTMENTS.where(Department.id.in_(department_ids)))}
        if department_ids
        else {}
    )
    merged = (
        {row.id: row.number for row in session.execute(select(Case.id, Case.number).where(Case.id.in_(merged_ids)))}
        if merged_ids
        else {}
    )
    return _Lookups(grid_index(session), departments, merged)


def _view(actor: Actor, case: Case, lookups: _Lookups) -> CaseView:
    contact = actor.has(Permission.CASE_VIEW_CONTACT) or (
        actor.user_id is not None and case.reporter_user_id == actor.user_id
    )
    index = lookups.index
    path = index.path(case.grid_node_id) if case.grid_node_id in index.refs else ()
    merged_into = lookups.merged_numbers.get(case.merged_into_id) if case.merged_into_id else None
    return CaseView(
        number=case.number,
        version=case.version,
        state=case.state,
        state_label=CaseState(case.state).label,
        channel=case.channel,
        channel_label=Channel(case.channel).label,
        source_id=case.source_id,
        title=case.title,
        description=case.description,
        case_type=case.case_type_code,
        category_code=case.category.code if case.category else None,
        category_name=case.category.name if case.category else None,
        extra=case.extra,
        priority=case.priority,
        placement=case.placement,
        placement_label=Placement(case.placement).label,
        grid_path=[GridRef(code=ref.code, name=ref.name) for ref in path],
        lon=case.lon,
        lat=case.lat,
        address=case.address,
        nearest_grid_code=case.nearest_grid_code,
        distance_to_grid_m=case.distance_to_grid_m,
        escalation_code=case.escalation_code,
        reporter_name=case.reporter_name if contact else mask_name(case.reporter_name),
        reporter_phone=case.reporter_phone if contact else mask_phone(case.reporter_phone),
        departments=_departments(case, lookups.departments),
        stage=case.stage,
        stage_due_at=case.stage_due_at,
        deadline_at=case.deadline_at,
        due_soon=case.due_soon,
        overdue=case.overdue,
        ever_overdue=case.ever_overdue,
        suspended=case.suspended_at is not None,
        pending_extension_minutes=case.pending_extension_minutes,
        pending_suspension=case.pending_suspension,
        rework_count=case.rework_count,
        return_count=case.return_count,
        extension_count=case.extension_count,
        supervision_count=case.supervision_count,
        reopen_count=case.reopen_count,
        self_handled=case.self_handled,
        rating=case.rating,
        rating_label=Rating(case.rating).label if case.rating else None,
        merged_into=merged_into,
        reported_at=case.reported_at,
        registered_at=case.registered_at,
        dispatched_at=case.dispatched_at,
        handled_at=case.handled_at,
        closed_at=case.closed_at,
    )


def _departments(case: Case, departments: dict[int, tuple[str, str]]) -> list[DepartmentRef]:
    result = []
    for assignment in case.assignments:
        if not assignment.active or assignment.department_id not in departments:
            continue
        code, name = departments[assignment.department_id]
        result.append(DepartmentRef(code=code, name=name, role=assignment.role))
    return result


PUBLIC_ACTIONS = frozenset(PUBLIC_STEP_LABELS)
REPORTER_NOTES = frozenset(OUTCOME_LABELS)


def events_for(actor: Actor, events: Sequence[CaseEvent]) -> list[EventView]:
    """The history as this reader may see it: in full for staff; for a reporter, the public steps without the
    staff who took them, with only the notes addressed to her (the result, a refusal's reason)."""
    if not reads_as_reporter(actor):
        return [event_view(event) for event in events]
    return [
        EventView(
            seq=event.seq,
            at=event.at,
            actor=None,
            action=event.action,
            from_state=event.from_state,
            to_state=event.to_state,
            note=event.note if event.action in REPORTER_NOTES else "",
            data={},
        )
        for event in events
        if event.action in PUBLIC_ACTIONS
    ]


def event_view(event: CaseEvent) -> EventView:
    return EventView(
        seq=event.seq,
        at=event.at,
        actor=event.actor_label,
        action=event.action,
        from_state=event.from_state,
        to_state=event.to_state,
        note=event.note,
        data=event.data,
    )


_EVENT_LABELS = {
    "intake": "受理",
    "merged_duplicate": "合并重复件",
    "moved_to_master": "随主案件改并",
    "closed_with_master": "随主案件结案",
    "link_subject": "关联登记对象",
    "unlink_subject": "取消关联登记对象",
}


def event_label(action: str) -> str:
    """The Chinese name of a history entry: an action's label, or one of the entries the engine writes itself."""
    if action in _EVENT_LABELS:
        return _EVENT_LABELS[action]
    try:
        return Action(action).label
    except ValueError:
        return action
