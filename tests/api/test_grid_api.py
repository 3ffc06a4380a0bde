"""The JSON API and the landing page over HTTP, on a committed database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from civicgrid import migrate
from civicgrid.app import create_app
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.grid.import_boundaries import BoundaryOptions, import_boundaries
from civicgrid.grid.import_table import import_division_table
from civicgrid.importing import read_text_file
from civicgrid.org.actor import Actor
from civicgrid.settings import Settings

REAL = Path(__file__).parents[1] / "data" / "real"


def _client(database_url: str, tmp_path: Path, *, public: bool = True) -> Iterator[TestClient]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine, write=True)) as session:
        system = Actor.system("测试")
        text = read_text_file(REAL / "villages_4districts_2021.csv")
        import_division_table(session, system, text, source="villages", root_code="370215")
        streets = json.loads((REAL / "370215_jimo_streets_osm.geojson").read_text("utf-8"))
        import_boundaries(session, system, streets, source="osm", options=BoundaryOptions(crs="wgs84"))
    settings = Settings(var_dir=tmp_path, database_url=database_url, public_grid_map=public)
    with TestClient(create_app(settings, engine)) as client:
        yield client
    engine.dispose()


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(database_url, tmp_path)


def test_geojson_layers_by_level_and_crs(client: TestClient) -> None:
    streets = client.get("/api/v1/grid/geojson", params={"level": "street"}).json()
    assert len(streets["features"]) == 15
    chaohai = next(f for f in streets["features"] if f["properties"]["code"] == "370215002")
    assert chaohai["properties"]["name"] == "潮海街道"
    assert chaohai["properties"]["parent_code"] == "370215"
    assert chaohai["properties"]["level_label"] == "街道/乡镇"
    gcj = client.get("/api/v1/grid/geojson", params={"level": "street", "crs": "gcj02"}).json()
    assert gcj["civicgrid:crs"] == "gcj02"
    first_wgs = streets["features"][0]["geometry"]["coordinates"][0][0][0]
    first_gcj = gcj["features"][0]["geometry"]["coordinates"][0][0][0]
    assert first_gcj[0] - first_wgs[0] > 0.003  # shifted east, as GCJ-02 is around Qingdao
    refused = client.get("/api/v1/grid/geojson", params={"level": "galaxy"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "unknown_level"


def test_locate_inside_outside_and_refusals(client: TestClient) -> None:
    inside = client.get("/api/v1/grid/locate", params={"lon": 120.4535, "lat": 36.3887, "crs": "wgs84"}).json()
    gcj = wgs84_to_gcj02(120.4535, 36.3887)  # the same point for a map on GCJ-02 tiles
    assert (inside["lon_gcj02"], inside["lat_gcj02"]) == (
        pytest.approx(gcj[0], abs=1e-6),
        pytest.approx(gcj[1], abs=1e-6),
    )
    assert inside["inside"]
    assert [n["name"] for n in inside["path"]][:3] == ["山东省", "青岛市", "即墨区"]
    outside = client.get("/api/v1/grid/locate", params={"lon": 121.5, "lat": 36.0, "crs": "wgs84"}).json()
    assert not outside["inside"]
    assert outside["nearest"] is not None
    assert outside["distance_m"] > 10_000
    no_crs = client.get("/api/v1/grid/locate", params={"lon": 120.45, "lat": 36.39})
    assert no_crs.status_code == 422
    bad_crs = client.get("/api/v1/grid/locate", params={"lon": 120.45, "lat": 36.39, "crs": "epsg:3857"})
    assert bad_crs.status_code == 422
    assert bad_crs.json()["error"]["code"] == "unknown_crs"
    out_of_range = client.get("/api/v1/grid/locate", params={"lon": 420, "lat": 36.39, "crs": "wgs84"})
    assert out_of_range.status_code == 422
    assert "经纬度" in out_of_range.json()["error"]["message"]


def test_node_detail_and_not_found(client: TestClient) -> None:
    detail = client.get("/api/v1/grid/nodes/370215002").json()
    assert detail["nbs_code"] == "370215002000"
    assert detail["children"] > 0
    assert [n["code"] for n in detail["path"]] == ["37", "3702", "370215", "370215002"]
    missing = client.get("/api/v1/grid/nodes/999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"].startswith("找不到网格")


def test_levels_and_landing_page(client: TestClient) -> None:
    levels = {row["level"]: row for row in client.get("/api/v1/grid/levels").json()}
    assert levels["street"]["nodes"] == 17
    assert levels["street"]["with_boundary"] == 15
    page = client.get("/map")
    assert page.status_code == 200
    assert "网格地图" in page.text
    assert 'lang="zh-CN"' in page.text
    assert "<script>" not in page.text.split("map-config")[1].split("</script>")[0]
    headers = page.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"


def test_without_a_public_map_anonymous_visitors_see_no_grid(database_url: str, tmp_path: Path) -> None:
    for client in _client(database_url, tmp_path, public=False):
        assert client.get("/api/v1/grid/geojson").json()["features"] == []
        assert client.get("/api/v1/grid/levels").json() == []
        closed = client.get("/map").text
        assert "网格地图暂未对公众开放" in closed and "civicgrid grid" not in closed  # what to do, not a command
        assert client.get("/api/v1/grid/nodes/370215").status_code == 404
        locate = client.get("/api/v1/grid/locate", params={"lon": 120.45, "lat": 36.39, "crs": "wgs84"})
        assert locate.status_code == 403


def test_the_api_explorer_is_served_from_vendored_files(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page.text
    assert "<script>" not in page.text  # no inline script: the CSP stays strict
    assert client.get("/static/js/api-docs.js").status_code == 200
    assert client.get("/api/openapi.json").json()["info"]["title"].startswith("civicgrid")
