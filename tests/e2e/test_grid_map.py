"""The landing page: the demo district's grid on a map, click-to-locate, on a command-centre and a phone screen."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

LAYER_COUNT_JS = """
() => {
  const counts = {};
  window.civicgridMap.eachLayer((layer) => {
    if (layer.civicgridLevel) { counts[layer.civicgridLevel] = layer.getLayers().length; }
  });
  return counts;
}
"""


def _open_map(page: Page, base_url: str) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda response: errors.append(f"{response.status} {response.url}") if response.status >= 400 else None,
    )
    page.goto(base_url + "/map")
    expect(page.locator("#grid-map[data-ready=true]")).to_be_attached(timeout=15_000)
    return errors


def test_the_map_shows_every_level_of_the_demo_grid(page: Page, demo_server: str, screenshots: Path) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})
    errors = _open_map(page, demo_server)
    counts = page.evaluate(LAYER_COUNT_JS)
    assert counts == {"district": 1, "street": 7, "community": 63, "unit": 218}
    expect(page.locator("#level-counts tr[data-level=unit] td").nth(1)).to_have_text("218")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.screenshot(path=screenshots / "grid-map-1920.png")
    assert errors == []


def test_clicking_the_map_names_the_unit_grid_and_its_path(page: Page, demo_server: str, screenshots: Path) -> None:
    page.set_viewport_size({"width": 1366, "height": 800})
    _open_map(page, demo_server)
    first_unit_centre = page.evaluate(
        """() => {
          let centre = null;
          window.civicgridMap.eachLayer((layer) => {
            if (layer.civicgridLevel === 'unit' && !centre) {
              const feature = layer.getLayers()[0];
              window.civicgridMap.fitBounds(feature.getBounds());
              const c = feature.getBounds().getCenter();
              centre = window.civicgridMap.latLngToContainerPoint(c);
            }
          });
          return {x: centre.x, y: centre.y};
        }"""
    )
    page.locator("#grid-map").click(position=first_unit_centre)
    result = page.locator("#locate-result")
    expect(result).to_contain_text("网格单元")
    expect(result).to_contain_text("海川区 › 海川街道")
    page.screenshot(path=screenshots / "grid-map-locate.png")


def test_clicking_outside_the_grid_says_so_and_names_the_nearest(page: Page, demo_server: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 800})
    _open_map(page, demo_server)
    page.evaluate("() => { window.civicgridMap.setZoom(8, {animate: false}); }")
    page.locator("#grid-map").click(position={"x": 150, "y": 150})  # clear of the zoom control
    expect(page.locator("#locate-result")).to_contain_text("不在任何网格内")
    expect(page.locator("#locate-result")).to_contain_text("最近")


def test_the_map_page_fits_a_375px_phone(page: Page, demo_server: str, screenshots: Path) -> None:
    page.set_viewport_size({"width": 375, "height": 812})
    errors = _open_map(page, demo_server)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    expect(page.locator("#grid-map")).to_be_visible()
    expect(page.locator("#level-counts")).to_be_visible()
    page.screenshot(path=screenshots / "grid-map-375.png", full_page=True)
    assert errors == []


def test_grid_names_in_tooltips_are_text_nodes_not_html(page: Page, demo_server: str) -> None:
    _open_map(page, demo_server)
    kinds = page.evaluate(
        """() => {
          const kinds = new Set();
          window.civicgridMap.eachLayer((layer) => {
            if (layer.getTooltip && layer.getTooltip()) { kinds.add(layer.getTooltip().getContent() instanceof Node); }
          });
          return Array.from(kinds);
        }"""
    )
    assert kinds == [True]


def test_the_api_explorer_renders_offline(page: Page, demo_server: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(demo_server + "/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("civicgrid", timeout=15_000)
    expect(page.locator(".opblock-tag", has_text="登记信息")).to_be_visible()
    expect(page.locator(".opblock-summary-description", has_text="登记信息统计")).to_be_visible()
    text = page.locator(".swagger-ui").inner_text()
    assert "Registry Stats" not in text and "Successful Response" not in text
    expect(page.locator(".swagger-ui section.models")).to_have_count(0)  # class names are not for readers
    assert errors == []
