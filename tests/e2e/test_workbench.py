"""The web workbench in a real browser: one case across every role (resident, dispatcher, department, grid
worker), the phone pages at 375 px, and the refusals — another grid's case, script in user text, a POST without
its CSRF token. Every page visited must run without script errors or CSP violations."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from tests.e2e.helpers import (
    PHONE,
    PHOTO,
    Site,
    act,
    action_form,
    case_hidden_from,
    case_number_from,
    click_map_at,
    fits_phone,
    grid_name,
    submit_action,
    timeline,
)
from tests.web.conftest import GridPoint, point_in_grid_of

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
WHOLE_STORY = [
    "intake", "register", "dispatch", "accept", "return", "dispatch", "accept", "submit", "verify_pass", "rate",
    "reopen",
]  # fmt: skip


@pytest.fixture(scope="module")
def her_grid(demo_db: Engine) -> GridPoint:
    """A point inside the unit grid the demo assigns to the grid worker (login gridworker)."""
    return point_in_grid_of(demo_db, "gridworker")


# --- the story of one case ---------------------------------------------------------------------------------------


def test_one_case_from_a_residents_report_to_reopening(
    site: Site, demo_db: Engine, her_grid: GridPoint, screenshots: Path
) -> None:
    her_unit = grid_name(demo_db, her_grid.code)
    number, code = resident_reports(site, her_grid, screenshots)

    dispatcher = site.sign_in("dispatcher")
    dispatcher_registers_and_dispatches(dispatcher, number, her_unit, screenshots)

    cgj = site.sign_in("cgj")
    department_accepts_then_returns(cgj, number, screenshots)

    dispatcher.goto(f"/cases/{number}")
    dispatch_to_cgj(dispatcher, number)

    cgj.goto(f"/cases/{number}")
    act(cgj, number, "accept", "接收")
    form = action_form(cgj, "submit")
    form.locator("textarea[name=note]").fill("垃圾已全部清运，垃圾桶已清洗。")
    form.locator("input[name=photos]").set_input_files(PHOTO)
    submit_action(cgj, number, "submit", "处置反馈")
    expect(cgj.locator('#timeline li[data-action="submit"] img')).to_be_visible()

    worker = site.sign_in("gridworker", PHONE)
    grid_worker_verifies(worker, number, screenshots)

    resident_rates_unsatisfied(site, number, code, screenshots)

    dispatcher.goto(f"/cases/{number}")
    expect(dispatcher.locator("#case-facts")).to_contain_text("不满意")
    act(dispatcher, number, "reopen", "重办", note="群众评价不满意，要求重新处置。")
    assert timeline(dispatcher) == WHOLE_STORY
    expect(dispatcher.locator('#timeline li[data-action="return"]')).to_contain_text("不属于本部门职责")
    site.assert_clean()


def resident_reports(site: Site, spot: GridPoint, screenshots: Path) -> tuple[str, str]:
    """On a phone, without an account: describe, photograph, click the spot on the map, submit."""
    resident = site.visit(PHONE)
    resident.goto("/public/report")
    form = resident.locator("#public-report-form")
    form.locator("textarea[name=description]").fill("小区北门垃圾桶满溢，垃圾堆在地上两天了，气味很大。")
    form.locator("input[name=photos]").set_input_files(PHOTO)
    click_map_at(resident, "pick-map", spot.lon, spot.lat)
    expect(resident.locator("#crs")).not_to_have_value("")
    fits_phone(resident)
    resident.screenshot(path=screenshots / "public-report-375.png", full_page=True)
    form.get_by_role("button", name="提交", exact=True).click()
    expect(resident.locator("#case-number")).to_have_text(re.compile(r"^\d+$"))
    number = resident.locator("#case-number").inner_text().strip()
    code = resident.locator("#tracking-code").inner_text().strip()
    assert code
    fits_phone(resident)
    return number, code


def dispatcher_registers_and_dispatches(page: Page, number: str, unit: str, screenshots: Path) -> None:
    to_register = page.locator("a.queue[data-queue=to_register]")
    expect(to_register).to_be_visible()
    page.screenshot(path=screenshots / "workbench-dispatcher.png", full_page=True)
    to_register.click()
    expect(page).to_have_url(re.compile(r"/cases\?queue=to_register"))
    expect(page.locator("#case-filters")).to_be_visible()
    row = page.locator(f'#case-list tr[data-number="{number}"]')
    expect(row).to_be_visible()
    page.screenshot(path=screenshots / "case-list.png", full_page=True)
    with page.expect_download() as download:
        page.locator("#export-link").click()
    assert download.value.suggested_filename == "案件清单.xlsx"
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True).active
    assert sheet is not None and number in {str(row[0]) for row in sheet.iter_rows(values_only=True)}
    row.get_by_role("link", name=number).click()

    expect(page.locator("#case-title")).to_contain_text(number)
    expect(page.locator("#case-description")).to_have_text("小区北门垃圾桶满溢，垃圾堆在地上两天了，气味很大。")
    expect(page.locator("#case-facts")).to_contain_text(unit)  # the map click landed in her grid
    expect(page.locator('#timeline li[data-action="intake"] img')).to_be_visible()  # the resident's photo
    form = action_form(page, "register")
    form.locator("select[name=category_code]").select_option("0101")
    form.locator("textarea[name=note]").fill("经核实属实，予以立案。")
    submit_action(page, number, "register", "立案")
    dispatch_to_cgj(page, number)
    page.screenshot(path=screenshots / "case-detail.png", full_page=True)


def dispatch_to_cgj(page: Page, number: str) -> None:
    form = action_form(page, "dispatch")
    form.locator("select[name=main_department]").select_option("CGJ")
    form.locator("select[name=assist_departments]").select_option([])
    submit_action(page, number, "dispatch", "派遣")
    expect(page.locator("#case-facts")).to_contain_text("区城市管理局（主办）")


def department_accepts_then_returns(page: Page, number: str, screenshots: Path) -> None:
    """区城管局 finds the case in its inbox, accepts it, then tries to return it without a reason (refused next to
    the field, the form still open) and with one."""
    page.goto("/inbox")
    row = page.locator(f'#case-list tr[data-number="{number}"]')
    expect(row).to_be_visible()
    page.screenshot(path=screenshots / "inbox.png", full_page=True)
    row.get_by_role("link", name=number).click()
    act(page, number, "accept", "接收")

    form = action_form(page, "return")
    form.get_by_role("button", name="退回", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/cases/{number}/actions/return$"))
    refused = page.locator('#actions details[data-action="return"]')
    expect(refused).to_have_attribute("open", "")
    error = refused.locator(".field-error")
    expect(error).to_be_visible()
    expect(error).to_have_text(re.compile(r"[\u4e00-\u9fff]"))
    assert page.locator("#done-message").count() == 0
    assert "return" not in timeline(page)

    refused.locator("textarea[name=note]").fill("不属于本部门职责，请改派。")
    submit_action(page, number, "return", "退回")


def grid_worker_verifies(page: Page, number: str, screenshots: Path) -> None:
    page.goto("/m")
    task = page.locator(f'section[aria-label="待核查"] li[data-number="{number}"]')
    expect(task).to_be_visible()
    fits_phone(page)
    page.screenshot(path=screenshots / "mobile-tasks-375.png", full_page=True)
    task.get_by_role("link", name=number).click()
    expect(page.locator("#case-title")).to_contain_text(number)
    fits_phone(page)
    act(page, number, "verify_pass", "核查通过并结案", note="现场已清理干净。")
    fits_phone(page)


def resident_rates_unsatisfied(site: Site, number: str, code: str, screenshots: Path) -> None:
    page = site.visit(PHONE)
    page.goto(f"/public/track?number={number}")
    page.locator("input[name=code]").fill(code)
    page.get_by_role("button", name="查询", exact=True).click()
    expect(page.locator("#public-progress")).to_contain_text(number)
    rate = page.locator("#rate-form")
    expect(rate).to_be_visible()
    fits_phone(page)
    page.screenshot(path=screenshots / "public-track.png", full_page=True)
    rate.locator("input[name=rating][value=unsatisfied]").check()
    rate.locator("textarea[name=comment]").fill("垃圾桶还是经常满，希望增加清运次数。")
    rate.get_by_role("button", name="提交评价", exact=True).click()
    expect(page.locator("#progress-message")).to_contain_text("感谢")
    expect(page.locator("#progress-rating")).to_have_text("不满意")
    page.goto("/public/map")
    expect(page.locator("#public-map[data-ready=true]")).to_be_attached(timeout=15_000)
    fits_phone(page)


# --- refusals ----------------------------------------------------------------------------------------------------


def test_a_grid_worker_cannot_open_a_case_outside_her_grids(site: Site, demo_db: Engine) -> None:
    elsewhere = case_hidden_from(demo_db, "gridworker")
    worker = site.sign_in("gridworker", PHONE)
    response = worker.goto(f"/cases/{elsewhere.number}")
    assert response is not None and response.status == 404
    expect(worker.locator("#error-message")).to_contain_text("无权查看")
    expect(worker.locator("#case-title")).to_have_count(0)
    body = worker.locator("main").inner_text()
    assert elsewhere.title not in body and elsewhere.description not in body
    site.assert_clean()


def test_script_in_a_description_is_shown_as_text(site: Site, screenshots: Path) -> None:
    hotline = site.sign_in("hotline")
    hotline.goto("/cases/new")
    form = hotline.locator("#intake-form")
    expect(form.locator("select[name=channel]")).to_have_value("hotline_12345")
    expect(hotline.locator("#pick-map[data-ready=true]")).to_be_attached(timeout=15_000)
    hotline.screenshot(path=screenshots / "intake-form.png", full_page=True)
    form.locator("input[name=reporter_name]").fill("王女士")
    form.locator("input[name=reporter_phone]").fill("13912345678")
    form.locator("textarea[name=description]").fill(XSS)
    form.locator("input[name=address]").fill("泰和路12号")
    form.get_by_role("button", name="保存受理", exact=True).click()
    expect(hotline).to_have_url(re.compile(r"/cases/\d+\?taken=created$"))
    expect(hotline.locator("#taken-message")).to_be_visible()

    description = hotline.locator("#case-description")
    expect(description).to_have_text(XSS)
    expect(description.locator("script, img")).to_have_count(0)
    hotline.wait_for_load_state("load")
    assert hotline.evaluate("() => typeof window.__xss") == "undefined"
    site.assert_clean()


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(site: Site, demo_server: str) -> None:
    dispatcher = site.sign_in("dispatcher")
    dispatcher.goto("/cases?queue=to_register")
    number = dispatcher.locator("#case-list tr[data-number]").first.get_attribute("data-number")
    assert number
    dispatcher.goto(f"/cases/{number}")
    version = dispatcher.locator('#actions details[data-action="register"] input[name=expected_version]')
    before = (version.input_value(), timeline(dispatcher))

    refused = dispatcher.request.post(
        f"{demo_server}/cases/{number}/actions/register",
        form={"expected_version": before[0], "category_code": "0101", "note": "没有令牌的立案"},
        max_redirects=0,
    )
    assert refused.status == 403
    assert "安全令牌" in refused.text()

    dispatcher.reload()
    assert (version.input_value(), timeline(dispatcher)) == before
    site.assert_clean()


# --- the grid worker's phone ---------------------------------------------------------------------------------------


def test_a_grid_worker_reports_from_her_phone_at_her_position(
    site: Site, demo_db: Engine, her_grid: GridPoint, demo_server: str
) -> None:
    worker = site.sign_in("gridworker", PHONE)
    worker.context.grant_permissions(["geolocation"], origin=demo_server)
    worker.context.set_geolocation({"longitude": her_grid.lon, "latitude": her_grid.lat, "accuracy": 10})
    worker.goto("/m/report")
    form = worker.locator("#mobile-report-form")
    expect(worker.locator("#pick-map[data-ready=true]")).to_be_attached(timeout=15_000)
    fits_phone(worker)
    form.locator("textarea[name=description]").fill("巡查发现华山路井盖缺失，已设置临时围挡。")
    form.locator("input[name=category]").fill("井盖缺失破损")
    form.get_by_role("button", name="使用当前位置").click()
    expect(form.locator("input[name=lon]")).not_to_have_value("")
    lon = float(form.locator("input[name=lon]").input_value())
    lat = float(form.locator("input[name=lat]").input_value())
    assert abs(lon - her_grid.lon) < 0.01 and abs(lat - her_grid.lat) < 0.01
    form.locator("input[name=photos]").set_input_files(PHOTO)
    form.get_by_role("button", name="上报", exact=True).click()

    expect(worker).to_have_url(re.compile(r"/cases/\d+\?taken=created$"))
    expect(worker.locator("#case-description")).to_have_text("巡查发现华山路井盖缺失，已设置临时围挡。")
    expect(worker.locator("#case-facts")).to_contain_text(grid_name(demo_db, her_grid.code))
    expect(worker.locator('#timeline li[data-action="intake"] img')).to_be_visible()
    fits_phone(worker)
    number = case_number_from(worker)
    worker.goto("/m")
    expect(worker.locator(f'li[data-number="{number}"]')).to_be_visible()
    site.assert_clean()
