"""Actions on a case: each checks who may act and from which state, changes the case, and appends its event —
all in the caller's transaction. A stale ``expected_version`` is refused, so two people acting at once cannot
both win."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.cases import clock
from civicgrid.cases.attachments import Upload, attach
from civicgrid.cases.auth import in_placing_pool, require_action
from civicgrid.cases.events import append_event
from civicgrid.cases.intake import apply_location
from civicgrid.cases.models import AssignmentRole, Case, CaseAssignment, CaseEvent, CaseState, Placement, Rating
from civicgrid.cases.notifications import notify_departments
from civicgrid.cases.queries import get_case
from civicgrid.cases.routing import command_centre_for, suggest
from civicgrid.cases.taxonomy import leaf_category
from civicgrid.cases.workflow import WORKING, Action
from civicgrid.errors import ConflictError, InvalidInputError
from civicgrid.geo.coords import parse_crs
from civicgrid.grid.codes import district_code_of
from civicgrid.grid.index import grid_index, place_point
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department
from civicgrid.org.service import get_department
from civicgrid.settings import Settings, get_settings
from civicgrid.text import checked_text
from civicgrid.worktime.calendar import WorkCalendar, parse_limit
from civicgrid.worktime.service import load_calendar

MAX_NOTE = 2000  # a reason, a handling report: a page of text, never a document


@dataclass
class ActionInput:
    note: str = ""
    expected_version: int | None = None
    category_code: str | None = None  # register: set or correct the category
    main_department: str | None = None  # dispatch / reroute: department code (else the routing suggestion)
    assist_departments: Sequence[str] | None = None
    extension_value: float | None = None  # request_extension
    extension_unit: str = "days"
    master_number: str | None = None  # merge
    rating: Rating | None = None  # rate
    lon: float | None = None  # place
    lat: float | None = None
    crs: str | None = None
    grid_code: str | None = None  # place without coordinates
    attachments: Sequence[Upload] = field(default_factory=tuple)


@dataclass
class _Context:
    session: Session
    actor: Actor
    case: Case
    params: ActionInput
    settings: Settings
    now: dt.datetime
    calendar: WorkCalendar
    data: dict[str, object] = field(default_factory=dict)

    def start(self, stage: str) -> None:
        pending = clock.start_stage(self.case, stage, self.now, self.calendar, self.settings.due_soon_share)
        if pending:
            self.data["clock"] = pending


def perform(
    session: Session,
    actor: Actor,
    number: str,
    action: Action,
    params: ActionInput | None = None,
    *,
    settings: Settings | None = None,
) -> CaseEvent:
    params = params or ActionInput()
    settings = settings or get_settings()
    case = get_case(session, actor, number)
    require_action(actor, action, case)
    state = case.case_state
    rule = action.rule
    if state not in rule.sources:
        allowed = "、".join(s.label for s in sorted(rule.sources, key=list(CaseState).index))
        raise ConflictError(
            f"案件{case.number}当前为“{state.label}”，不能“{rule.label}”（仅在：{allowed}）",
            code="invalid_state",
            detail={"state": state.value, "action": action.value},
        )
    if params.expected_version is not None and params.expected_version != case.version:
        raise ConflictError(
            f"案件{case.number}已被他人更新，请刷新后再操作", code="stale_version", detail={"version": case.version}
        )
    note = checked_text(params.note, MAX_NOTE, "理由或说明", "note")
    if rule.needs_reason and not note:
        raise InvalidInputError(f"“{rule.label}”须填写理由或说明", code="reason_required")
    _require_evidence(action, params)
    context = _Context(session, actor, case, params, settings, timesource.now(), load_calendar(session, settings))
    # A savepoint: a refusal raised half-way leaves the case exactly as it was, even if the caller carries on.
    with session.begin_nested():
        target = _HANDLERS[action](context)
        new_state = target or rule.target or state
        _lapse_pending_requests(context, action, new_state)
        case.state = new_state.value
        if state is CaseState.REPORTED and new_state is not CaseState.REPORTED and case.responded_at is None:
            case.responded_at = context.now
        clock.refresh_flags(case, context.now)
        event = append_event(session, case, actor, action.value, state, new_state, note, dict(context.data))
        for upload in params.attachments:
            attach(session, settings, case, event, upload)
        if new_state is CaseState.CLOSED and state is not CaseState.CLOSED:
            _close_merged_duplicates(context)
        session.flush()
    return event


def _lapse_pending_requests(ctx: _Context, action: Action, new_state: CaseState) -> None:
    """An undecided extension or suspension request lapses once the case leaves the states in which it can be
    decided, or when another department takes the case over: it belonged to the handling that ended."""
    case, lapsed = ctx.case, []
    taken_over = action in (Action.REROUTE, Action.RETURN, Action.ESCALATE)
    if case.pending_extension_minutes and (taken_over or new_state not in WORKING):
        case.pending_extension_minutes = None
        lapsed.append("extension")
    if case.pending_suspension and (taken_over or new_state is not CaseState.IN_PROGRESS):
        case.pending_suspension = False
        lapsed.append("suspension")
    if lapsed:
        ctx.data["lapsed_requests"] = lapsed


def _require_evidence(action: Action, params: ActionInput) -> None:
    if action is Action.SELF_HANDLE and not params.attachments:
        raise InvalidInputError("自处置须上传处置后的现场照片", code="evidence_required")


# --- handlers: each returns the new state when it is not the rule's fixed target ---------------------------------


def _register(ctx: _Context) -> CaseState | None:
    case = ctx.case
    _set_category(ctx, "立案须确定案件类别")
    case.registered_at = ctx.now
    ctx.start("dispatch")
    return None


def _set_category(ctx: _Context, missing: str) -> None:
    """Set or correct the category when one is given; the case must end up with one."""
    case = ctx.case
    if ctx.params.category_code:
        category = leaf_category(ctx.session, ctx.params.category_code)
        case.category = category
        case.priority = category.priority
        ctx.data["category"] = category.code
    if case.category is None:
        raise InvalidInputError(missing, code="category_required")


def _reject(ctx: _Context) -> CaseState | None:
    clock.end_stages(ctx.case)
    return None


def _dispatch(ctx: _Context) -> CaseState | None:
    case = ctx.case
    main, assists = _chosen_departments(ctx)
    for assignment in case.assignments:
        assignment.active = False
    _assign(ctx, main, AssignmentRole.MAIN)
    for department in assists:
        _assign(ctx, department, AssignmentRole.ASSIST)
    case.main_department_id = main.id
    case.linked = case.linked or bool(assists)
    case.dispatched_at = ctx.now
    ctx.start(clock.HANDLE)
    ctx.data.update(main=main.code, assists=[d.code for d in assists])
    notify_departments(ctx.session, ctx.settings, "assigned", case, [main, *assists], f"新派遣案件{case.number}")
    return None


def _chosen_departments(ctx: _Context) -> tuple[Department, list[Department]]:
    params = ctx.params
    if params.main_department is None:
        route = suggest(ctx.session, ctx.case)
        ctx.data["route"] = route.reason
        return route.main, list(route.assists)
    main = get_department(ctx.session, params.main_department)
    assists = [get_department(ctx.session, code) for code in params.assist_departments or ()]
    if not main.is_active or any(not d.is_active for d in assists):
        raise InvalidInputError("不能派遣给已停用的部门", code="department_inactive")
    if main.id in {d.id for d in assists}:
        raise InvalidInputError("主办部门不能同时是协办部门", code="main_also_assist")
    return main, assists


def _assign(ctx: _Context, department: Department, role: AssignmentRole) -> None:
    existing = next((a for a in ctx.case.assignments if a.department_id == department.id), None)
    if existing is None:
        ctx.case.assignments.append(
            CaseAssignment(department_id=department.id, role=role.value, active=True, assigned_at=ctx.now)
        )
        return
    existing.role, existing.active, existing.assigned_at = role.value, True, ctx.now


def _accept(ctx: _Context) -> CaseState | None:
    ctx.case.handler_user_id = ctx.actor.user_id
    return None


def _return(ctx: _Context) -> CaseState | None:
    case = ctx.case
    previous = case.main_department_id
    for assignment in case.assignments:
        assignment.active = False
    case.main_department_id = None
    case.return_count += 1
    ctx.start("dispatch")
    ctx.data["returned_by"] = previous
    centre = command_centre_for(ctx.session, case.escalation_code or case.scope_code)
    notify_departments(ctx.session, ctx.settings, "returned", case, [centre], f"案件{case.number}被退回")
    return None


def _submit(ctx: _Context) -> CaseState | None:
    ctx.case.handler_user_id = ctx.actor.user_id
    ctx.case.handled_at = ctx.now
    ctx.case.handle_work_minutes = clock.handling_minutes_used(ctx.case, ctx.now, ctx.calendar)
    ctx.start("verify")
    return None


def _verify_pass(ctx: _Context) -> CaseState | None:
    _close(ctx)
    ctx.case.verifier_user_id = ctx.actor.user_id
    return None


def _close(ctx: _Context) -> None:
    ctx.case.closed_at = ctx.now
    clock.end_stages(ctx.case)


def _verify_fail(ctx: _Context) -> CaseState | None:
    ctx.case.rework_count += 1
    ctx.case.handled_at = None
    clock.continue_handling(ctx.case, ctx.now, ctx.calendar, ctx.settings.due_soon_share)
    return None


def _request_extension(ctx: _Context) -> CaseState | None:
    case, params = ctx.case, ctx.params
    if case.pending_extension_minutes:
        raise ConflictError("已有待审批的延期申请", code="extension_pending")
    if params.extension_value is None:
        raise InvalidInputError("请填写延期时长", code="extension_required")
    minutes = parse_limit(params.extension_value, params.extension_unit, ctx.calendar.day_minutes()).minutes
    if minutes <= 0:
        raise InvalidInputError("延期时长须大于0", code="invalid_extension")
    case.pending_extension_minutes = minutes
    ctx.data["minutes"] = minutes
    return None


def _decide_extension(approve: bool) -> Callable[[_Context], CaseState | None]:
    def handler(ctx: _Context) -> CaseState | None:
        case = ctx.case
        minutes = case.pending_extension_minutes
        if not minutes:
            raise ConflictError("没有待审批的延期申请", code="no_pending_extension")
        case.pending_extension_minutes = None
        ctx.data["minutes"] = minutes
        if approve:
            case.extension_count += 1
            clock.extend(case, minutes, ctx.now, ctx.calendar, ctx.settings.due_soon_share)
            ctx.data["new_deadline"] = case.stage_due_at.isoformat() if case.stage_due_at else None
        return None

    return handler


def _request_suspension(ctx: _Context) -> CaseState | None:
    if ctx.case.pending_suspension:
        raise ConflictError("已有待审批的挂账申请", code="suspension_pending")
    ctx.case.pending_suspension = True
    return None


def _decide_suspension(approve: bool) -> Callable[[_Context], CaseState | None]:
    def handler(ctx: _Context) -> CaseState | None:
        case = ctx.case
        if not case.pending_suspension:
            raise ConflictError("没有待审批的挂账申请", code="no_pending_suspension")
        case.pending_suspension = False
        if not approve:
            return None
        case.suspended_from_state = case.state
        clock.suspend(case, ctx.now, ctx.calendar)
        return None

    return handler


def _resume(ctx: _Context) -> CaseState | None:
    case = ctx.case
    clock.resume(case, ctx.now, ctx.calendar, ctx.settings.due_soon_share)
    target = CaseState(case.suspended_from_state or CaseState.IN_PROGRESS.value)
    case.suspended_from_state = None
    return target


def _supervise(ctx: _Context) -> CaseState | None:
    case = ctx.case
    case.supervision_count += 1
    departments = [d for d in [_main_department(ctx)] if d is not None]
    if not departments:
        departments = [command_centre_for(ctx.session, case.escalation_code or case.scope_code)]
    notify_departments(ctx.session, ctx.settings, "supervised", case, departments, f"案件{case.number}被督办")
    return None


def _main_department(ctx: _Context) -> Department | None:
    if ctx.case.main_department_id is None:
        return None
    return ctx.session.get(Department, ctx.case.main_department_id)


def _escalate(ctx: _Context) -> CaseState | None:
    case = ctx.case
    index = grid_index(ctx.session)
    current = case.escalation_code or case.scope_code
    node_id = index.ids_by_code.get(current)
    parent_id = index.parents.get(node_id) if node_id is not None else None
    if parent_id is None:
        raise InvalidInputError("已是最高一级网格，无法继续吹哨上报", code="no_higher_level")
    _set_category(ctx, "吹哨上报须确定案件类别（请选择类别）")  # it arrives upstairs registered
    parent = index.refs[parent_id]
    case.escalation_code = parent.code
    for assignment in case.assignments:
        assignment.active = False
    case.main_department_id = None
    if case.registered_at is None:
        case.registered_at = ctx.now
    ctx.start("dispatch")
    ctx.data.update(escalated_to=parent.code, escalated_from=current)
    centre = command_centre_for(ctx.session, parent.code)
    notify_departments(ctx.session, ctx.settings, "escalated", case, [centre], f"案件{case.number}吹哨上报")
    return None


def _merge(ctx: _Context) -> CaseState | None:
    case, params = ctx.case, ctx.params
    if not params.master_number:
        raise InvalidInputError("请指定主案件编号", code="master_required")
    master = get_case(ctx.session, ctx.actor, params.master_number)
    if master.id == case.id:
        raise InvalidInputError("不能把案件合并到它自己", code="merge_into_self")
    if master.case_state in (CaseState.CLOSED, CaseState.REJECTED, CaseState.MERGED):
        raise ConflictError(f"主案件{master.number}为“{master.case_state.label}”，不能再合并", code="master_not_open")
    require_action(ctx.actor, Action.MERGE, master)  # the master changes too: it must be the actor's to change
    case.merged_into_id = master.id
    clock.end_stages(case)
    ctx.data["master"] = master.number
    _record_duplicate(ctx, master, case)
    for earlier in _duplicates_of(ctx.session, case):  # this case's own duplicates follow it to the new master
        earlier.merged_into_id = master.id
        append_event(
            ctx.session,
            earlier,
            ctx.actor,
            "moved_to_master",
            CaseState.MERGED,
            CaseState.MERGED,
            f"原主案件{case.number}并入{master.number}，随之改并入{master.number}",
            {"master": master.number, "previous_master": case.number},
        )
        _record_duplicate(ctx, master, earlier)
    return None


def _record_duplicate(ctx: _Context, master: Case, duplicate: Case) -> None:
    append_event(
        ctx.session,
        master,
        ctx.actor,
        "merged_duplicate",
        master.case_state,
        master.case_state,
        f"合并重复件{duplicate.number}",
        {"duplicate": duplicate.number},
    )


def _duplicates_of(session: Session, master: Case) -> list[Case]:
    return list(
        session.execute(
            select(Case).where(Case.merged_into_id == master.id, Case.state == CaseState.MERGED.value)
        ).scalars()
    )


def _self_handle(ctx: _Context) -> CaseState | None:
    case = ctx.case
    if case.category is None or not case.category.self_handle_allowed:
        raise InvalidInputError("该类别不允许网格员自处置，请上报立案", code="self_handle_not_allowed")
    case.self_handled = True
    case.registered_at = case.dispatched_at = case.handled_at = ctx.now
    case.handler_user_id = case.verifier_user_id = ctx.actor.user_id
    _close(ctx)
    return None


def _rate(ctx: _Context) -> CaseState | None:
    case, rating = ctx.case, ctx.params.rating
    if rating is None:
        raise InvalidInputError("请选择评价：满意、基本满意或不满意", code="rating_required")
    if case.rating is not None:
        raise ConflictError("该案件已评价", code="already_rated")
    case.rating = rating.value
    case.rated_at = ctx.now
    ctx.data["rating"] = rating.value
    department = _main_department(ctx)
    if department is not None:
        notify_departments(
            ctx.session, ctx.settings, "rated", case, [department], f"案件{case.number}评价：{rating.label}"
        )
    return None


def _reopen(ctx: _Context) -> CaseState | None:
    case = ctx.case
    if case.rating != Rating.UNSATISFIED.value:
        raise ConflictError("只有评价为“不满意”的案件可以重办", code="not_unsatisfied")
    if case.main_department_id is None:
        raise ConflictError("该案件没有主办部门（自处置结案），请重新上报", code="no_department")
    case.reopen_count += 1
    case.rating = None
    case.rated_at = None
    case.closed_at = None
    case.handled_at = None  # the departments of the last dispatch are still assigned: they do it again
    case.dispatched_at = ctx.now
    ctx.start(clock.HANDLE)
    department = _main_department(ctx)
    if department is not None:
        notify_departments(ctx.session, ctx.settings, "reopened", case, [department], f"案件{case.number}重办")
    return None


def _place(ctx: _Context) -> CaseState | None:
    case, params = ctx.case, ctx.params
    waiting_in = case.scope_code if in_placing_pool(ctx.actor, case) else None
    if params.lon is not None or params.lat is not None:
        if params.lon is None or params.lat is None:
            raise InvalidInputError("经纬度须同时填写", code="incomplete_coordinates")
        crs = parse_crs(params.crs)
        found = place_point(ctx.session, params.lon, params.lat, crs)
        if found.node is None:
            raise InvalidInputError("该点仍不在任何网格内，请换一个位置或直接指定网格", code="still_outside")
        apply_location(ctx.session, ctx.actor, case, found, crs)
    elif params.grid_code:
        index = grid_index(ctx.session)
        node_id = index.ids_by_code.get(params.grid_code)
        if node_id is None:
            raise InvalidInputError(f"网格“{params.grid_code}”不存在", code="grid_not_found")
        case.grid_node_id = node_id
        case.scope_code = params.grid_code
        case.district_code = district_code_of(params.grid_code)
    else:
        raise InvalidInputError("请在地图上点选位置，或选择网格", code="location_required")
    placed_where_waiting = waiting_in is not None and case.scope_code.startswith(waiting_in)
    if not ctx.actor.covers_grid(case.scope_code) and not placed_where_waiting:
        raise InvalidInputError("只能落图到自己管辖的网格内", code="out_of_scope")
    case.placement = Placement.MANUAL.value
    ctx.data["grid"] = case.scope_code
    return None


def _comment(ctx: _Context) -> CaseState | None:
    return None


def _close_merged_duplicates(ctx: _Context) -> None:
    for duplicate in _duplicates_of(ctx.session, ctx.case):
        duplicate.state = CaseState.CLOSED.value
        duplicate.closed_at = ctx.now
        append_event(
            ctx.session,
            duplicate,
            ctx.actor,
            "closed_with_master",
            CaseState.MERGED,
            CaseState.CLOSED,
            f"随主案件{ctx.case.number}结案",
            {"master": ctx.case.number},
        )


_HANDLERS: dict[Action, Callable[[_Context], CaseState | None]] = {
    Action.REGISTER: _register,
    Action.REJECT: _reject,
    Action.DISPATCH: _dispatch,
    Action.REROUTE: _dispatch,
    Action.ACCEPT: _accept,
    Action.RETURN: _return,
    Action.SUBMIT: _submit,
    Action.VERIFY_PASS: _verify_pass,
    Action.VERIFY_FAIL: _verify_fail,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.APPROVE_EXTENSION: _decide_extension(approve=True),
    Action.DENY_EXTENSION: _decide_extension(approve=False),
    Action.REQUEST_SUSPENSION: _request_suspension,
    Action.APPROVE_SUSPENSION: _decide_suspension(approve=True),
    Action.DENY_SUSPENSION: _decide_suspension(approve=False),
    Action.RESUME: _resume,
    Action.SUPERVISE: _supervise,
    Action.ESCALATE: _escalate,
    Action.MERGE: _merge,
    Action.SELF_HANDLE: _self_handle,
    Action.RATE: _rate,
    Action.REOPEN: _reopen,
    Action.PLACE: _place,
    Action.COMMENT: _comment,
}
