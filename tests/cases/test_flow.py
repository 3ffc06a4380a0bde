"""The case flow end to end in the domain service: every branch of the 数字城管 flow, who may act, and the history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from civicgrid import timesource
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Case, CaseAssignment, CaseEvent, CaseState, Channel, Placement, Rating
from civicgrid.cases.queries import get_case, history, list_cases
from civicgrid.cases.tick import tick
from civicgrid.cases.workflow import Action
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.notify.models import OutboxMessage
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department

from .conftest import (
    COMMUNITY,
    DISTRICT,
    IN_OTHER_STREET,
    IN_OTHER_UNIT,
    IN_UNIT,
    OTHER_STREET,
    OTHER_UNIT,
    OUTSIDE,
    UNIT,
    District,
    beijing,
    photo,
)

EXPOSED_RUBBISH = "0101"  # 市容环境/暴露垃圾: 4 working hours, default department HC-CG, self-handling allowed
ILLEGAL_BUILDING = "0301"  # 违法建设/违法搭建: 15 working days, CGJ-ZF (absent here → command centre)


def report(d: District, actor: Actor | None = None, **overrides: Any) -> Case:
    gcj_lon, gcj_lat = wgs84_to_gcj02(*IN_UNIT)
    fields: dict[str, Any] = {
        "channel": Channel.HOTLINE_12345,
        "title": "小区门口垃圾堆积",
        "description": "泰和社区3号楼前垃圾三天没人清运，气味很大。",
        "lon": gcj_lon,
        "lat": gcj_lat,
        "crs": "gcj02",
        "reporter_name": "王建国",
        "reporter_phone": "13812345678",
    }
    fields.update(overrides)
    return intake(d.session, actor or d.hotline, IntakeRequest(**fields), settings=d.settings).case


def act(d: District, actor: Actor, case: Case, action: Action, **fields: Any) -> CaseEvent:
    return perform(d.session, actor, case.number, action, ActionInput(**fields), settings=d.settings)


def dispatched(d: District, **overrides: Any) -> Case:
    case = report(d, **overrides)
    act(d, d.dispatcher, case, Action.REGISTER, category_code=EXPOSED_RUBBISH)
    act(d, d.dispatcher, case, Action.DISPATCH)
    return case


def test_intake_numbers_places_and_clocks_a_hotline_call(district: District) -> None:
    case = report(district)
    assert case.number.startswith("20251009") and len(case.number) == 14
    assert case.state == CaseState.REPORTED.value
    assert case.placement == Placement.LOCATED.value
    assert case.scope_code == UNIT
    assert abs(case.lon - IN_UNIT[0]) < 1e-7  # type: ignore[operator]  # GCJ-02 in, WGS-84 stored
    assert case.stage == "register"
    assert case.stage_due_at == beijing(2025, 10, 9, 12, 0)  # 2 working hours from 10:00 end as the morning does
    events = history(district.session, district.hotline, case.number)
    assert [(e.action, e.to_state) for e in events] == [("intake", "reported")]


def test_the_whole_standard_flow_to_a_satisfied_rating(district: District) -> None:
    d = district
    case = report(d)
    act(d, d.dispatcher, case, Action.REGISTER, category_code=EXPOSED_RUBBISH)
    act(d, d.dispatcher, case, Action.DISPATCH)  # routed by the category's default department
    assert [a.role for a in case.assignments if a.active] == ["main"]
    assert case.deadline_at == beijing(2025, 10, 9, 15, 30)  # 4 working hours from 10:00, lunch skipped
    act(d, d.street_cg, case, Action.ACCEPT)
    act(d, d.street_cg, case, Action.SUBMIT, note="已清运", attachments=[photo()])
    act(d, d.grid_worker, case, Action.VERIFY_PASS, note="现场已清理干净")
    assert case.state == CaseState.CLOSED.value and case.closed_at is not None
    assert case.handler_user_id == d.street_cg.user_id and case.verifier_user_id == d.grid_worker.user_id
    act(d, d.hotline, case, Action.RATE, rating=Rating.SATISFIED)
    assert case.rating == Rating.SATISFIED.value
    actions = [(e.action, e.from_state, e.to_state) for e in history(d.session, d.dispatcher, case.number)]
    assert actions == [
        ("intake", None, "reported"),
        ("register", "reported", "registered"),
        ("dispatch", "registered", "dispatched"),
        ("accept", "dispatched", "in_progress"),
        ("submit", "in_progress", "handled"),
        ("verify_pass", "handled", "closed"),
        ("rate", "closed", "closed"),
    ]
    kinds = [m.kind for m in d.session.execute(select(OutboxMessage).where(OutboxMessage.case_id == case.id)).scalars()]
    assert kinds == ["assigned", "rated"]


def test_return_reroute_rework_and_the_counters_that_follow_them(district: District) -> None:
    d = district
    case = dispatched(d)
    act(d, d.street_cg, case, Action.RETURN, note="不属于本办职责，属于区城管局")
    assert case.state == CaseState.REGISTERED.value and case.return_count == 1 and case.main_department_id is None
    act(d, d.dispatcher, case, Action.DISPATCH, main_department="CGJ", assist_departments=["SCJG"])
    with pytest.raises(PermissionDeniedError, match="主办部门"):
        act(d, d.street_cg, case, Action.ACCEPT)  # no longer theirs
    act(d, d.cgj, case, Action.ACCEPT)
    act(d, d.cgj, case, Action.SUBMIT, note="已处理")
    deadline = case.deadline_at
    act(d, d.grid_worker, case, Action.VERIFY_FAIL, note="仍有垃圾")
    assert case.state == CaseState.IN_PROGRESS.value and case.rework_count == 1
    assert case.deadline_at == deadline  # rework does not buy time
    act(d, d.dispatcher, case, Action.REROUTE, note="改由市场监管局主办", main_department="SCJG")
    assert case.state == CaseState.DISPATCHED.value
    assert {a.role for a in case.assignments if a.active} == {"main"}


def test_extension_moves_the_deadline_in_working_time(district: District) -> None:
    d = district
    case = dispatched(d)
    with pytest.raises(InvalidInputError, match="延期时长"):
        act(d, d.street_cg, case, Action.REQUEST_EXTENSION, note="需要协调环卫车辆")
    act(
        d,
        d.street_cg,
        case,
        Action.REQUEST_EXTENSION,
        note="需要协调环卫车辆",
        extension_value=1,
        extension_unit="days",
    )
    with pytest.raises(ConflictError, match="待审批"):
        act(d, d.street_cg, case, Action.REQUEST_EXTENSION, note="再延", extension_value=1)
    act(d, d.dispatcher, case, Action.APPROVE_EXTENSION)
    assert case.extension_count == 1
    assert case.deadline_at == beijing(2025, 10, 10, 15, 30)  # one working day (7.5 h) later
    act(d, d.street_cg, case, Action.REQUEST_EXTENSION, note="还要延", extension_value=2, extension_unit="hours")
    act(d, d.dispatcher, case, Action.DENY_EXTENSION, note="不同意")
    assert case.extension_count == 1 and case.pending_extension_minutes is None
    with pytest.raises(ConflictError, match="没有待审批"):
        act(d, d.dispatcher, case, Action.APPROVE_EXTENSION)


def test_suspension_stops_the_clock_until_resumed(district: District) -> None:
    d = district
    case = dispatched(d)
    act(d, d.street_cg, case, Action.ACCEPT)
    act(d, d.street_cg, case, Action.REQUEST_SUSPENSION, note="涉及产权纠纷，待法院判决")
    act(d, d.leader, case, Action.APPROVE_SUSPENSION)
    assert case.state == CaseState.SUSPENDED.value and case.remaining_stage_minutes == 4 * 60
    with timesource.pinned(beijing(2025, 10, 20, 9, 0)):  # eleven days later, a Monday
        act(d, d.dispatcher, case, Action.RESUME)
    assert case.state == CaseState.IN_PROGRESS.value
    assert case.deadline_at == beijing(2025, 10, 20, 14, 30)  # the 4 hours start again at resumption
    assert not case.overdue


def test_supervision_escalation_and_merging_duplicates(district: District) -> None:
    d = district
    master = dispatched(d)
    act(d, d.leader, master, Action.SUPERVISE, note="请加快处理")
    assert master.supervision_count == 1
    duplicate = report(d, source_id="12345-0002")
    act(d, d.dispatcher, duplicate, Action.MERGE, master_number=master.number)
    assert duplicate.state == CaseState.MERGED.value
    escalated = report(d, source_id="12345-0003")
    with pytest.raises(InvalidInputError, match="须确定案件类别"):
        act(d, d.grid_worker, escalated, Action.ESCALATE, note="需街道协调多部门")
    act(d, d.grid_worker, escalated, Action.ESCALATE, note="需街道协调多部门", category_code=EXPOSED_RUBBISH)
    assert escalated.escalation_code == COMMUNITY and escalated.state == CaseState.REGISTERED.value
    act(d, d.street_cg, master, Action.ACCEPT)
    act(d, d.street_cg, master, Action.SUBMIT, note="已清运")
    act(d, d.grid_worker, master, Action.VERIFY_PASS)
    d.session.refresh(duplicate)
    assert duplicate.state == CaseState.CLOSED.value  # closing the master closed its duplicate
    assert history(d.session, d.dispatcher, duplicate.number)[-1].action == "closed_with_master"


def test_self_handling_needs_an_allowed_category_and_a_photo(district: District) -> None:
    d = district
    case = report(
        d,
        actor=d.grid_worker,
        channel=Channel.GRID_PATROL,
        category_code=EXPOSED_RUBBISH,
        reporter_name=None,
        reporter_phone=None,
    )
    with pytest.raises(InvalidInputError, match="照片"):
        act(d, d.grid_worker, case, Action.SELF_HANDLE, note="已当场清理")
    act(d, d.grid_worker, case, Action.SELF_HANDLE, note="已当场清理", attachments=[photo()])
    assert case.state == CaseState.CLOSED.value and case.self_handled
    serious = report(
        d,
        actor=d.grid_worker,
        channel=Channel.GRID_PATROL,
        category_code=ILLEGAL_BUILDING,
        title="违法搭建",
        reporter_name=None,
        reporter_phone=None,
    )
    with pytest.raises(InvalidInputError, match="不允许网格员自处置"):
        act(d, d.grid_worker, serious, Action.SELF_HANDLE, note="拆了", attachments=[photo()])
    assert serious.state == CaseState.REPORTED.value  # the refused action changed nothing


def test_an_unsatisfied_rating_reopens_the_case(district: District) -> None:
    d = district
    case = dispatched(d)
    act(d, d.street_cg, case, Action.ACCEPT)
    act(d, d.street_cg, case, Action.SUBMIT, note="已清运")
    act(d, d.grid_worker, case, Action.VERIFY_PASS)
    with pytest.raises(ConflictError, match="不满意"):
        act(d, d.dispatcher, case, Action.REOPEN, note="重办")
    act(d, d.hotline, case, Action.RATE, rating=Rating.UNSATISFIED)
    with pytest.raises(ConflictError, match="已评价"):
        act(d, d.hotline, case, Action.RATE, rating=Rating.SATISFIED)
    act(d, d.dispatcher, case, Action.REOPEN, note="群众不满意，重办")
    assert case.state == CaseState.DISPATCHED.value and case.reopen_count == 1 and case.rating is None
    assert case.closed_at is None


def test_actions_from_the_wrong_state_or_without_a_reason_are_refused(district: District) -> None:
    d = district
    case = report(d)
    with pytest.raises(ConflictError, match="当前为“待立案”") as caught:
        act(d, d.dispatcher, case, Action.DISPATCH)
    assert caught.value.code == "invalid_state"
    with pytest.raises(InvalidInputError, match="理由"):
        act(d, d.dispatcher, case, Action.REJECT)
    with pytest.raises(InvalidInputError, match="类别"):
        act(d, d.dispatcher, case, Action.REGISTER)
    with pytest.raises(ConflictError, match="已被他人更新"):
        act(d, d.dispatcher, case, Action.REGISTER, category_code=EXPOSED_RUBBISH, expected_version=case.version - 1)
    act(d, d.dispatcher, case, Action.REJECT, note="重复反映，已另案办理")
    assert case.state == CaseState.REJECTED.value


def test_who_may_act_and_who_may_see(district: District) -> None:
    d = district
    case = report(d)
    with pytest.raises(PermissionDeniedError, match="无权执行“立案”"):
        act(d, d.grid_worker, case, Action.REGISTER, category_code=EXPOSED_RUBBISH)
    with pytest.raises(NotFoundError):  # another street's dispatcher does not even see it
        get_case(d.session, d.other_dispatcher, case.number)
    with pytest.raises(NotFoundError):  # nor does a department it was not dispatched to
        get_case(d.session, d.cgj, case.number)
    act(d, d.dispatcher, case, Action.REGISTER, category_code=EXPOSED_RUBBISH)
    act(d, d.dispatcher, case, Action.DISPATCH, main_department="CGJ")
    assert get_case(d.session, d.cgj, case.number).number == case.number
    with pytest.raises(NotFoundError):
        get_case(d.session, d.resident, case.number)  # a hotline case is not the resident's own
    own = report(d, actor=d.resident, channel=Channel.RESIDENT)
    assert get_case(d.session, d.resident, own.number).number == own.number
    with pytest.raises(NotFoundError):
        get_case(d.session, d.other_resident, own.number)
    with pytest.raises(PermissionDeniedError, match="渠道"):
        report(d, actor=d.resident, channel=Channel.HOTLINE_12345)


def test_a_street_offices_grid_worker_does_not_read_its_sections_cases_outside_her_grid(district: District) -> None:
    d = district  # grid_worker is employed by 海川街道办事处 (HC), whose section 城市管理办公室 (HC-CG) handles cases
    case = report(d, lon=IN_OTHER_UNIT[0], lat=IN_OTHER_UNIT[1], crs="wgs84", title="泰和第02网格垃圾")
    act(d, d.dispatcher, case, Action.REGISTER, category_code=EXPOSED_RUBBISH)
    act(d, d.dispatcher, case, Action.DISPATCH, main_department="HC-CG")
    assert case.scope_code == OTHER_UNIT
    assert d.grid_worker.department_ids == frozenset()
    with pytest.raises(NotFoundError):
        get_case(d.session, d.grid_worker, case.number)
    listed, total = list_cases(d.session, d.grid_worker)
    assert case.number not in {c.number for c in listed} and total == len(listed)
    assert get_case(d.session, d.street_cg, case.number).number == case.number
    assert case.number in {c.number for c in list_cases(d.session, d.street_cg)[0]}
    act(d, d.street_cg, case, Action.ACCEPT)  # and she may work it
    assert case.state == CaseState.IN_PROGRESS.value
    with pytest.raises(NotFoundError):
        act(d, d.grid_worker, case, Action.VERIFY_PASS)


def test_a_point_outside_every_grid_is_kept_flagged_and_placed_by_hand(district: District) -> None:
    d = district
    case = report(d, lon=OUTSIDE[0], lat=OUTSIDE[1], crs="wgs84")
    assert case.placement == Placement.OUTSIDE.value and case.grid_node_id is None
    assert case.nearest_grid_code is not None
    assert case.scope_code == case.nearest_grid_code[:9]  # the nearest grid's street, whose dispatcher is on duty
    assert case.distance_to_grid_m is not None and case.distance_to_grid_m > 50_000
    with pytest.raises(InvalidInputError, match="仍不在任何网格内"):
        act(d, d.district_dispatcher, case, Action.PLACE, lon=OUTSIDE[0], lat=OUTSIDE[1], crs="wgs84")
    act(d, d.district_dispatcher, case, Action.PLACE, lon=IN_UNIT[0], lat=IN_UNIT[1], crs="wgs84")
    assert case.placement == Placement.MANUAL.value and case.scope_code == UNIT
    no_coordinates = report(d, lon=None, lat=None, crs=None, address="海川区泰和路1号", source_id="addr-only")
    assert no_coordinates.placement == Placement.NO_LOCATION.value


def test_intake_is_idempotent_on_source_id_and_key(district: District) -> None:
    d = district
    first = intake(
        d.session,
        d.hotline,
        IntakeRequest(channel=Channel.HOTLINE_12345, title="路灯不亮", source_id="GD2025100900001"),
        settings=d.settings,
    )
    again = intake(
        d.session,
        d.hotline,
        IntakeRequest(channel=Channel.HOTLINE_12345, title="路灯不亮（重试）", source_id="GD2025100900001"),
        settings=d.settings,
    )
    assert first.created and not again.created and again.case.id == first.case.id
    other_line = intake(
        d.session,
        d.hotline,
        IntakeRequest(channel=Channel.HOTLINE_8890, title="路灯不亮", source_id="GD2025100900001"),
        settings=d.settings,
    )
    assert other_line.created  # ids are per channel
    keyed = [
        intake(
            d.session,
            d.resident,
            IntakeRequest(channel=Channel.RESIDENT, title="井盖松动", idempotency_key="phone-abc-1"),
            settings=d.settings,
        )
        for _ in range(3)
    ]
    assert [k.created for k in keyed] == [True, False, False]
    assert d.session.execute(select(Case).where(Case.title == "井盖松动")).scalars().all() == [keyed[0].case]
    # Keys belong to their sender: the same key from someone else is a new report, not a window on this one.
    someone_else = intake(
        d.session,
        d.other_resident,
        IntakeRequest(channel=Channel.RESIDENT, title="路面塌陷", idempotency_key="phone-abc-1"),
        settings=d.settings,
    )
    assert someone_else.created and someone_else.case.id != keyed[0].case.id


def test_a_repeated_source_id_does_not_reveal_a_case_outside_the_senders_view(district: District) -> None:
    d = district
    east = intake(
        d.session,
        d.system,
        IntakeRequest(
            channel=Channel.HOTLINE_12345,
            title="东城路灯不亮",
            source_id="12345-0001",
            lon=IN_OTHER_STREET[0],
            lat=IN_OTHER_STREET[1],
            crs="wgs84",
            reporter_name="王建国",
            reporter_phone="13812345678",
        ),
        settings=d.settings,
    ).case
    assert east.scope_code.startswith(OTHER_STREET)
    guess = IntakeRequest(channel=Channel.HOTLINE_12345, title="猜一个编号", source_id="12345-0001")
    with pytest.raises(ConflictError, match="不在您的查看范围内") as refused:
        intake(d.session, d.dispatcher, guess, settings=d.settings)
    assert refused.value.code == "duplicate_not_visible" and "王建国" not in refused.value.message
    assert intake(d.session, d.district_dispatcher, guess, settings=d.settings).case.id == east.id


def test_bad_intake_is_refused_with_a_reason(district: District) -> None:
    d = district
    for fields, message in (
        ({"title": "", "description": ""}, "标题或描述"),
        ({"reporter_phone": "12-ab"}, "电话号码"),
        ({"lon": 120.4, "lat": None}, "同时填写"),
        ({"crs": None}, "坐标系"),
        ({"category_code": "01"}, "具体小类"),
        ({"reported_at": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)}, "晚于现在"),
        ({"reported_at": dt.datetime(1999, 12, 31, tzinfo=dt.UTC)}, "早于2000年"),
        ({"case_type_code": "dispute", "extra": {}}, "当事人"),
        ({"case_type_code": "safety_hazard", "extra": {"unit_inspected": "某厂", "hazard_level": "很大"}}, "隐患等级"),
        ({"extra": {"parties": "张三"}}, "没有指定案件类型"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            report(d, **fields)
    assert d.session.execute(select(Case)).first() is None


def test_deadlines_across_the_2025_national_day_holiday(district: District) -> None:
    d = district
    with timesource.pinned(beijing(2025, 9, 30, 16, 0)):
        case = dispatched(d)
    # 4 working hours from Tue 30 Sep 16:00: 1.5 h that day, Oct 1–8 are holidays, 2.5 h from 08:30 Thu 9 Oct.
    assert case.deadline_at == beijing(2025, 10, 9, 11, 0)
    with timesource.pinned(beijing(2025, 10, 9, 11, 0)):
        act(d, d.street_cg, case, Action.ACCEPT)
        assert case.ever_overdue and not case.overdue  # late; the flag itself is raised by the scheduler …
        act(d, d.street_cg, case, Action.COMMENT, note="已到现场")  # … even when someone acts on it first
        assert tick(d.session, settings=d.settings).became_overdue == 1
    d.session.refresh(case)  # tick updates rows set-based, behind the session's back
    assert case.overdue
    overdue = d.session.execute(select(OutboxMessage).where(OutboxMessage.kind == "overdue")).scalars().all()
    assert [m.recipient for m in overdue] == ["HC-CG"]  # told once


def test_comments_are_history_without_a_state_change(district: District) -> None:
    d = district
    case = report(d)
    with pytest.raises(InvalidInputError):
        act(d, d.dispatcher, case, Action.COMMENT)
    act(d, d.dispatcher, case, Action.COMMENT, note="已电话联系反映人")
    assert case.state == CaseState.REPORTED.value
    assert history(d.session, d.dispatcher, case.number)[-1].note == "已电话联系反映人"


def test_after_escalation_the_higher_levels_command_centre_is_the_fallback(district: District) -> None:
    d = district
    case = report(d, source_id="12345-0101")
    act(d, d.dispatcher, case, Action.REGISTER, category_code=ILLEGAL_BUILDING)  # no such department here
    for _ in range(3):  # unit → community → street → district
        act(d, d.grid_worker if case.escalation_code is None else d.dispatcher, case, Action.ESCALATE, note="协调")
    assert case.escalation_code == DISTRICT
    act(d, d.district_dispatcher, case, Action.DISPATCH)
    assert _active_departments(d, case) == {("ZHZX", "main")}


def test_reopening_goes_back_to_the_departments_of_the_last_dispatch_only(district: District) -> None:
    d = district
    case = dispatched(d)  # to 海川街道城管办 by the category default
    act(d, d.dispatcher, case, Action.REROUTE, note="改由区城管局主办", main_department="CGJ")
    act(d, d.cgj, case, Action.ACCEPT)
    act(d, d.cgj, case, Action.SUBMIT, note="已处理", attachments=[photo()])
    act(d, d.dispatcher, case, Action.VERIFY_PASS)
    act(d, d.dispatcher, case, Action.RATE, rating=Rating.UNSATISFIED)  # recorded from the caller's return visit
    act(d, d.dispatcher, case, Action.REOPEN, note="群众不满意，重办")
    assert _active_departments(d, case) == {("CGJ", "main")}


def test_merging_a_master_moves_its_duplicates_along_and_closing_closes_them_all(district: District) -> None:
    d = district
    final = dispatched(d, source_id="m-final")
    middle = report(d, source_id="m-middle")
    first = report(d, source_id="m-first")
    act(d, d.dispatcher, first, Action.MERGE, master_number=middle.number)
    act(d, d.dispatcher, middle, Action.MERGE, master_number=final.number)
    d.session.refresh(first)
    assert first.merged_into_id == final.id and first.state == CaseState.MERGED.value
    assert history(d.session, d.dispatcher, first.number)[-1].action == "moved_to_master"
    act(d, d.street_cg, final, Action.ACCEPT)
    act(d, d.street_cg, final, Action.SUBMIT, note="已清运")
    act(d, d.grid_worker, final, Action.VERIFY_PASS)
    for duplicate in (middle, first):
        d.session.refresh(duplicate)
        assert duplicate.state == CaseState.CLOSED.value


def test_an_extension_must_be_longer_than_nothing(district: District) -> None:
    d = district
    case = dispatched(d)
    for value in (0, 0.001):
        with pytest.raises(InvalidInputError) as refused:
            act(d, d.street_cg, case, Action.REQUEST_EXTENSION, note="需要时间", extension_value=value)
        assert refused.value.code in ("invalid_extension", "invalid_limit")
    assert case.pending_extension_minutes is None


def _active_departments(d: District, case: Case) -> set[tuple[str, str]]:
    rows = d.session.execute(
        select(Department.code, CaseAssignment.role)
        .join(CaseAssignment, CaseAssignment.department_id == Department.id)
        .where(CaseAssignment.case_id == case.id, CaseAssignment.active)
    )
    return {(code, role) for code, role in rows}
