"""Base tiles on the small maps: with a GCJ-02 tile URL configured (高德 style), the phone's location picker and a
case's mini map draw the tiles, and the grid, the picked point and the case's marker are in the tiles' system so
that they line up — the picked point is sent as GCJ-02 and still lands in the right grid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import Response
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from tests.e2e.conftest import served_demo
from tests.e2e.helpers import PHONE, Site, click_map_at, grid_name
from tests.web.conftest import point_in_grid_of

from civicgrid.cases.models import Case
from civicgrid.db import make_engine, make_session_factory
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.settings import Settings

TILE = (Path(__file__).parent.parent / "data" / "photo.png").read_bytes()
MARKER_AT = """
(id) => {
  const map = document.getElementById(id).civicgridMap;
  let found = null;
  map.eachLayer((layer) => { if (layer instanceof L.Marker) { found = layer.getLatLng(); } });
  return found && {lon: found.lng, lat: found.lat};
}
"""


def tiles(app: FastAPI) -> None:
    async def tile(z: int, x: int, y: int) -> Response:
        return Response(TILE, media_type="image/png")

    app.add_api_route("/test-tiles/{z}/{x}/{y}.png", tile, include_in_schema=False)


@pytest.fixture(scope="module")
def tiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    var_dir = tmp_path_factory.mktemp("tiled")
    settings = Settings(
        var_dir=var_dir,
        database_url=f"sqlite:///{var_dir / 'civicgrid.db'}",
        map_tile_url="/test-tiles/{z}/{x}/{y}.png",
        map_tile_crs="gcj02",
    )
    with served_demo(settings, tiles) as url:
        yield url, settings


@pytest.fixture
def site(browser: Browser, tiled: tuple[str, Settings]) -> Iterator[Site]:
    site = Site(browser, tiled[0])
    yield site
    site.close()


def test_the_picker_draws_the_tiles_and_sends_the_point_in_their_system(
    site: Site, tiled: tuple[str, Settings]
) -> None:
    engine = make_engine(tiled[1].effective_database_url)
    here = point_in_grid_of(engine, "gridworker")
    worker = site.sign_in("gridworker", PHONE)
    worker.goto("/m/report")
    lon, lat = wgs84_to_gcj02(here.lon, here.lat)  # where her grid is drawn on GCJ-02 tiles
    click_map_at(worker, "pick-map", lon, lat)
    expect(worker.locator("#pick-map .leaflet-tile-loaded").first).to_be_visible()
    assert worker.locator("input[name=crs]").input_value() == "gcj02"
    assert float(worker.locator("input[name=lon]").input_value()) == pytest.approx(lon, abs=2e-5)
    expect(worker.locator("#pick-result")).to_contain_text(grid_name(engine, here.code))
    site.assert_clean()


def test_a_cases_mini_map_puts_its_marker_where_the_tiles_have_it(site: Site, tiled: tuple[str, Settings]) -> None:
    engine = make_engine(tiled[1].effective_database_url)
    with make_session_factory(engine)() as session:
        case = session.scalars(select(Case).where(Case.lon.is_not(None)).order_by(Case.id)).first()
        assert case is not None and case.lon is not None and case.lat is not None
    dispatcher = site.sign_in("admin")
    dispatcher.goto(f"/cases/{case.number}")
    expect(dispatcher.locator("#case-map[data-ready=true]")).to_be_attached(timeout=15_000)
    expect(dispatcher.locator("#case-map .leaflet-tile-loaded").first).to_be_visible()
    marker = dispatcher.evaluate(MARKER_AT, "case-map")
    lon, lat = wgs84_to_gcj02(case.lon, case.lat)
    assert marker == {"lon": pytest.approx(lon, abs=1e-6), "lat": pytest.approx(lat, abs=1e-6)}
    site.assert_clean()
