"""GET /api/v1/cases/points: the actor's cases as GeoJSON points for the map (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.api.conftest import people_with_tokens
from tests.conftest import postgres_url_or_skip

from civicgrid import migrate, timesource
from civicgrid.app import create_app
from civicgrid.cases import points as case_points
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.defaults import install_defaults
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Channel
from civicgrid.cases.tick import tick
from civicgrid.cases.workflow import Action
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.models import GridDuty
from civicgrid.grid.service import assign, create_node
from civicgrid.org.actor import Actor
from civicgrid.org.models import DepartmentKind
from civicgrid.org.roles import Role
from civicgrid.org.service import actor_for, create_department, get_user
from civicgrid.settings import Settings
from civicgrid.web.app_context import map_config

STREET = "370299001"
UNIT_WEST = "370299001000001"
UNIT_EAST = "370299001000002"
WEST_POINT = (120.421234567, 36.451234567)
OLD_WEST_POINT = (120.41, 36.42)
EAST_POINT = (120.47, 36.45)


@dataclass
class Site:
    client: TestClient
    tokens: dict[str, dict[str, str]]
    numbers: dict[str, str]  # what the case stands for → its number


def _engine_for(backend: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, str | None]:
    if backend == "sqlite":
        return make_engine(f"sqlite:///{tmp_path_factory.mktemp('case-map') / 'civicgrid.db'}"), None
    base = postgres_url_or_skip()
    schema = f"casemap_{uuid.uuid4().hex[:10]}"
    with make_engine(base).begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    return make_engine(f"{base}{separator}options=-csearch_path%3D{schema}"), schema


def _build_grid(session: Session, system: Actor) -> None:
    create_node(
        session, system, code="370299", name="海川区", level=GridLevel.DISTRICT, geometry=box(120.4, 36.4, 120.6, 36.5)
    )
    create_node(
        session,
        system,
        code=STREET,
        name="海川街道",
        level=GridLevel.STREET,
        parent_code="370299",
        geometry=box(120.4, 36.4, 120.5, 36.5),
    )
    for code, name, west in ((UNIT_WEST, "西片网格", 120.4), (UNIT_EAST, "东片网格", 120.45)):
        create_node(
            session,
            system,
            code=code,
            name=name,
            level=GridLevel.UNIT,
            parent_code=STREET,
            geometry=box(west, 36.4, west + 0.05, 36.5),
        )


def _build_people(session: Session, system: Actor) -> dict[str, dict[str, str]]:
    create_department(
        session,
        system,
        code="HC-ZHZX",
        name="海川街道社会治理服务中心",
        kind=DepartmentKind.COMMAND_CENTER,
        grid_code=STREET,
    )
    install_defaults(session, system)
    people: tuple[tuple[str, Role, str | None, list[str]], ...] = (
        ("hotline", Role.HOTLINE_OPERATOR, None, ["370299"]),
        ("dispatcher", Role.DISPATCHER, "HC-ZHZX", [STREET]),
        ("gridworker", Role.GRID_WORKER, None, []),
    )
    headers = people_with_tokens(session, system, people)
    assign(session, system, UNIT_WEST, "gridworker", GridDuty.GRID_WORKER)
    return headers


def _report(session: Session, settings: Settings, title: str, point: tuple[float, float] | None) -> str:
    hotline = actor_for(session, get_user(session, "hotline"))
    lon, lat = point if point else (None, None)
    request = IntakeRequest(
        channel=Channel.HOTLINE_12345, title=title, description=title, lon=lon, lat=lat, crs="wgs84" if point else None
    )
    return intake(session, hotline, request, settings=settings).case.number


def _build_cases(session: Session, settings: Settings) -> dict[str, str]:
    """An overdue case from a fortnight ago and a registered one in the west grid, a reported and a rejected one
    in the east grid, and one without coordinates (taken in by the district's hotline)."""
    with timesource.pinned(timesource.now() - dt.timedelta(days=14)):
        old = _report(session, settings, "两周前的垃圾堆积", OLD_WEST_POINT)
    numbers = {
        "west_overdue": old,
        "west_registered": _report(session, settings, "路灯<b>不亮</b>", WEST_POINT),
        "east_reported": _report(session, settings, "井盖缺失", EAST_POINT),
        "east_rejected": _report(session, settings, "重复反映", EAST_POINT),
        "unplaced": _report(session, settings, "电话反映噪声，未说明地点", None),
    }
    dispatcher = actor_for(session, get_user(session, "dispatcher"))
    register, reject = ActionInput(category_code="0101"), ActionInput(note="重复件")
    perform(session, dispatcher, numbers["west_registered"], Action.REGISTER, register, settings=settings)
    perform(session, dispatcher, numbers["east_rejected"], Action.REJECT, reject, settings=settings)
    tick(session, settings=settings)
    return numbers


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    engine, schema = _engine_for(request.param, tmp_path_factory)
    migrate.upgrade(engine)
    settings = Settings(var_dir=tmp_path_factory.mktemp("case-map-var"), scheduler_interval_seconds=0)
    with transaction(make_session_factory(engine, write=True)) as session:
        system = Actor.system("测试")
        _build_grid(session, system)
        tokens = _build_people(session, system)
        numbers = _build_cases(session, settings)
    with TestClient(create_app(settings, engine)) as client:
        yield Site(client, tokens, numbers)
    if schema is not None:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def points(site: Site, who: str, **params: Any) -> dict[str, Any]:
    response = site.client.get("/api/v1/cases/points", params=params, headers=site.tokens[who])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def numbers_in(collection: dict[str, Any]) -> set[str]:
    return {feature["properties"]["number"] for feature in collection["features"]}


def feature_of(collection: dict[str, Any], number: str) -> dict[str, Any]:
    return next(f for f in collection["features"] if f["properties"]["number"] == number)


def test_the_dispatcher_gets_the_open_cases_of_her_street_as_points(site: Site) -> None:
    collection = points(site, "dispatcher")
    n = site.numbers
    assert collection["type"] == "FeatureCollection"
    assert numbers_in(collection) == {n["west_overdue"], n["west_registered"], n["east_reported"]}
    # the call without a place waits at the district, in every street command centre's 待落图 pool
    assert (collection["placed"], collection["unplaced"], collection["truncated"]) == (3, 1, False)
    assert "civicgrid:crs" not in collection
    registered = feature_of(collection, n["west_registered"])
    assert registered["geometry"] == {"type": "Point", "coordinates": [120.421235, 36.451235]}  # 6 decimals
    assert registered["properties"] == {
        "number": n["west_registered"],
        "title": "路灯<b>不亮</b>",  # text as typed; the page puts it in a text node
        "state": "registered",
        "state_label": "待派遣",
        "overdue": False,
        "due_soon": False,
        "category": registered["properties"]["category"],
    }
    assert registered["properties"]["category"]
    assert feature_of(collection, n["east_reported"])["properties"]["category"] is None


def test_points_are_newest_first(site: Site) -> None:
    features = points(site, "dispatcher")["features"]
    assert features[-1]["properties"]["number"] == site.numbers["west_overdue"]


def test_a_grid_worker_gets_only_her_grids_cases(site: Site) -> None:
    collection = points(site, "gridworker")
    assert numbers_in(collection) == {site.numbers["west_overdue"], site.numbers["west_registered"]}
    assert points(site, "gridworker", grid=UNIT_EAST)["features"] == []


def test_cases_without_coordinates_are_counted_not_drawn(site: Site) -> None:
    collection = points(site, "hotline")
    assert site.numbers["unplaced"] not in numbers_in(collection)
    assert (collection["placed"], collection["unplaced"]) == (3, 1)
    assert points(site, "hotline", overdue=True)["unplaced"] == 0  # the count follows the filters


def test_anonymous_visitors_and_bad_tokens_get_no_points(site: Site) -> None:
    anonymous = site.client.get("/api/v1/cases/points")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "sign_in_required"
    assert "features" not in anonymous.json()
    forged = site.client.get("/api/v1/cases/points", headers={"Authorization": "Bearer cg_forged"})
    assert forged.status_code == 401


def test_points_in_gcj02_are_shifted_like_the_tiles(site: Site) -> None:
    collection = points(site, "dispatcher", crs="gcj02")
    assert collection["civicgrid:crs"] == "gcj02"
    lon, lat = feature_of(collection, site.numbers["west_registered"])["geometry"]["coordinates"]
    expected = wgs84_to_gcj02(*WEST_POINT)
    assert lon == pytest.approx(expected[0], abs=1e-6) and lat == pytest.approx(expected[1], abs=1e-6)
    assert abs(lon - WEST_POINT[0]) > 1e-4  # a real shift of a few hundred metres, not WGS-84 relabelled
    assert points(site, "dispatcher", crs="高德")["civicgrid:crs"] == "gcj02"


def test_an_unknown_crs_is_refused_in_chinese(site: Site) -> None:
    response = site.client.get("/api/v1/cases/points", params={"crs": "epsg:3857"}, headers=site.tokens["dispatcher"])
    assert response.status_code == 422
    assert "投影坐标系" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"overdue": True}, {"west_overdue"}),
        ({"overdue": False}, {"west_registered", "east_reported"}),
        ({"state": "registered"}, {"west_registered"}),
        ({"state": ["reported", "rejected"]}, {"west_overdue", "east_reported", "east_rejected"}),
        ({"state": "rejected"}, {"east_rejected"}),
        ({"open_only": False}, {"west_overdue", "west_registered", "east_reported", "east_rejected"}),
        ({"grid": UNIT_EAST}, {"east_reported"}),
        ({"category": "01"}, {"west_registered"}),
    ],
)
def test_filters_match_the_case_list(site: Site, params: dict[str, Any], expected: set[str]) -> None:
    assert numbers_in(points(site, "dispatcher", **params)) == {site.numbers[key] for key in expected}


def test_due_soon_filter(site: Site) -> None:
    soon = points(site, "dispatcher", due_soon=True)
    assert all(f["properties"]["due_soon"] for f in soon["features"])
    not_soon = points(site, "dispatcher", due_soon=False)
    assert numbers_in(soon) | numbers_in(not_soon) == numbers_in(points(site, "dispatcher"))


def test_an_unknown_state_is_refused(site: Site) -> None:
    response = site.client.get("/api/v1/cases/points", params={"state": "lost"}, headers=site.tokens["dispatcher"])
    assert response.status_code == 422


def test_too_many_points_are_cut_to_the_newest_and_flagged(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(case_points, "POINT_CAP", 2)
    collection = points(site, "dispatcher")
    assert collection["truncated"] is True and collection["placed"] == 3
    assert site.numbers["west_overdue"] not in numbers_in(collection)  # the oldest is the one left out


def test_the_map_page_asks_for_points_in_the_tiles_system(tmp_path: Path) -> None:
    levels = [(GridLevel.UNIT, (2, 2))]
    plain = map_config(Settings(var_dir=tmp_path), levels, cases=True)
    assert plain["crs"] == "wgs84" and plain["tiles"] is None
    assert plain["cases"] == {"url": "/api/v1/cases/points", "cap": case_points.POINT_CAP}
    amap = Settings(var_dir=tmp_path, map_tile_url="https://tiles.example.cn/{z}/{x}/{y}.png", map_tile_crs="gcj02")
    tiled = map_config(amap, levels, cases=True)
    assert tiled["crs"] == "gcj02" and tiled["tiles"]["url"].startswith("https://tiles.example.cn/")
    assert map_config(amap, levels)["cases"] is None  # a visitor's map: the grid only
