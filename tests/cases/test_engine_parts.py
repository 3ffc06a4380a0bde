"""The parts around the flow: routing rules, the scheduler's flags, attachments, taxonomy, and missing holidays."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from civicgrid import timesource
from civicgrid.cases.attachments import Upload, attachment_path
from civicgrid.cases.defaults import install_defaults
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Attachment, CaseState, Category, Channel
from civicgrid.cases.queries import attachments_of, get_case, history
from civicgrid.cases.routing import create_rule, suggest
from civicgrid.cases.taxonomy import CategorySpec, create_case_type, effective_limits, get_category, upsert_categories
from civicgrid.cases.tick import tick
from civicgrid.cases.workflow import Action
from civicgrid.errors import ConflictError, InvalidInputError, PermissionDeniedError
from civicgrid.importing import ImportReport
from civicgrid.notify.models import OutboxMessage
from civicgrid.worktime.service import confirm_year, set_day

from .conftest import OTHER_STREET, STREET, District, beijing, photo, png
from .test_flow import EXPOSED_RUBBISH, ILLEGAL_BUILDING, act, dispatched, report


def test_routing_prefers_the_most_specific_rule_then_the_category_default_then_the_command_centre(
    district: District,
) -> None:
    d = district
    case = report(d)
    act(d, d.dispatcher, case, Action.REGISTER, category_code=EXPOSED_RUBBISH)
    assert suggest(d.session, case).main.code == "HC-CG"  # the category's default department
    create_rule(d.session, d.system, name="市容类交城管局", main_department_code="CGJ", category_code="01")
    assert suggest(d.session, case).main.code == "CGJ"
    create_rule(
        d.session,
        d.system,
        name="本街垃圾由街道办+市场监管联动",
        main_department_code="HC-CG",
        assist_department_codes=["SCJG"],
        category_code="0101",
        grid_code=STREET,
    )
    route = suggest(d.session, case)
    assert (route.main.code, [a.code for a in route.assists]) == ("HC-CG", ["SCJG"])
    create_rule(
        d.session,
        d.system,
        name="提到餐馆的交市场监管",
        main_department_code="SCJG",
        category_code="0101",
        grid_code=STREET,
        keywords=["餐馆"],
    )
    assert suggest(d.session, case).main.code == "HC-CG"  # no keyword in this case
    building = report(d, title="违法搭建", source_id="x-2")
    act(d, d.dispatcher, building, Action.REGISTER, category_code=ILLEGAL_BUILDING)  # its CGJ-ZF does not exist
    fallback = suggest(d.session, building)
    assert fallback.main.code == "HC-ZHZX" and "兜底" in fallback.reason
    with pytest.raises(InvalidInputError, match="不能同时"):
        create_rule(d.session, d.system, name="错", main_department_code="CGJ", assist_department_codes=["CGJ"])
    with pytest.raises(PermissionDeniedError):
        create_rule(d.session, d.dispatcher, name="越权", main_department_code="CGJ")


def test_dispatch_records_linked_departments_and_notifies_each(district: District) -> None:
    d = district
    case = report(d)
    act(d, d.dispatcher, case, Action.REGISTER, category_code=EXPOSED_RUBBISH)
    act(d, d.dispatcher, case, Action.DISPATCH, main_department="CGJ", assist_departments=["SCJG", "ZJJ"])
    assert sorted((a.role, a.department_id) for a in case.assignments if a.active)[0][0] == "assist"
    recipients = sorted(
        m.recipient for m in d.session.execute(select(OutboxMessage).where(OutboxMessage.case_id == case.id)).scalars()
    )
    assert recipients == ["CGJ", "SCJG", "ZJJ"]
    assert get_case(d.session, d.scjg, case.number).number == case.number  # assisting departments see it too
    with pytest.raises(PermissionDeniedError):
        act(d, d.scjg, case, Action.ACCEPT)  # but only the main department handles it


def test_tick_flags_due_soon_then_overdue_once_and_tells_the_department(district: District) -> None:
    d = district
    case = dispatched(d)  # 4 working hours from 10:00 Thursday: due 15:30, due soon from 14:42
    assert tick(d.session, now=beijing(2025, 10, 9, 14, 0)).became_due_soon == 0
    assert tick(d.session, now=beijing(2025, 10, 9, 15, 0)).became_due_soon == 1
    d.session.refresh(case)
    assert case.due_soon and not case.overdue
    report_overdue = tick(d.session, now=beijing(2025, 10, 9, 16, 0))
    assert report_overdue.became_overdue == 1
    assert tick(d.session, now=beijing(2025, 10, 9, 17, 0)).became_overdue == 0  # said once
    d.session.refresh(case)
    assert case.overdue and case.ever_overdue and not case.due_soon
    kinds = [m.kind for m in d.session.execute(select(OutboxMessage).where(OutboxMessage.case_id == case.id)).scalars()]
    assert kinds == ["assigned", "due_soon", "overdue"]


def test_a_suspended_case_never_becomes_overdue(district: District) -> None:
    d = district
    case = dispatched(d)
    act(d, d.street_cg, case, Action.ACCEPT)
    act(d, d.street_cg, case, Action.REQUEST_SUSPENSION, note="待判决")
    act(d, d.dispatcher, case, Action.APPROVE_SUSPENSION)
    assert tick(d.session, now=beijing(2025, 12, 1, 9, 0)).became_overdue == 0


def test_attachments_are_sniffed_stored_once_and_sized(district: District) -> None:
    d = district
    case = report(d, attachments=[photo("现场1.png"), photo("现场2.png")])
    stored = attachments_of(d.session, d.dispatcher, case.number)
    assert [a.media_type for a in stored] == ["image/png", "image/png"]
    assert stored[0].sha256 == stored[1].sha256
    path = attachment_path(d.settings, stored[0].sha256, "png")
    assert path.read_bytes() == png()
    assert len(list(path.parent.iterdir())) == 1  # identical content stored once
    for upload, message in (
        (Upload("病毒.exe", b"MZ\x90\x00" + b"\x00" * 100), "不支持的文件类型"),
        (Upload("伪装.jpg", b"<html><script>alert(1)</script>"), "不支持的文件类型"),
        (Upload("空.png", b""), "空的"),
        (Upload("巨大.png", png() + b"\x00" * (d.settings.attachment_max_bytes + 1)), "超过"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            report(d, attachments=[upload], source_id=f"att-{upload.filename}")
    assert d.session.execute(select(Attachment)).scalars().all() == stored


def test_missing_holidays_leave_the_deadline_pending_and_the_tick_fills_it_in(district: District) -> None:
    d = district
    with timesource.pinned(beijing(2026, 12, 31, 16, 0)):  # 2027 is not in chinese-calendar nor in the table
        case = dispatched(d)
    assert case.state == CaseState.DISPATCHED.value  # taken in and dispatched, not refused
    assert case.deadline_at is None and case.stage == "handle"
    dispatch_event = history(d.session, d.dispatcher, case.number)[-1]
    assert "2027" in dispatch_event.data["clock"]
    set_day(d.session, d.system, dt.date(2027, 1, 1), False, "元旦")
    confirm_year(d.session, d.system, 2027, "国办发明电〔2026〕X号（测试）")
    assert tick(d.session, now=beijing(2027, 1, 4, 9, 0)).deadlines_backfilled == 1
    d.session.refresh(case)
    # 4 working hours from Thu 31 Dec 16:00: 1.5 h that day, New Year's Day off, the weekend off, 2.5 h on Mon 4 Jan.
    assert case.deadline_at == beijing(2027, 1, 4, 11, 0)


def test_a_pending_handling_deadline_is_filled_in_even_after_the_case_moved_on(district: District) -> None:
    d = district
    with timesource.pinned(beijing(2026, 12, 31, 16, 0)):
        case = dispatched(d)
        act(d, d.street_cg, case, Action.REQUEST_EXTENSION, note="协调物业", extension_value=1, extension_unit="hours")
        act(d, d.dispatcher, case, Action.APPROVE_EXTENSION)
    with timesource.pinned(beijing(2026, 12, 31, 17, 0)):
        act(d, d.street_cg, case, Action.ACCEPT)
        act(d, d.street_cg, case, Action.SUBMIT, note="已清运")
    assert case.stage == "verify" and case.deadline_at is None
    set_day(d.session, d.system, dt.date(2027, 1, 1), False, "元旦")
    confirm_year(d.session, d.system, 2027, "国办发明电〔2026〕X号（测试）")
    assert tick(d.session, now=beijing(2027, 1, 4, 9, 0)).deadlines_backfilled == 2  # verify stage + handling
    d.session.refresh(case)
    # 4 + 1 working hours from Thu 31 Dec 16:00: 1.5 h that day, then 3.5 h on Mon 4 Jan (08:30–12:00).
    assert case.deadline_at == beijing(2027, 1, 4, 12, 0)
    assert case.stage_due_at is not None  # the verification stage got its own deadline too


def test_types_and_categories_are_configured_as_data(district: District) -> None:
    d = district
    create_case_type(
        d.session,
        d.system,
        code="flood_watch",
        name="防汛巡查",
        fields=[{"name": "water_level", "label": "水位（米）", "type": "number", "required": True}],
    )
    with pytest.raises(ConflictError):
        create_case_type(d.session, d.system, code="flood_watch", name="重复", fields=[])
    with pytest.raises(InvalidInputError, match="类型"):
        create_case_type(d.session, d.system, code="bad", name="坏", fields=[{"name": "x", "type": "blob"}])
    case = report(d, case_type_code="flood_watch", extra={"water_level": "3.2"}, source_id="flood-1")
    assert case.extra == {"water_level": 3.2}
    report_ = ImportReport(source="test")
    upsert_categories(
        d.session, d.system, [(2, CategorySpec(path=("防汛", "积水点"), limits={"handle": "2小时"}))], report_
    )
    leaf = get_category(d.session, report_.created[-1])
    assert leaf.code.startswith(report_.created[0]) and len(leaf.code) == 4
    assert effective_limits(leaf)["handle"] == {"value": 2, "unit": "hours"}
    assert effective_limits(leaf)["verify"] == {"value": 1, "unit": "days"}  # inherited default
    bad = ImportReport(source="bad")
    upsert_categories(d.session, d.system, [(7, CategorySpec(path=("防汛", "坏"), limits={"handle": "三天"}))], bad)
    assert bad.rejected[0].index == 7 and "不是数字" in bad.rejected[0].reason


def test_installing_the_defaults_again_keeps_what_an_admin_changed(district: District) -> None:
    d = district
    get_category(d.session, EXPOSED_RUBBISH).limits = {"handle": {"value": 2, "unit": "hours"}}
    d.session.flush()
    before = {c.code: (c.name, c.limits) for c in d.session.execute(select(Category).order_by(Category.code)).scalars()}
    install_defaults(d.session, d.system)
    after = {c.code: (c.name, c.limits) for c in d.session.execute(select(Category).order_by(Category.code)).scalars()}
    assert before == after and len(before) > 40
    assert before[EXPOSED_RUBBISH][1] == {"handle": {"value": 2, "unit": "hours"}}


def test_a_case_in_another_street_is_scoped_there(district: District) -> None:
    d = district
    case = intake(
        d.session,
        d.hotline,
        IntakeRequest(channel=Channel.HOTLINE_12345, title="东城的问题", lon=120.55, lat=36.45, crs="wgs84"),
        settings=d.settings,
    ).case
    assert case.scope_code == OTHER_STREET
    assert get_case(d.session, d.other_dispatcher, case.number).number == case.number
