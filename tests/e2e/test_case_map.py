"""The case map (/map signed in) and the location picker of the forms, in Debian's chromium over the demo district."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from civicgrid.cases.models import CaseState
from civicgrid.demo.district import DEMO_LOGINS

PASSWORDS = {login.username: login.password for login in DEMO_LOGINS}
OPEN_STATES = [state.value for state in CaseState if state.is_open]

MARKER_COUNT_JS = "() => window.civicgridMap.civicgridCases.getLayers().length"
# Once the map has settled, the clusters and the single markers on screen hold every case exactly once.
SETTLED_JS = """
(expected) => {
  let clustered = 0, clusters = 0, single = 0;
  window.civicgridMap.eachLayer((layer) => {
    if (layer instanceof L.MarkerCluster) { clusters += 1; clustered += layer.getChildCount(); }
    else if (layer.civicgridCase) { single += 1; }
  });
  return clusters > 0 && clustered + single === expected;
}
"""


def _sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    page.locator("form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _watch(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda response: errors.append(f"{response.status} {response.url}") if response.status >= 400 else None,
    )
    return errors


def _open_case_map(page: Page, base_url: str, query: str = "") -> None:
    page.goto(base_url + "/map" + query)
    expect(page.locator("#grid-map[data-ready=true]")).to_be_attached(timeout=15_000)
    expect(page.locator("#grid-map[data-cases-ready=true]")).to_be_attached(timeout=15_000)


def _open_case_total(page: Page, base_url: str) -> int:
    """The actor's open cases that have a point, according to the case list API (the same scope, another endpoint;
    a report with only an address, waiting to be placed, has no marker)."""
    query = "&".join(f"state={state}" for state in OPEN_STATES)
    response = page.request.get(f"{base_url}/api/v1/cases?{query}&limit=500")
    assert response.ok
    body = response.json()
    assert body["total"] == len(body["items"])
    return sum(1 for item in body["items"] if item["lon"] is not None)


def test_the_dispatcher_sees_the_open_cases_clustered(page: Page, demo_server: str, screenshots: Path) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})
    errors = _watch(page)
    _sign_in(page, demo_server, "dispatcher")
    _open_case_map(page, demo_server)
    expected = _open_case_total(page, demo_server)
    assert expected > 0
    assert page.evaluate(MARKER_COUNT_JS) == expected
    expect(page.locator("#grid-map")).to_have_attribute("data-case-count", str(expected))
    page.wait_for_function(SETTLED_JS, arg=expected, timeout=10_000)  # clustered at the district's zoom
    expect(page.locator("#case-summary")).to_contain_text(f"地图上显示 {expected} 件案件")
    expect(page.locator("#case-legend")).to_contain_text("待立案")
    page.screenshot(path=screenshots / "case-map-1920.png")
    assert errors == []


def test_a_marker_popup_links_to_its_case(page: Page, demo_server: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 800})
    _sign_in(page, demo_server, "dispatcher")
    _open_case_map(page, demo_server)
    case: dict[str, Any] = page.evaluate(
        """() => new Promise((resolve) => {
          const group = window.civicgridMap.civicgridCases;
          const marker = group.getLayers()[0];
          group.zoomToShowLayer(marker, () => {
            marker.getElement().id = 'picked-marker';
            resolve(marker.civicgridCase);
          });
        })"""
    )
    page.locator("#picked-marker").click()
    popup = page.locator(".leaflet-popup .case-popup")
    expect(popup).to_be_visible()
    expect(popup.locator(".case-title")).to_have_text(case["title"])
    expect(popup.locator(".badge").first).to_have_text(case["state_label"])
    link = popup.locator("a.case-link")
    expect(link).to_have_attribute("href", f"/cases/{case['number']}")
    link.click()
    expect(page).to_have_url(re.compile(rf"/cases/{case['number']}$"))


def test_popups_are_built_from_text_nodes(page: Page, demo_server: str) -> None:
    _sign_in(page, demo_server, "dispatcher")
    _open_case_map(page, demo_server)
    kinds = page.evaluate(
        """() => {
          const layer = window.civicgridMap.civicgridCases.getLayers()[0];
          const content = layer.getPopup().getContent();
          const built = typeof content === 'function' ? content(layer) : content;
          return [built instanceof Node, built.querySelectorAll('script, img, iframe').length];
        }"""
    )
    assert kinds == [True, 0]


def test_the_grid_worker_sees_fewer_cases_than_the_dispatcher(page: Page, demo_server: str) -> None:
    _sign_in(page, demo_server, "dispatcher")
    _open_case_map(page, demo_server)
    dispatcher_count = page.evaluate(MARKER_COUNT_JS)
    page.context.clear_cookies()
    _sign_in(page, demo_server, "gridworker")
    _open_case_map(page, demo_server)
    worker_count = page.evaluate(MARKER_COUNT_JS)
    assert 0 < worker_count < dispatcher_count
    assert worker_count == _open_case_total(page, demo_server)


CASES_ON_MAP_JS = "() => window.civicgridMap.civicgridCases.getLayers().map((marker) => marker.civicgridCase)"


def _cases_on_map(page: Page) -> list[dict[str, Any]]:
    expect(page.locator("#grid-map[data-cases-ready=true]")).to_be_attached(timeout=15_000)
    cases: list[dict[str, Any]] = page.evaluate(CASES_ON_MAP_JS)
    return cases


def test_filters_reload_the_markers_and_stay_in_the_address(page: Page, demo_server: str) -> None:
    # The demo's 超期 flags are raised by the server's scheduler a minute after it starts: the assertions hold
    # whether or not that has happened yet.
    _sign_in(page, demo_server, "dispatcher")
    _open_case_map(page, demo_server)
    everything = page.evaluate(MARKER_COUNT_JS)
    page.select_option("#case-state", "reported")
    expect(page).to_have_url(re.compile(r"/map\?state=reported$"))
    reported = _cases_on_map(page)
    assert 0 < len(reported) < everything
    assert {case["state"] for case in reported} == {"reported"}
    page.select_option("#case-deadline", "overdue")
    expect(page).to_have_url(re.compile(r"/map\?state=reported&deadline=overdue$"))
    assert all(case["overdue"] and case["state"] == "reported" for case in _cases_on_map(page))
    page.select_option("#case-deadline", "normal")
    assert all(not case["overdue"] and not case["due_soon"] for case in _cases_on_map(page))
    page.select_option("#case-state", "all")
    assert any(case["state"] not in OPEN_STATES for case in _cases_on_map(page)), "closed cases are never overdue"
    page.reload()  # the address keeps the filters: the server selects them again
    expect(page.locator("#case-state")).to_have_value("all")
    expect(page.locator("#case-deadline")).to_have_value("normal")
    assert all(not case["overdue"] for case in _cases_on_map(page))


def test_colouring_by_deadline_switches_the_legend(page: Page, demo_server: str) -> None:
    _sign_in(page, demo_server, "dispatcher")
    _open_case_map(page, demo_server)
    expect(page.locator("#map-page")).to_have_class(re.compile(r"\bcolour-by-state\b"))
    page.get_by_label("按时限（超期/临期）").check()
    expect(page.locator("#map-page")).to_have_class(re.compile(r"\bcolour-by-deadline\b"))
    expect(page.locator("#case-legend")).to_contain_text("超期")
    expect(page.locator("#case-legend")).to_contain_text("正常")
    red = page.evaluate(
        """() => {
          const pin = document.querySelector('#case-legend .case-pin.d-overdue');
          return getComputedStyle(pin).backgroundColor;
        }"""
    )
    assert red == "rgb(211, 47, 47)"


def test_the_case_map_fits_a_375px_phone(page: Page, demo_server: str, screenshots: Path) -> None:
    page.set_viewport_size({"width": 375, "height": 812})
    errors = _watch(page)
    _sign_in(page, demo_server, "dispatcher")
    _open_case_map(page, demo_server)
    page.wait_for_function(SETTLED_JS, arg=page.evaluate(MARKER_COUNT_JS), timeout=10_000)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    expect(page.locator("#grid-map")).to_be_visible()
    expect(page.locator("#case-filters")).to_be_visible()
    page.screenshot(path=screenshots / "case-map-375.png", full_page=True)
    assert errors == []


def test_visitors_get_the_grid_but_no_cases(page: Page, demo_server: str) -> None:
    page.goto(demo_server + "/map")
    expect(page.locator("#grid-map[data-ready=true]")).to_be_attached(timeout=15_000)
    expect(page.locator("#case-filters")).to_have_count(0)
    assert page.evaluate("() => window.civicgridMap.civicgridCases === undefined")
    assert page.request.get(demo_server + "/api/v1/cases/points").status == 401


# --- the location picker of the forms (js/pick-location.js), on the public report form -----------------------

UNIT_CENTRE_JS = """
() => {
  const map = window.civicgridPickMap;
  let unit = null;
  map.eachLayer((layer) => {
    if (!unit && layer.feature && layer.feature.properties.level === 'unit') { unit = layer; }
  });
  map.fitBounds(unit.getBounds(), {animate: false});
  const centre = unit.getBounds().getCenter();
  const point = map.latLngToContainerPoint(centre);
  return {x: point.x, y: point.y, lon: centre.lng, lat: centre.lat};
}
"""


def _open_report_form(page: Page, base_url: str) -> None:
    response = page.goto(base_url + "/public/report")
    assert response is not None
    if response.status == 404:
        pytest.skip("/public/report does not exist yet: the picker is tested through it")
    expect(page.locator("#pick-map[data-ready=true]")).to_be_attached(timeout=15_000)


def test_the_picker_fills_the_form_and_names_the_grid(page: Page, demo_server: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    errors = _watch(page)
    _open_report_form(page, demo_server)
    unit = page.evaluate(UNIT_CENTRE_JS)
    page.locator("#pick-map").click(position={"x": unit["x"], "y": unit["y"]})
    expect(page.locator("#pick-result")).to_contain_text("海川区 › ")
    lon, lat = page.input_value("input[name=lon]"), page.input_value("input[name=lat]")
    assert re.fullmatch(r"\d+\.\d{6}", lon) and re.fullmatch(r"\d+\.\d{6}", lat)
    assert abs(float(lon) - unit["lon"]) < 1e-3 and abs(float(lat) - unit["lat"]) < 1e-3
    assert page.input_value("input[name=crs]") == "wgs84"
    page.evaluate("() => window.civicgridPickMap.setZoom(7, {animate: false})")
    page.locator("#pick-map").click(position={"x": 60, "y": 60})
    expect(page.locator("#pick-result")).to_contain_text("不在任何网格内，最近：")
    assert errors == []


def test_the_picker_uses_the_current_position(page: Page, context: BrowserContext, demo_server: str) -> None:
    _open_report_form(page, demo_server)
    unit = page.evaluate(UNIT_CENTRE_JS)
    context.grant_permissions(["geolocation"], origin=demo_server)
    context.set_geolocation({"latitude": unit["lat"], "longitude": unit["lon"]})
    page.get_by_role("button", name="使用当前位置").click()
    expect(page.locator("#pick-result")).to_contain_text("海川区 › ")
    assert page.input_value("input[name=lon]") == f"{unit['lon']:.6f}"
    assert page.input_value("input[name=lat]") == f"{unit['lat']:.6f}"


def test_a_form_shown_again_keeps_the_marker(page: Page, demo_server: str) -> None:
    _open_report_form(page, demo_server)
    unit = page.evaluate(UNIT_CENTRE_JS)
    page.locator("#pick-map").click(position={"x": unit["x"], "y": unit["y"]})
    expect(page.locator("#pick-result")).to_contain_text("海川区 › ")
    lon, lat = page.input_value("input[name=lon]"), page.input_value("input[name=lat]")
    page.evaluate("() => document.querySelectorAll('[required]').forEach((field) => field.removeAttribute('required'))")
    page.locator("#public-report-form [type=submit]").first.click()  # no description: refused, shown again
    expect(page.locator(".field-error").first).to_be_visible()
    expect(page.locator("#pick-map[data-ready=true]")).to_be_attached(timeout=15_000)
    assert page.input_value("input[name=lon]") == lon
    marker = page.evaluate(
        """() => {
          let found = null;
          window.civicgridPickMap.eachLayer((layer) => {
            if (layer instanceof L.Marker) { found = layer.getLatLng(); }
          });
          return found && {lon: found.lng, lat: found.lat};
        }"""
    )
    assert marker == {"lon": pytest.approx(float(lon), abs=1e-6), "lat": pytest.approx(float(lat), abs=1e-6)}
    expect(page.locator("#pick-result")).to_contain_text("海川区 › ")


# --- the case's mini map (js/mini-map.js), on the case page --------------------------------------------------


def test_the_case_page_shows_the_case_on_its_highlighted_grid(page: Page, demo_server: str) -> None:
    errors = _watch(page)
    _sign_in(page, demo_server, "dispatcher")
    _open_case_map(page, demo_server)
    number = page.evaluate("() => window.civicgridMap.civicgridCases.getLayers()[0].civicgridCase.number")
    response = page.goto(f"{demo_server}/cases/{number}")
    assert response is not None and response.ok
    mini = page.locator(".mini-map")
    if mini.count() == 0:
        pytest.skip("the case page has no mini map yet")
    expect(mini).to_have_attribute("data-ready", "true", timeout=15_000)
    drawn = page.evaluate(
        """() => {
          const element = document.querySelector('.mini-map');
          const found = {marker: null, grid: null, label: null};
          element.civicgridMap.eachLayer((layer) => {
            if (layer instanceof L.Marker) {
              found.marker = layer.getLatLng();
              const content = layer.getTooltip() && layer.getTooltip().getContent();
              found.label = content instanceof Node ? content.textContent : null;
            }
            if (layer.feature) { found.grid = layer.feature.properties.code; }
          });
          return {...found, lon: Number(element.dataset.lon), lat: Number(element.dataset.lat),
                  code: element.dataset.gridCode, title: element.dataset.label};
        }"""
    )
    assert drawn["marker"] == {"lat": drawn["lat"], "lng": drawn["lon"]}
    assert drawn["label"] == drawn["title"]
    assert drawn["code"] and drawn["grid"] == drawn["code"]
    assert errors == []


def test_a_capped_answer_is_drawn_and_announced(page: Page, demo_server: str) -> None:
    """The API's cap of points, all drawn (clustered) and the cut announced: a large district stays usable."""
    cap = 20_000
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [120.40 + (i % 200) * 0.0005, 36.50 + (i // 200) * 0.0004]},
            "properties": {
                "number": f"2026{i:010d}",
                "title": f"<img src=x>测试案件{i}",
                "state": "reported",
                "state_label": "待立案",
                "overdue": i % 7 == 0,
                "due_soon": i % 11 == 0,
                "category": None,
            },
        }
        for i in range(cap)
    ]
    body = {"type": "FeatureCollection", "features": features, "placed": 31_234, "unplaced": 17, "truncated": True}
    page.route("**/api/v1/cases/points*", lambda route: route.fulfill(json=body))
    _sign_in(page, demo_server, "dispatcher")
    page.goto(demo_server + "/map")
    expect(page.locator("#grid-map[data-cases-ready=true]")).to_be_attached(timeout=30_000)
    assert page.evaluate(MARKER_COUNT_JS) == cap
    summary = page.locator("#case-summary")
    expect(summary).to_contain_text("另有 17 件没有坐标")
    expect(summary).to_contain_text("只显示最新的 20,000 件（共 31,234 件）")
    assert page.locator(".leaflet-marker-pane img").count() == 0  # case text never became markup
