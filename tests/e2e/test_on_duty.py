"""In a real browser: a report with only an address reaches the street's command centre (待落图 on the 工作台) and is
placed with a map click; the 区城管局's staff see the grid and their cases on the map; a resident signed in on her
phone sees her case as its reporter. Every page must run without script errors or CSP violations."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import Engine, select
from tests.e2e.helpers import DESKTOP, MAP_TIMEOUT, PHONE, Site, action_form, click_map_at, fits_phone, submit_action
from tests.web.conftest import point_in_grid_of

from civicgrid.cases.models import Case, Placement
from civicgrid.db import make_session_factory


def _queue(page_text: str) -> int:
    found = re.search(r'data-queue="to_place"[^>]*>\s*<span class="queue-count">([\d,]+)', page_text)
    assert found
    return int(found.group(1).replace(",", ""))


def test_an_address_only_report_is_placed_by_the_street_dispatcher_with_a_map_click(
    site: Site, demo_db: Engine, screenshots: Path
) -> None:
    resident = site.visit(PHONE)
    resident.goto("/public/report")
    resident.locator("textarea[name=description]").fill("小区南门的路灯坏了一周，晚上很黑。")
    resident.locator("input[name=address]").fill("泰和路小区南门")
    resident.get_by_role("button", name="提交").click()
    number = resident.locator("#case-number").inner_text()

    dispatcher = site.sign_in("dispatcher", DESKTOP)
    waiting = dispatcher.locator('[data-queue="to_place"] .queue-count')
    expect(waiting).not_to_have_text("0")
    before = _queue(dispatcher.content())
    dispatcher.locator('[data-queue="to_place"]').click()
    expect(dispatcher.locator(f'a[href="/cases/{number}"]').first).to_be_visible()
    dispatcher.goto(f"/cases/{number}")
    form = action_form(dispatcher, "place")
    expect(form.locator("#place-grid optgroup").first).to_be_attached()
    spot = point_in_grid_of(demo_db, "gridworker")
    click_map_at(dispatcher, "pick-map-place", spot.lon, spot.lat)
    dispatcher.screenshot(path=str(screenshots / "place-unplaced-report.png"), full_page=True)
    submit_action(dispatcher, number, "place", "人工落图")
    with make_session_factory(demo_db)() as session:
        case = session.execute(select(Case).where(Case.number == number)).scalar_one()
        assert (case.placement, case.scope_code) == (Placement.MANUAL.value, spot.code)
    dispatcher.goto("/")
    assert _queue(dispatcher.content()) == before - 1
    site.assert_clean()


def test_the_departments_map_shows_the_grid_and_its_cases(site: Site, screenshots: Path) -> None:
    cgj = site.sign_in("cgj", DESKTOP)
    cgj.goto("/map")
    expect(cgj.locator("#level-counts")).to_be_visible()
    expect(cgj.locator("#no-grid")).to_have_count(0)
    expect(cgj.locator("#grid-map[data-ready=true]")).to_be_attached(timeout=MAP_TIMEOUT)
    drawn = cgj.evaluate(
        "() => { let n = 0; window.civicgridMap.eachLayer((l) => { if (l.civicgridLevel) n += l.getLayers().length; });"
        " return n; }"
    )
    assert drawn > 0, "no grid polygon drawn"
    expect(cgj.locator("#grid-map[data-cases-ready=true]")).to_be_attached(timeout=MAP_TIMEOUT)
    assert int(cgj.locator("#grid-map").get_attribute("data-case-count") or 0) > 0
    expect(cgj.locator("#case-summary")).not_to_contain_text("失败")
    cgj.screenshot(path=str(screenshots / "department-map.png"))
    site.assert_clean()


def test_a_resident_on_her_phone_sees_her_case_as_its_reporter(site: Site, screenshots: Path) -> None:
    resident = site.sign_in("resident", PHONE)
    nav = resident.locator("nav.topnav")
    expect(nav.locator('a[href="/public/track"]')).to_be_attached()
    expect(nav.locator('a[href="/public/map"]')).to_be_attached()
    first = resident.locator("#my-cases a").first
    first.click()
    expect(resident.locator("#public-progress")).to_be_visible()
    expect(resident.locator("#public-timeline li").first).to_be_visible()
    assert resident.locator("#actions").count() == 0  # no staff actions, no 备注 box
    assert "李敏" not in resident.content() and "(dispatcher)" not in resident.content()
    fits_phone(resident)
    resident.screenshot(path=str(screenshots / "resident-own-case-phone.png"), full_page=True)
    site.assert_clean()
