"""The leader dashboard in a real browser: the charts (ECharts, canvas) and the grid choropleth (Leaflet, SVG paths)
are drawn from the page's JSON, with no script error and no CSP violation, on a command-centre screen (1920 px)
and on a phone (375 px)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from urllib.parse import unquote

from playwright.sync_api import Page, expect
from tests.e2e.helpers import DESKTOP, MAP_TIMEOUT, PHONE, Site, fits_phone

COMMUNITIES_OF_THE_STREET = 12


def open_dashboard(page: Page) -> None:
    page.goto("/dashboard")
    expect(page.locator("#headline")).to_be_visible()
    expect(page.locator("#trend-chart[data-rendered=true] canvas")).to_have_count(1)
    expect(page.locator("#category-chart[data-rendered=true] canvas")).to_have_count(1)
    expect(page.locator("#channel-chart[data-rendered=true] canvas")).to_have_count(1)
    expect(page.locator("#grid-choropleth[data-ready=true]")).to_be_attached(timeout=MAP_TIMEOUT)


def test_the_dashboard_on_a_command_centre_screen(site: Site, screenshots: Path) -> None:
    page = site.sign_in("leader", DESKTOP)
    page.locator('a[data-nav="dashboard"]').click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    open_dashboard(page)
    expect(page.locator("#dash-scope")).to_contain_text("海川街道")
    expect(page.locator('.kpi-card[data-key="received"] .figure-value')).to_have_text(re.compile(r"^\d[\d,]*$"))
    # the demo's data begins a fortnight ago: no percentage against last year, and the reason on hover
    last_year = page.locator('.kpi-card[data-key="received"] .change').nth(1)
    expect(last_year).to_have_text("同比 上年同期无可比数据")
    expect(last_year).to_have_attribute("title", re.compile(r"^数据自\d{4}年\d{1,2}月\d{1,2}日起，上年同期"))
    hotline = page.locator(".kpi-hotline")
    expect(hotline.locator("h3")).to_have_text("12345热线三率")
    expect(hotline.locator("#hotline-scope")).to_contain_text("12345热线、8890热线、96685热线和网络留言受理")
    polygons = page.locator("#grid-choropleth path.leaflet-interactive")
    expect(polygons).to_have_count(COMMUNITIES_OF_THE_STREET)
    legend = page.locator("#choropleth-legend")
    expect(legend).to_contain_text("受理量")
    fills = polygons.evaluate_all("paths => new Set(paths.map((p) => p.getAttribute('fill'))).size")
    assert fills > 1, "the choropleth colours the communities by their values"

    page.locator("#map-indicator").select_option("closure_rate")
    expect(legend).to_contain_text("办结率")
    expect(legend).to_contain_text("%")

    polygons.first.hover()
    tooltip = page.locator(".leaflet-tooltip .choropleth-tip")
    expect(tooltip).to_contain_text("社区")
    expect(tooltip).to_contain_text("办结率：")

    # a panel per column on the big screen: the trend and the channels side by side
    trend_box = page.locator("#trend-section").bounding_box()
    channel_box = page.locator("#channel-section").bounding_box()
    assert (
        trend_box and channel_box and abs(trend_box["y"] - channel_box["y"]) < 2 and channel_box["x"] > trend_box["x"]
    )
    page.screenshot(path=screenshots / "dashboard-1920.png", full_page=True)
    site.assert_clean()


def test_the_charts_and_the_map_lead_to_the_cases_and_the_grids(site: Site) -> None:
    page = site.sign_in("dispatcher", DESKTOP)
    open_dashboard(page)
    registered = page.locator('.kpi-card[data-key="registered"] .figure-value')
    figure = registered.inner_text()
    registered.click()
    expect(page).to_have_url(
        re.compile(r"/cases\?date_from=\d{4}-01-01&date_to=\d{4}-12-31&grid=370299001&indicator=registered$")
    )
    expect(page.locator("#case-table")).to_be_visible()
    expect(page.locator("#indicator-filter")).to_contain_text("立案数：已立案的案件（不含重复件）")
    expect(page.locator("#case-total")).to_have_text(f"共 {figure} 件")  # the list holds what the figure counts
    page.go_back()
    open_dashboard(page)
    page.locator("#grid-choropleth path.leaflet-interactive").first.click()
    expect(page).to_have_url(re.compile(r"/dashboard\?grid=370299001\d{3}$"))
    expect(page.locator("#grid-choropleth[data-ready=true]")).to_be_attached(timeout=MAP_TIMEOUT)
    expect(page.locator("#dash-scope")).to_contain_text("社区")
    site.assert_clean()


def test_the_period_form_and_the_ranking_selector(site: Site) -> None:
    page = site.sign_in("leader", DESKTOP)
    open_dashboard(page)
    expect(page.locator("#custom-range")).to_be_hidden()
    page.locator("#f-period").select_option("custom")
    expect(page.locator("#custom-range")).to_be_visible()
    page.locator("input[name=start]").fill("2026-11-01")
    page.locator("input[name=end]").fill("2026-11-30")
    page.get_by_role("button", name="统计", exact=True).click()
    expect(page.locator("#dash-period")).to_have_text("2026年11月1日至11月30日")
    open_dashboard_after_navigation(page)
    page.locator("select.rank-by").select_option("closure_rate")
    expect(page.locator("#dept-rank-title")).to_contain_text("按办结率")
    expect(page).to_have_url(re.compile(r"rank_by=closure_rate"))
    site.assert_clean()


def open_dashboard_after_navigation(page: Page) -> None:
    expect(page.locator("#trend-chart[data-rendered=true] canvas")).to_have_count(1)
    expect(page.locator("#grid-choropleth[data-ready=true]")).to_be_attached(timeout=MAP_TIMEOUT)


def test_a_bad_period_is_reported_in_the_page(site: Site) -> None:
    page = site.sign_in("leader", DESKTOP)
    response = page.goto("/dashboard?period=2026-H3")
    assert response is not None and response.status == 422
    expect(page.locator("#period-error")).to_contain_text("无法识别的统计期间")
    site.assert_clean()


def test_the_dashboard_on_a_phone(site: Site, screenshots: Path) -> None:
    page = site.sign_in("leader", PHONE)
    open_dashboard(page)
    fits_phone(page)
    first, second = page.locator(".kpi-card").nth(0).bounding_box(), page.locator(".kpi-card").nth(1).bounding_box()
    assert first and second and second["y"] > first["y"] + first["height"] - 1, "the cards stack on a phone"
    expect(page.locator("#grid-choropleth path.leaflet-interactive")).to_have_count(COMMUNITIES_OF_THE_STREET)
    page.screenshot(path=screenshots / "dashboard-375.png", full_page=True)
    site.assert_clean()


def test_the_report_downloads_from_the_dashboard_keep_the_charts(site: Site, tmp_path: Path) -> None:
    page = site.sign_in("leader", DESKTOP)
    page.goto("/dashboard")
    expect(page.locator("#work-report-md")).to_have_text("Markdown（仅文本，无图表）")
    with page.expect_download() as download:
        page.locator("#work-report-zip").click()
    archive = tmp_path / download.value.suggested_filename
    download.value.save_as(archive)
    assert archive.name.endswith("工作总结.zip")
    bundle = zipfile.ZipFile(archive)
    (markdown,) = [name for name in bundle.namelist() if name.endswith(".md")]
    text = bundle.read(markdown).decode("utf-8")
    links = [unquote(target) for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)]
    assert links and sorted(bundle.namelist()) == sorted([markdown, *links])
    assert "存在问题 *（系统起草，请结合实际修改）*" in text and "下步打算 *（系统起草，请结合实际修改）*" in text
    with page.expect_download() as word:
        page.locator("#work-report").click()
    assert word.value.suggested_filename.endswith("工作总结.docx")
    site.assert_clean()


def test_a_grid_worker_is_refused(site: Site) -> None:
    page = site.sign_in("gridworker", PHONE)
    expect(page.locator('a[data-nav="dashboard"]')).to_have_count(0)
    response = page.goto("/dashboard")
    assert response is not None and response.status == 403
    expect(page.locator("#error-message")).to_contain_text("无权查看数据看板")
    site.assert_clean()
