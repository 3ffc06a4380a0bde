"""What each person on duty sees: reports waiting to be placed, a department's map, the grid worker's tasks, a
resident's own case and its result, the latest activity — through the real pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select
from tests.web.conftest import Browser, DemoSite, point_in_grid_of, point_outside_grid_of
from tests.web.test_public_pages import browser_from_own_address, receipt, report_form, submit, track

from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.attachments import Upload
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Attachment, Case, CaseEvent, Channel, Placement
from civicgrid.cases.queries import get_case
from civicgrid.cases.workflow import Action
from civicgrid.db import make_session_factory, transaction
from civicgrid.org.actor import Actor
from civicgrid.org.service import actor_for, get_user

SignedIn = Callable[[str], Browser]
COMMAND_LINE = re.compile(r"civicgrid (demo|grid|db|user|dept|case|registry|serve|report|tick)\b")


def _writer(engine: Engine) -> Any:
    return transaction(make_session_factory(engine, write=True))


def _queue_count(page_text: str, key: str) -> int:
    found = re.search(rf'data-queue="{key}"[^>]*>\s*<span class="queue-count">([\d,]+)', page_text)
    assert found, f"queue {key} not on the workbench"
    return int(found.group(1).replace(",", ""))


def _public_address_only_report(web_app: Any) -> str:
    visitor = browser_from_own_address(web_app)
    form = report_form(visitor)
    form.update({"description": "小区南门路灯坏了一周，晚上很黑。", "address": "泰和路小区南门"})
    done = submit(visitor, form)
    assert done.status_code == 201, done.text
    return receipt(done)[0]


def test_an_address_only_public_report_waits_in_the_dispatchers_queue_and_is_placed_by_choosing_a_grid(
    signed_in: SignedIn, web_app: Any, demo_engine: Engine
) -> None:
    dispatcher = signed_in("dispatcher")
    before = _queue_count(dispatcher.get("/").text, "to_place")
    number = _public_address_only_report(web_app)
    assert _queue_count(dispatcher.get("/").text, "to_place") == before + 1
    listed = dispatcher.get("/cases?queue=to_place")
    assert number in listed.text
    page = dispatcher.get(f"/cases/{number}")
    assert page.status_code == 200 and 'data-action="place"' in page.text
    assert 'id="place-grid"' in page.text and "<optgroup" in page.text  # grids by name, not a code to type
    target = point_in_grid_of(demo_engine, "gridworker").code
    version = re.search(r'name="expected_version" value="(\d+)"', page.text)
    assert version
    placed = dispatcher.post(f"/cases/{number}/actions/place", {"expected_version": version.group(1),
                                                                "grid_code": target})  # fmt: skip
    assert placed.status_code == 303, placed.text
    with make_session_factory(demo_engine)() as session:
        case = session.execute(select(Case).where(Case.number == number)).scalar_one()
        assert (case.placement, case.scope_code) == (Placement.MANUAL.value, target)
    assert _queue_count(dispatcher.get("/").text, "to_place") == before


def test_the_leader_is_not_handed_reports_to_place_but_sees_them_once_placed(signed_in: SignedIn, web_app: Any) -> None:
    number = _public_address_only_report(web_app)
    assert signed_in("leader").get(f"/cases/{number}").status_code == 404
    assert signed_in("dispatcher").get(f"/cases/{number}").status_code == 200


def test_a_department_sees_the_grids_its_cases_lie_in_even_without_a_public_map(
    signed_in: SignedIn, web_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_app.state.settings, "public_grid_map", False)
    cgj = signed_in("cgj")
    page = cgj.get("/map")
    assert page.status_code == 200
    assert 'id="level-counts"' in page.text and 'id="no-grid"' not in page.text
    assert not COMMAND_LINE.search(page.text)  # never a command line on a page
    levels = cgj.get("/api/v1/grid/levels").json()
    assert any(level["level"] == "unit" and level["with_boundary"] > 0 for level in levels)
    assert cgj.get("/api/v1/cases/points").json()["features"]


def test_the_grid_workers_tasks_are_what_she_can_do_and_her_reports_apart(
    signed_in: SignedIn, demo_engine: Engine
) -> None:
    worker = signed_in("gridworker")
    page = worker.get("/m")
    assert page.status_code == 200 and "我上报的" in page.text
    tasks = page.text.split("我上报的")[0]
    listed = set(re.findall(r'data-number="(\d+)"', tasks))
    with make_session_factory(demo_engine)() as session:
        actor = actor_for(session, get_user(session, "gridworker"))
        for number in listed:
            case = get_case(session, actor, number)
            assert actor.covers_grid(case.scope_code), number
        handled = session.execute(select(Case.number).where(Case.state == "handled")).scalars().all()
        mine = [n for n in handled if actor.covers_grid(get_case(session, Actor.system(), n).scope_code)]
    assert set(mine) <= listed  # every handled case in her grid waits for her 核查
    for number in mine:
        assert 'data-action="verify_pass"' in worker.get(f"/cases/{number}").text


def _resident_case_closed_with_a_result(site: DemoSite, photo: bytes) -> str:
    point = point_outside_grid_of(site.engine, "gridworker")
    with _writer(site.engine) as session:
        resident = actor_for(session, get_user(session, "resident"))
        staff = {name: actor_for(session, get_user(session, name)) for name in ("dispatcher", "cgj")}
        request = IntakeRequest(channel=Channel.RESIDENT, title="楼道堆放杂物", description="三单元楼道堆满纸箱。",
                                lon=point.lon, lat=point.lat, crs="wgs84")  # fmt: skip
        number = intake(session, resident, request, settings=site.settings).case.number
        steps = [
            (staff["dispatcher"], Action.REGISTER, ActionInput(category_code="0101")),
            (staff["dispatcher"], Action.DISPATCH, ActionInput(main_department="CGJ")),
            (staff["cgj"], Action.ACCEPT, ActionInput()),
            (staff["cgj"], Action.COMMENT, ActionInput(note="内部：联系物业经理老刘")),
            (
                staff["cgj"],
                Action.SUBMIT,
                ActionInput(
                    note="已清理楼道杂物，物业承诺每周巡查，电话13900001234", attachments=[Upload("清理后.png", photo)]
                ),
            ),
            (staff["dispatcher"], Action.VERIFY_PASS, ActionInput(attachments=[Upload("核查.png", photo)])),
        ]
        for actor, action, params in steps:
            perform(session, actor, number, action, params, settings=site.settings)
    return number


def test_a_resident_sees_her_case_as_its_reporter_with_the_result_and_rates_it(
    signed_in: SignedIn, demo_site: DemoSite, photo: bytes
) -> None:
    demo_engine = demo_site.engine
    number = _resident_case_closed_with_a_result(demo_site, photo)
    resident = signed_in("resident")
    nav = resident.get("/").text
    assert 'href="/public/track"' in nav and 'href="/public/map"' in nav
    page = resident.get(f"/cases/{number}")
    assert page.status_code == 200 and 'id="public-progress"' in page.text
    assert "已清理楼道杂物" in page.text and "139****1234" in page.text and "13900001234" not in page.text
    assert "内部" not in page.text and "老刘" not in page.text  # internal notes stay internal
    assert "王磊" not in page.text and "李敏" not in page.text and "(cgj)" not in page.text  # no staff names
    assert 'data-action="comment"' not in page.text and "备注" not in page.text
    photos = re.findall(rf'<img src="(/cases/{number}/attachments/\d+)"', page.text)
    assert len(photos) == 1 and resident.get(photos[0]).status_code == 200
    with make_session_factory(demo_engine)() as session:
        case_id = session.execute(select(Case.id).where(Case.number == number)).scalar_one()
        verify_event = session.execute(
            select(CaseEvent.id).where(CaseEvent.case_id == case_id, CaseEvent.action == "verify_pass")
        ).scalar_one()
        internal = session.execute(select(Attachment.id).where(Attachment.event_id == verify_event)).scalar_one()
    assert resident.get(f"/cases/{number}/attachments/{internal}").status_code == 404  # the check's photo
    events = resident.get(f"/api/v1/cases/{number}/events", headers={"X-CSRF-Token": resident.csrf or ""}).json()
    assert all(event["actor"] is None for event in events)
    assert all("内部" not in event["note"] for event in events)
    version = re.search(r'name="expected_version" value="(\d+)"', page.text)
    assert version
    rated = resident.post(f"/cases/{number}/actions/rate", {"expected_version": version.group(1),
                                                          "rating": "satisfied", "note": "很及时"})  # fmt: skip
    assert rated.status_code == 303, rated.text
    assert "感谢您的评价" in resident.get(rated.headers["location"]).text


def test_the_tracking_page_shows_the_result_with_photos_through_signed_links(
    web_app: Any, demo_site: DemoSite, photo: bytes
) -> None:
    demo_engine = demo_site.engine
    visitor = browser_from_own_address(web_app)
    form = report_form(visitor)
    form.update({"description": "路口井盖松动，车过有响声。", "address": "泰和路口"})
    number, code = receipt(submit(visitor, form))
    with _writer(demo_engine) as session:
        dispatcher = actor_for(session, get_user(session, "dispatcher"))
        cgj = actor_for(session, get_user(session, "cgj"))
        target = point_in_grid_of(demo_engine, "gridworker").code
        for actor, action, params in [
            (dispatcher, Action.PLACE, ActionInput(grid_code=target)),
            (dispatcher, Action.REGISTER, ActionInput(category_code="0101")),
            (dispatcher, Action.DISPATCH, ActionInput(main_department="CGJ")),
            (cgj, Action.ACCEPT, ActionInput()),
            (cgj, Action.SUBMIT, ActionInput(note="已更换井盖", attachments=[Upload("井盖.png", photo)])),
            (dispatcher, Action.VERIFY_PASS, ActionInput()),
        ]:
            perform(session, actor, number, action, params, settings=demo_site.settings)
    progress = track(visitor, number, code)
    assert "处置结果" in progress.text and "已更换井盖" in progress.text and 'id="rate-form"' in progress.text
    links = re.findall(r'<img src="([^"]+)"', progress.text.split('id="progress-outcome"')[1])
    assert len(links) == 1 and code not in links[0]  # the tracking code never travels in a URL
    link = links[0].replace("&amp;", "&")
    stranger = browser_from_own_address(web_app)
    shown = stranger.get(link)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
    assert stranger.get(link[:-1] + ("0" if link[-1] != "0" else "1")).status_code == 404  # a forged signature
    expires = re.search(r"e=(\d+)", link)
    assert expires
    stale = link.replace(f"e={expires.group(1)}", f"e={int(expires.group(1)) - 7200}")
    assert stranger.get(stale).status_code == 404  # another time, another signature: refused


def test_latest_activity_shows_each_case_once_with_what_was_done(signed_in: SignedIn) -> None:
    page = signed_in("dispatcher").get("/")
    items = re.findall(r'<li>\s*<time>.*?</time>\s*<a href="/cases/(\d+)">', page.text, flags=re.S)
    assert items and len(items) == len(set(items))
    section = page.text.split('id="recent-activity"')[1].split("</ol>")[0]
    assert "：" in section and "现为" in section
