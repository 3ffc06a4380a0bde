"""The case pages: intake, list, detail with only the allowed actions, the whole flow through forms, export."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from tests.web.conftest import Browser, GridPoint, point_in_grid_of, point_outside_grid_of

from civicgrid.audit import AuditEntry
from civicgrid.cases.models import Attachment, Case, CaseEvent
from civicgrid.db import make_session_factory

SignedIn = Callable[[str], Browser]
XSS = '<script>window.__xss=1</script><img src=x onerror="alert(1)">'


def take_in(browser: Browser, description: str, spot: GridPoint | None = None, **fields: str) -> str:
    """Submit the hotline form (at ``spot`` when given); returns the new case's number."""
    browser.get("/cases/new")
    where = {"lon": str(spot.lon), "lat": str(spot.lat), "crs": "wgs84"} if spot else {}
    form = {"channel": "hotline_12345", "description": description, **where, **fields}
    response = browser.post("/cases/new", form)
    assert response.status_code == 303, response.text
    found = re.match(r"/cases/(\d+)\?taken=created", response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def act(browser: Browser, number: str, action: str, **fields: str) -> None:
    page = browser.get(f"/cases/{number}")
    assert f'data-action="{action}"' in page.text, f"{action} not offered"
    version = re.search(r'name="expected_version" value="(\d+)"', page.text)
    assert version
    response = browser.post(f"/cases/{number}/actions/{action}", {"expected_version": version.group(1), **fields})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/cases/{number}?done={action}"


def offered(browser: Browser, number: str) -> set[str]:
    page = browser.get(f"/cases/{number}")
    section = page.text.split('id="actions"')[1]
    return set(re.findall(r'<details[^>]*data-action="([a-z_]+)"', section))


def events(engine: Engine, number: str) -> list[str]:
    with make_session_factory(engine)() as session:
        case = session.execute(select(Case).where(Case.number == number)).scalar_one()
        return list(
            session.execute(
                select(CaseEvent.action).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)
            ).scalars()
        )


def test_the_whole_flow_through_the_forms(signed_in: SignedIn, demo_engine: Engine) -> None:
    spot = point_in_grid_of(demo_engine, "gridworker")
    hotline, dispatcher, cgj, worker = (signed_in(u) for u in ("hotline", "dispatcher", "cgj", "gridworker"))
    number = take_in(
        hotline, "小区门口垃圾桶满溢无人清运", spot, reporter_name="王女士", reporter_phone="13912345678",
        category_code="0101",
    )  # fmt: skip
    assert offered(hotline, number) == {"comment"}
    assert {"register", "reject", "merge"} <= offered(dispatcher, number)
    act(dispatcher, number, "register", note="属实")
    act(dispatcher, number, "dispatch", main_department="CGJ")
    assert "accept" in offered(cgj, number) and "register" not in offered(cgj, number)
    inbox = cgj.get("/inbox")
    assert number in inbox.text
    act(cgj, number, "accept")
    act(cgj, number, "return", note="不属于本部门职责")
    act(dispatcher, number, "dispatch", main_department="CGJ")
    act(cgj, number, "accept")
    act(cgj, number, "submit", note="已清运")
    assert "verify_pass" in offered(worker, number)
    act(worker, number, "verify_pass", note="现场已清理")
    act(hotline, number, "rate", rating="unsatisfied", note="回访：不满意")
    act(dispatcher, number, "reopen", note="群众不满意，重办")
    assert events(demo_engine, number) == [
        "intake", "register", "dispatch", "accept", "return", "dispatch", "accept", "submit", "verify_pass", "rate",
        "reopen",
    ]  # fmt: skip
    detail = dispatcher.get(f"/cases/{number}?done=reopen")
    assert "已重办" in detail.text and "不满意" in detail.text


def test_a_refused_action_shows_the_error_by_its_field_and_keeps_the_text(
    signed_in: SignedIn, demo_engine: Engine
) -> None:
    dispatcher = signed_in("dispatcher")
    number = take_in(signed_in("hotline"), "路灯不亮已经三天", point_in_grid_of(demo_engine, "gridworker"))
    page = dispatcher.get(f"/cases/{number}")
    version = re.search(r'name="expected_version" value="(\d+)"', page.text)
    assert version
    response = dispatcher.post(f"/cases/{number}/actions/reject", {"expected_version": version.group(1), "note": "  "})
    assert response.status_code == 422
    assert "须填写理由" in response.text and 'class="field-error"' in response.text
    stale = dispatcher.post(f"/cases/{number}/actions/register", {"expected_version": "999", "note": "我的说明"})
    assert stale.status_code == 409 and "已被他人更新" in stale.text and "我的说明" in stale.text
    assert events(demo_engine, number) == ["intake"]


def test_intake_errors_are_shown_next_to_the_field_and_the_form_keeps_its_values(signed_in: SignedIn) -> None:
    hotline = signed_in("hotline")
    hotline.get("/cases/new")
    response = hotline.post(
        "/cases/new",
        {"channel": "hotline_12345", "description": "噪音扰民", "reporter_name": "李先生", "reporter_phone": "12ab"},
    )
    assert response.status_code == 422
    assert "电话号码“12ab”格式不正确" in response.text
    assert 'value="李先生"' in response.text and "噪音扰民</textarea>" in response.text
    empty = hotline.post("/cases/new", {"channel": "hotline_12345", "description": ""})
    assert empty.status_code == 422 and "请填写问题标题或描述" in empty.text


def test_every_wrong_field_of_a_report_is_named_at_once(signed_in: SignedIn) -> None:
    hotline = signed_in("hotline")
    hotline.get("/cases/new")
    form = {"channel": "hotline_12345", "description": "", "reporter_phone": "12ab", "category_code": "飞碟降落"}
    response = hotline.post("/cases/new", form)
    assert response.status_code == 422
    for said in ("请填写问题标题或描述", "电话号码“12ab”格式不正确", "没有找到类别“飞碟降落”"):
        assert said in response.text, said
    assert re.search(r'name="reporter_phone"[^>]*aria-invalid="true"', response.text)


def test_a_bad_photo_undoes_the_whole_report(signed_in: SignedIn, demo_engine: Engine) -> None:
    hotline = signed_in("hotline")
    hotline.get("/cases/new")
    key = "bad-photo-key-1"
    response = hotline.post(
        "/cases/new",
        {"channel": "hotline_12345", "description": "附件测试：不是图片", "idempotency_key": key},
        files={"photos": ("x.txt", b"not an image", "text/plain")},
    )
    assert response.status_code == 422 and "不支持的文件类型" in response.text
    with make_session_factory(demo_engine)() as session:
        assert session.execute(select(Case).where(Case.description == "附件测试：不是图片")).first() is None


def test_photos_are_kept_and_served_only_to_readers(signed_in: SignedIn, demo_engine: Engine, photo: bytes) -> None:
    hotline = signed_in("hotline")
    hotline.get("/cases/new")
    response = hotline.post(
        "/cases/new",
        {"channel": "hotline_12345", "description": "井盖破损有照片"},
        files={"photos": ("井盖.png", photo, "image/png")},
    )
    number = response.headers["location"].split("/")[2].split("?")[0]
    page = hotline.get(f"/cases/{number}")
    link = re.search(rf"/cases/{number}/attachments/(\d+)", page.text)
    assert link
    served = hotline.get(link.group(0))
    assert served.status_code == 200 and served.content == photo and served.headers["content-type"] == "image/png"
    assert signed_in("gridworker").get(link.group(0)).status_code == 404


def test_a_grid_worker_cannot_open_a_case_outside_her_grids(signed_in: SignedIn, demo_engine: Engine) -> None:
    elsewhere = point_outside_grid_of(demo_engine, "gridworker")
    number = take_in(signed_in("hotline"), "别的网格里的问题", elsewhere)
    worker = signed_in("gridworker")
    refused = worker.get(f"/cases/{number}")
    assert refused.status_code == 404 and "无权查看" in refused.text and "别的网格里的问题" not in refused.text
    action = worker.post(f"/cases/{number}/actions/comment", {"note": "试图备注"})
    assert action.status_code == 404
    assert number not in worker.get("/cases?q=别的网格").text


def test_user_text_is_escaped_everywhere(signed_in: SignedIn) -> None:
    hotline = signed_in("hotline")
    number = take_in(hotline, XSS, title=XSS, address=XSS)
    for page in (hotline.get(f"/cases/{number}"), hotline.get("/cases"), hotline.get("/")):
        assert "<script>window.__xss" not in page.text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in hotline.get(f"/cases/{number}").text


def test_contacts_are_masked_and_a_full_view_is_audited(signed_in: SignedIn, demo_engine: Engine) -> None:
    hotline = signed_in("hotline")
    spot = point_in_grid_of(demo_engine, "gridworker")
    number = take_in(hotline, "来电反映占道经营", spot, reporter_name="张三丰", reporter_phone="13912345678")
    page = hotline.get(f"/cases/{number}")
    assert "139****5678" in page.text and "13912345678" not in page.text and "张**" in page.text
    revealed = hotline.post(f"/cases/{number}/contact", headers={"HX-Request": "true"})
    assert revealed.status_code == 200 and "13912345678" in revealed.text
    with make_session_factory(demo_engine)() as session:
        entries = (
            session.execute(
                select(AuditEntry).where(AuditEntry.action == "case.contact.view", AuditEntry.object_key == number)
            )
            .scalars()
            .all()
        )
    assert len(entries) == 1
    leader = signed_in("leader")
    assert "13912345678" not in leader.get(f"/cases/{number}").text
    assert leader.post(f"/cases/{number}/contact").status_code == 403


def test_the_list_filters_pages_and_keeps_its_filters(signed_in: SignedIn, demo_engine: Engine) -> None:
    hotline = signed_in("hotline")
    marker = "分页测试甲乙丙"
    spot = point_in_grid_of(demo_engine, "gridworker")
    numbers = {take_in(hotline, f"{marker}第{i}件", spot) for i in range(3)}
    dispatcher = signed_in("dispatcher")
    first = dispatcher.get(f"/cases?q={marker}")
    assert "共 3 件" in first.text
    assert set(re.findall(r'data-number="(\d+)"', first.text)) == numbers
    everything = dispatcher.get("/cases?size=20")
    next_link = re.search(r'href="(/cases\?[^"]*after=[^"]+)"', everything.text)
    assert next_link  # the demo street has more than 20 cases
    second = dispatcher.get(next_link.group(1).replace("&amp;", "&"))
    first_rows = re.findall(r'data-number="(\d+)"', everything.text)
    second_rows = re.findall(r'data-number="(\d+)"', second.text)
    assert second_rows and not set(first_rows) & set(second_rows)
    queue = dispatcher.get("/cases?queue=to_register")
    assert all("待立案" in row for row in re.findall(r"<tr data-number.*?</tr>", queue.text, re.S))
    assert dispatcher.get("/cases?after=garbage").status_code == 422


def test_the_excel_export_has_chinese_headers_dates_and_no_formulas(signed_in: SignedIn, demo_engine: Engine) -> None:
    hotline = signed_in("hotline")
    spot = point_in_grid_of(demo_engine, "gridworker")
    take_in(hotline, '=HYPERLINK("http://evil.example","点我")', spot, title="=1+1 导出测试")
    response = signed_in("dispatcher").get("/cases/export.xlsx?q=导出测试")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("案件编号", "标题", "问题描述")
    assert rows[1][1] == "'=1+1 导出测试" and rows[1][2].startswith("'=HYPERLINK")
    assert sheet.cell(row=2, column=10).is_date


def test_duplicate_hints_name_open_cases_nearby(signed_in: SignedIn, demo_engine: Engine) -> None:
    spot = point_in_grid_of(demo_engine, "gridworker")
    hotline = signed_in("hotline")
    number = take_in(hotline, "重复提示测试", spot, category_code="0101")
    hints = hotline.get(f"/cases/hints?lon={spot.lon + 0.0003}&lat={spot.lat}&category_code=0101")
    assert number in hints.text and "附近有" in hints.text
    far = hotline.get(f"/cases/hints?lon={spot.lon + 0.05}&lat={spot.lat}&category_code=0101")
    assert number not in far.text
    not_yet = hotline.get("/cases/hints?lon=&lat=&category_code=0101")  # category typed before the map click
    assert not_yet.status_code == 200 and "点选位置后" in not_yet.text


def test_a_grid_worker_reports_from_the_phone_page_and_sees_her_tasks(
    signed_in: SignedIn, demo_engine: Engine, photo: bytes
) -> None:
    spot = point_in_grid_of(demo_engine, "gridworker")
    worker = signed_in("gridworker")
    form = worker.get("/m/report")
    assert 'data-geolocate="true"' in form.text
    response = worker.post(
        "/m/report",
        {"description": "巡查发现井盖缺失", "lon": str(spot.lon), "lat": str(spot.lat), "crs": "wgs84"},
        files={"photos": ("现场.png", photo, "image/png")},
    )
    assert response.status_code == 303
    number = response.headers["location"].split("/")[2].split("?")[0]
    assert number in worker.get("/m").text
    with make_session_factory(demo_engine)() as session:
        case = session.execute(select(Case).where(Case.number == number)).scalar_one()
        assert case.channel == "grid_patrol" and case.scope_code == spot.code


def test_every_sort_pages_through_every_case_once_in_order(signed_in: SignedIn) -> None:
    dispatcher = signed_in("dispatcher")
    orders: dict[str, list[str]] = {}
    for sort in ("newest", "oldest", "due"):
        seen: list[str] = []
        link: str | None = f"/cases?size=20&sort={sort}"
        while link:
            page = dispatcher.get(link)
            seen += re.findall(r'data-number="(\d+)"', page.text)
            found = re.search(r'id="next-page" rel="next"', page.text) and re.search(
                r'href="(/cases\?[^"]*after=[^"]+)"', page.text
            )
            link = found.group(1).replace("&amp;", "&") if found else None
        total = re.search(r"共 ([\d,]+) 件", page.text)
        assert total and len(seen) == len(set(seen)) == int(total.group(1).replace(",", "")), sort
        orders[sort] = seen
    assert orders["newest"] == orders["oldest"][::-1]  # (reported_at, id) one way, then the other


def _case_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:2000]
    return response.headers["location"].split("/")[2].split("?")[0]


@pytest.mark.parametrize(("path", "username"), [("/cases/new", "hotline"), ("/m/report", "gridworker")])
def test_the_category_is_typed_by_name_and_shown_by_name(
    path: str, username: str, signed_in: SignedIn, demo_engine: Engine
) -> None:
    browser = signed_in(username)
    form_page = browser.get(path).text
    assert '<option value="暴露垃圾" data-code="' in form_page and 'name="category_code"' in form_page
    spot = point_in_grid_of(demo_engine, "gridworker")
    where = {"channel": "hotline_12345", "lon": str(spot.lon), "lat": str(spot.lat), "crs": "wgs84"}
    for typed in ("暴露垃圾", "暴露", "市容环境 › 暴露垃圾"):
        number = _case_of(browser.post(path, {**where, "description": f"类别测试：{typed}", "category": typed}))
        with make_session_factory(demo_engine)() as session:
            case = session.execute(select(Case).where(Case.number == number)).scalar_one()
            assert case.category is not None and case.category.name == "暴露垃圾", typed
    ambiguous = browser.post(path, {**where, "description": "垃圾很多", "category": "垃圾"})
    assert ambiguous.status_code == 422 and 'id="category_code-error"' in ambiguous.text
    assert "暴露垃圾" in ambiguous.text and "垃圾桶破损" in ambiguous.text and 'value="垃圾"' in ambiguous.text
    unknown = browser.post(path, {**where, "description": "飞碟", "category": "飞碟降落"})
    assert unknown.status_code == 422 and "没有找到类别“飞碟降落”" in unknown.text
    partial = browser.post(path, {**where, "description": "", "category": "垃圾桶"})  # refused for its text
    assert partial.status_code == 422 and 'value="垃圾桶破损"' in partial.text  # the box names what it found


def test_a_refused_report_keeps_its_photos_for_the_next_try(
    signed_in: SignedIn, demo_engine: Engine, photo: bytes
) -> None:
    gridworker = signed_in("gridworker")
    gridworker.get("/m/report")
    spot = point_in_grid_of(demo_engine, "gridworker")
    form = {"description": "井盖松动", "lon": str(spot.lon), "lat": str(spot.lat), "crs": "wgs84", "category": "垃圾"}
    refused = gridworker.post("/m/report", form, files=[("photos", ("井盖.png", photo, "image/png"))])
    assert refused.status_code == 422 and "已保留：" in refused.text and "井盖.png" in refused.text
    token = re.search(r'name="kept_photos" value="([^"]+)" checked', refused.text)
    assert token is not None
    assert signed_in("hotline").get(f"/uploads/held/{token.group(1)}").status_code == 404  # hers alone
    number = _case_of(gridworker.post("/m/report", {**form, "category": "井盖", "kept_photos": token.group(1)}))
    with make_session_factory(demo_engine)() as session:
        case = session.execute(select(Case).where(Case.number == number)).scalar_one()
        assert case.category is not None and case.category.name == "井盖缺失破损"
        assert len(session.execute(select(Attachment).where(Attachment.case_id == case.id)).all()) == 1
    assert gridworker.get(f"/uploads/held/{token.group(1)}").status_code == 404  # attached, no longer held


def test_a_refused_action_keeps_its_photos(signed_in: SignedIn, demo_engine: Engine, photo: bytes) -> None:
    gridworker = signed_in("gridworker")
    spot = point_in_grid_of(demo_engine, "gridworker")
    gridworker.get("/m/report")
    where = {"lon": str(spot.lon), "lat": str(spot.lat), "crs": "wgs84"}
    number = _case_of(gridworker.post("/m/report", {"description": "小广告", "category": "非法小广告", **where}))
    page = gridworker.get(f"/cases/{number}").text
    assert 'data-action="self_handle"' in page
    version = re.search(r'name="expected_version" value="(\d+)"', page)
    assert version
    refused = gridworker.post(
        f"/cases/{number}/actions/self_handle",
        {"expected_version": version.group(1), "note": ""},
        files=[("photos", ("处置后.png", photo, "image/png"))],
    )
    assert refused.status_code == 422 and "已保留：" in refused.text
    token = re.search(r'name="kept_photos" value="([^"]+)" checked', refused.text)
    assert token is not None
    done = gridworker.post(
        f"/cases/{number}/actions/self_handle",
        {"expected_version": version.group(1), "note": "已清除", "kept_photos": token.group(1)},
    )
    assert done.status_code == 303, done.text[:2000]
    assert events(demo_engine, number)[-1] == "self_handle"
