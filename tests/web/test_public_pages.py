"""The residents' pages through the real app: report with a photo, track with the code, rate, the public map —
and the refusals (wrong code, guessing, missing text, bad phone, no CSRF token, reporting closed)."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.web.conftest import Browser, DemoSite, point_in_grid_of

from civicgrid.app import create_app
from civicgrid.cases import public
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.models import Case, CaseState, Channel
from civicgrid.cases.queries import attachments_of, history
from civicgrid.cases.taxonomy import list_categories
from civicgrid.cases.workflow import Action
from civicgrid.db import make_session_factory, transaction
from civicgrid.demo.district import MAIN_STREET
from civicgrid.org.actor import Actor
from civicgrid.org.service import actor_for, get_user

SYSTEM = Actor.system("测试")
_addresses = itertools.count(1)


def browser_from_own_address(app: FastAPI) -> Browser:
    """A visitor with an address of its own: tracking refusals are counted per address, and the demo database is
    shared by every test of the session."""
    browser = Browser(app)
    browser.client = TestClient(app, follow_redirects=False, client=(f"198.51.100.{next(_addresses)}", 50000))
    return browser


@pytest.fixture
def resident(web_app: FastAPI) -> Browser:
    return browser_from_own_address(web_app)


@pytest.fixture
def writer(demo_engine: Engine) -> Callable[[], Any]:
    factory = make_session_factory(demo_engine, write=True)
    return lambda: transaction(factory)


@pytest.fixture
def point_in_main_street(demo_engine: Engine) -> tuple[float, float]:
    """A spot on the demo grid inside 海川街道 (where the demo dispatcher works): where a demo case lies."""
    with make_session_factory(demo_engine)() as session:
        row = session.execute(
            select(Case.lon, Case.lat)
            .where(Case.scope_code.startswith(MAIN_STREET), Case.grid_node_id.is_not(None), Case.lon.is_not(None))
            .order_by(Case.id)
            .limit(1)
        ).one()
    return float(row.lon), float(row.lat)


def report_form(browser: Browser) -> dict[str, str]:
    page = browser.get("/public/report")
    assert page.status_code == 200, page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key is not None
    return {"idempotency_key": key.group(1)}


def submit(browser: Browser, fields: dict[str, Any], files: Any = None) -> Any:
    return browser.post("/public/report", fields, files=files)


def receipt(page: Any) -> tuple[str, str]:
    number = re.search(r'id="case-number">(\d+)<', page.text)
    code = re.search(r'id="tracking-code">([0-9A-F]{8})<', page.text)
    assert number and code, page.text
    return number.group(1), code.group(1)


def report_and_receipt(browser: Browser, point: tuple[float, float], **fields: Any) -> tuple[str, str]:
    form = report_form(browser)
    form.update({"description": "小区门口垃圾堆积", "lon": str(point[0]), "lat": str(point[1]), "crs": "wgs84"})
    form.update(fields)
    page = submit(browser, form)
    assert page.status_code == 201, page.text
    return receipt(page)


def track(browser: Browser, number: str, code: str) -> Any:
    browser.get("/public/track")
    return browser.post("/public/track", {"number": number, "code": code})


def close_as_demo_staff(writer: Callable[[], Any], number: str) -> None:
    """立案 and 派遣 by the demo dispatcher, 接收 and 反馈 by 区城管局, 核查结案 by the dispatcher."""
    with writer() as session:
        dispatcher, cgj = (_demo_actor(session, name) for name in ("dispatcher", "cgj"))
        steps: list[tuple[Actor, Action, ActionInput]] = [
            (dispatcher, Action.REGISTER, ActionInput(category_code="0101")),
            (dispatcher, Action.DISPATCH, ActionInput(main_department="CGJ")),
            (cgj, Action.ACCEPT, ActionInput()),
            (cgj, Action.SUBMIT, ActionInput(note="已清运，联系人王师傅13900000000")),
            (dispatcher, Action.VERIFY_PASS, ActionInput()),
        ]
        for actor, action, params in steps:
            perform(session, actor, number, action, params)


def _demo_actor(session: Session, username: str) -> Actor:
    return actor_for(session, get_user(session, username))


# --- the whole loop ----------------------------------------------------------------------------------------


def test_report_with_a_photo_track_close_and_rate_unsatisfied(
    resident: Browser,
    photo: bytes,
    point_in_main_street: tuple[float, float],
    writer: Callable[[], Any],
    demo_engine: Engine,
) -> None:
    form = report_form(resident)
    form.update(
        {
            "description": "泰和路东侧垃圾三天没人清运，气味很大。",
            "title": "垃圾无人清运",
            "lon": str(point_in_main_street[0]),
            "lat": str(point_in_main_street[1]),
            "crs": "wgs84",
            "name": "王建国",
            "phone": "138 1234 5678",
        }
    )
    done = submit(resident, form, files=[("photos", ("现场.png", photo, "image/png"))])
    assert done.status_code == 201, done.text
    number, code = receipt(done)
    assert "请立即记下" in done.text and "只显示这一次" in done.text

    with make_session_factory(demo_engine)() as session:
        case = session.execute(select(Case).where(Case.number == number)).scalar_one()
        assert (case.channel, case.reporter_phone) == (Channel.RESIDENT.value, "13812345678")
        assert case.reporter_user_id is None
        assert [a.media_type for a in attachments_of(session, SYSTEM, number)] == ["image/png"]

    progress = track(resident, number, code.lower())
    assert progress.status_code == 200, progress.text
    assert "待立案" in progress.text and "问题已受理" in progress.text and "rate-form" not in progress.text
    assert "王建国" not in progress.text and "13812345678" not in progress.text
    assert code not in resident.get(f"/public/track?number={number}").text  # the code never comes back by GET

    close_as_demo_staff(writer, number)
    closed = track(resident, number, code)
    assert "已结案" in closed.text and 'id="rate-form"' in closed.text
    assert "区城市管理局" in closed.text  # the department is shown, and its result with phones masked
    assert 'id="outcome-text"' in closed.text and "139****0000" in closed.text and "13900000000" not in closed.text

    rated = resident.post(
        "/public/track/rate", {"number": number, "code": code, "rating": "unsatisfied", "comment": "气味还在"}
    )
    assert rated.status_code == 200, rated.text
    assert "感谢您的评价" in rated.text and "反映人评价：不满意" in rated.text and 'id="rate-form"' not in rated.text
    with make_session_factory(demo_engine)() as session:
        last = history(session, SYSTEM, number)[-1]
    assert (last.action, last.data["rating"], last.note, last.actor_label) == (
        "rate",
        "unsatisfied",
        "气味还在",
        "反映人（凭查询码）",
    )
    again = resident.post("/public/track/rate", {"number": number, "code": code, "rating": "satisfied"})
    assert again.status_code == 409 and "已评价" in again.text


def test_a_wrong_code_and_an_unknown_number_are_refused_alike(
    resident: Browser, point_in_main_street: tuple[float, float]
) -> None:
    number, code = report_and_receipt(resident, point_in_main_street)
    wrong = track(resident, number, "00000000" if code != "00000000" else "11111111")
    unknown = track(resident, "20000101000001", code)
    assert wrong.status_code == unknown.status_code == 404
    for page in (wrong, unknown):
        assert public.TRACKING_REFUSED in page.text and "办理过程" not in page.text
    assert 'value="20000101000001"' in unknown.text  # the typed number stays; the code is typed again


def test_guessing_codes_is_refused_for_a_while(resident: Browser, point_in_main_street: tuple[float, float]) -> None:
    number, code = report_and_receipt(resident, point_in_main_street)
    for _ in range(public.MAX_FAILURES_PER_ADDRESS):
        assert track(resident, number, "FFFFFFFF" if code != "FFFFFFFF" else "EEEEEEEE").status_code == 404
    locked = track(resident, number, code)
    assert locked.status_code == 429 and "输错次数过多" in locked.text


def test_text_typed_by_a_resident_is_shown_escaped(
    resident: Browser, point_in_main_street: tuple[float, float]
) -> None:
    attack = "<script>alert(1)</script>"
    number, code = report_and_receipt(resident, point_in_main_street, description=attack, title=attack)
    page = track(resident, number, code)
    assert page.status_code == 200
    assert attack not in page.text and html.escape(attack) in page.text


# --- the report form's refusals ----------------------------------------------------------------------------


def test_a_missing_description_is_reported_next_to_it_and_the_rest_is_kept(visitor: Browser) -> None:
    form = report_form(visitor)
    form.update({"title": "路灯不亮", "address": "泰和路与华山路交叉口", "name": "赵大爷", "phone": "0532-88886666"})
    page = submit(visitor, form)
    assert page.status_code == 422
    error = re.search(r'<p class="field-error" id="description-error" role="alert">([^<]+)</p>', page.text)
    assert error and "请填写问题描述" in error.group(1)
    for kept in ('value="路灯不亮"', 'value="泰和路与华山路交叉口"', 'value="赵大爷"', 'value="0532-88886666"'):
        assert kept in page.text
    assert f'value="{form["idempotency_key"]}"' in page.text  # the same submission, once it is corrected


def test_a_bad_phone_and_no_location_are_reported_next_to_their_fields(
    visitor: Browser, photo: bytes, demo_engine: Engine
) -> None:
    form = report_form(visitor)
    form.update({"description": "噪音扰民", "phone": "12345"})
    page = submit(visitor, form, files=[("photos", ("a.png", photo, "image/png"))])
    assert page.status_code == 422
    assert 'id="phone-error"' in page.text and "11位手机号码" in page.text and 'value="12345"' in page.text
    assert 'id="location-error"' in page.text and "填写详细地址" in page.text
    assert "噪音扰民</textarea>" in page.text
    # a file input cannot be refilled: the photo is kept on the server, shown, and sent with the corrected form
    assert 'id="photos-error"' not in page.text and "已保留：" in page.text and "a.png" in page.text
    token = re.search(r'name="kept_photos" value="([^"]+)" checked', page.text)
    assert token is not None
    preview = visitor.get(f"/uploads/held/{token.group(1)}")
    assert preview.status_code == 200 and preview.content == photo and preview.headers["cache-control"] == "no-store"
    form.update({"phone": "13812345678", "address": "泰和路5号", "kept_photos": token.group(1)})
    number, _ = receipt(submit(visitor, form))
    with make_session_factory(demo_engine)() as session:
        assert [a.media_type for a in attachments_of(session, SYSTEM, number)] == ["image/png"]
    assert visitor.get(f"/uploads/held/{token.group(1)}").status_code == 404  # attached: no longer held


def test_a_kept_photo_belongs_to_its_sender(
    visitor: Browser, web_app: FastAPI, photo: bytes, demo_engine: Engine
) -> None:
    form = report_form(visitor)
    form.update({"description": "噪音扰民"})  # no place: refused, the photo kept
    page = submit(visitor, form, files=[("photos", ("a.png", photo, "image/png"))])
    token = re.search(r'name="kept_photos" value="([^"]+)"', page.text)
    assert page.status_code == 422 and token is not None
    stranger = Browser(web_app)
    assert stranger.get(f"/uploads/held/{token.group(1)}").status_code == 404
    theirs = report_form(stranger)
    theirs.update({"description": "另一件事", "address": "泰和路9号", "kept_photos": token.group(1)})
    number, _ = receipt(submit(stranger, theirs))
    with make_session_factory(demo_engine)() as session:
        assert attachments_of(session, SYSTEM, number) == []  # someone else's token finds nothing
    assert visitor.get(f"/uploads/held/{token.group(1)}").status_code == 200  # and takes nothing from its sender


def test_a_file_that_is_not_a_photo_is_refused_next_to_the_field(visitor: Browser) -> None:
    form = report_form(visitor)
    form.update({"description": "违章搭建", "address": "泰和路8号"})
    page = submit(visitor, form, files=[("photos", ("合同.pdf", b"%PDF-1.4 not a photo", "application/pdf"))])
    assert page.status_code == 422 and 'id="photos-error"' in page.text and "不是照片" in page.text


def test_a_double_submit_makes_one_case_and_says_so(visitor: Browser, demo_engine: Engine) -> None:
    form = report_form(visitor)
    form.update({"description": "井盖缺失，很危险", "address": "华山路17号门前"})
    first = submit(visitor, form)
    number, _ = receipt(first)
    second = submit(visitor, form)
    assert second.status_code == 200 and "已经提交过了" in second.text and 'id="tracking-code"' not in second.text
    with make_session_factory(demo_engine)() as session:
        key = session.execute(select(Case.idempotency_key).where(Case.number == number)).scalar_one()
        same = session.execute(select(Case.number).where(Case.idempotency_key == key)).scalars().all()
    assert same == [number]


def test_posts_without_the_csrf_token_are_refused(visitor: Browser) -> None:
    form = report_form(visitor)
    form.update({"description": "无令牌提交", "address": "泰和路1号"})
    assert visitor.post("/public/report", form, csrf=False).status_code == 403
    assert visitor.post("/public/track", {"number": "1", "code": "2"}, csrf=False).status_code == 403
    assert visitor.post("/public/track/rate", {"number": "1", "code": "2"}, csrf=False).status_code == 403


def test_a_signed_in_resident_reports_as_themselves(signed_in: Callable[[str], Browser], demo_engine: Engine) -> None:
    browser = signed_in("resident")
    form = report_form(browser)
    form.update({"description": "楼道灯坏了", "address": "泰和小区2号楼"})
    page = submit(browser, form)
    assert page.status_code == 201 and 'id="tracking-code"' not in page.text
    number = re.search(r'id="case-number">(\d+)<', page.text)
    assert number and f'href="/cases/{number.group(1)}"' in page.text
    with make_session_factory(demo_engine)() as session:
        case = session.execute(select(Case).where(Case.number == number.group(1))).scalar_one()
        resident = get_user(session, "resident")
    assert case.reporter_user_id == resident.id and case.tracking_code_hash is None


def test_staff_who_cannot_take_resident_reports_are_sent_to_their_own_pages(
    signed_in: Callable[[str], Browser],
) -> None:
    page = signed_in("gridworker").get("/public/report")
    assert page.status_code == 403 and "工作台" in page.text


# --- closed switches and small limits: an app of their own over the same demo database -------------------------


@pytest.fixture
def strict_app(demo_site: DemoSite) -> Callable[..., Browser]:
    def make(**settings: Any) -> Browser:
        app = create_app(demo_site.settings.model_copy(update=settings), demo_site.engine)
        return Browser(app)

    return make


def test_reporting_closed_says_so(strict_app: Callable[..., Browser]) -> None:
    browser = strict_app(public_reporting=False)
    page = browser.get("/public/report")
    assert page.status_code == 403 and "网上反映暂未开放" in page.text and "<form" not in page.text.split("<main")[1]
    refused = browser.post("/public/report", {"description": "x", "address": "y"})
    assert refused.status_code == 403 and "网上反映暂未开放" in refused.text


def test_a_photo_over_the_size_limit_is_refused_in_chinese(strict_app: Callable[..., Browser], photo: bytes) -> None:
    browser = strict_app(attachment_max_bytes=len(photo) - 1)
    form = report_form(browser)
    form.update({"description": "占道经营", "address": "华山路菜市场"})
    page = submit(browser, form, files=[("photos", ("大图.png", photo, "image/png"))])
    assert page.status_code == 422 and 'id="photos-error"' in page.text and "超过" in page.text
    assert "占道经营</textarea>" in page.text


def test_the_public_map_can_be_closed(strict_app: Callable[..., Browser]) -> None:
    browser = strict_app(public_grid_map=False)
    assert browser.get("/public/map").status_code == 403
    assert browser.client.get("/api/v1/public/cases.geojson").status_code == 403


# --- the public map ----------------------------------------------------------------------------------------


def test_the_public_map_page_and_its_feed_carry_no_personal_data(visitor: Browser, demo_engine: Engine) -> None:
    page = visitor.get("/public/map")
    assert page.status_code == 200
    assert 'id="public-map-config"' in page.text and "js/public-map.js" in page.text and "<script>" not in page.text
    feed = visitor.client.get("/api/v1/public/cases.geojson?crs=gcj02")
    assert feed.status_code == 200
    features = feed.json()["features"]
    assert features and all(
        set(f["properties"]) == {"category", "state", "state_label", "reported_on"} for f in features
    )
    assert {f["properties"]["state"] for f in features} <= {s.value for s in CaseState} - {"rejected", "merged"}
    with make_session_factory(demo_engine)() as session:
        cases = session.execute(select(Case)).scalars().all()
        categories = {c.name for c in list_categories(session)}
    titles = {c.title for c in cases if not any(c.title in name for name in categories)}  # 路灯不亮 is both
    private = {c.number for c in cases} | titles
    private |= {value for c in cases for value in (c.reporter_name, c.reporter_phone, c.address) if value}
    assert not [value for value in private if value in feed.text]


def test_a_signed_in_resident_sees_the_public_grid_map_as_a_visitor_does(
    signed_in: Callable[[str], Browser], visitor: Browser, demo_engine: Engine
) -> None:
    layer = {"level": "street"}
    resident = signed_in("resident").client
    seen_by_visitor = visitor.client.get("/api/v1/grid/geojson", params=layer).json()["features"]
    seen_by_resident = resident.get("/api/v1/grid/geojson", params=layer).json()["features"]
    assert seen_by_visitor and len(seen_by_resident) == len(seen_by_visitor)
    spot = point_in_grid_of(demo_engine, "gridworker")  # her report form's picker asks where a point is
    located = resident.get("/api/v1/grid/locate", params={"lon": spot.lon, "lat": spot.lat, "crs": "wgs84"}).json()
    assert located["inside"] and located["node"]["code"] == spot.code
