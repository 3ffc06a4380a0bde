"""GET /api/v1/kpi and /api/v1/kpi/indicators over HTTP with bearer tokens, on a committed database (SQLite and
PostgreSQL): cases taken through the real flow at pinned times in 2025-H1, 2024-H2 (环比) and 2024-H1 (同比)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
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
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.defaults import install_defaults
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Channel, Rating
from civicgrid.cases.workflow import Action
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.service import create_node
from civicgrid.kpi.metrics import INDICATORS
from civicgrid.kpi.periods import parse_period
from civicgrid.kpi.service import KpiQuery, compare
from civicgrid.org.actor import Actor
from civicgrid.org.models import DepartmentKind
from civicgrid.org.roles import Role
from civicgrid.org.service import actor_for, create_department, get_user
from civicgrid.settings import Settings

BEIJING = dt.timezone(dt.timedelta(hours=8))
DISTRICT, STREET, OTHER_STREET = "370299", "370299001", "370299002"
NORTH, SOUTH = "370299001001", "370299001002"
IN_NORTH, IN_SOUTH = (120.42, 36.47), (120.42, 36.42)


# --- cases through the real flow, at pinned times (shared with tests/web/test_dashboard.py) ----------------------


@dataclass(frozen=True)
class Story:
    """One case: reported at ``reported`` and taken ``steps`` steps along register → dispatch → accept → submit →
    verify → rate, one working hour apart."""

    reported: dt.datetime
    point: tuple[float, float]
    steps: int = 0
    channel: Channel = Channel.HOTLINE_12345
    category: str = "0101"
    department: str = "CGJ"
    assist: tuple[str, ...] = ()
    rating: Rating = Rating.SATISFIED


@dataclass(frozen=True)
class Crew:
    """Who takes a case through the flow: a hotline operator, a dispatcher and a department's staff member."""

    hotline: str
    dispatcher: str
    handler: str


def run_story(session: Session, settings: Settings, crew: Crew, story: Story) -> str:
    people = {
        name: actor_for(session, get_user(session, name)) for name in (crew.hotline, crew.dispatcher, crew.handler)
    }
    lon, lat = story.point
    with timesource.pinned(story.reported):
        request = IntakeRequest(
            channel=story.channel,
            title="统计测试案件",
            description="统计测试案件",
            lon=lon,
            lat=lat,
            crs="wgs84",
            source_id=f"kpi-{uuid.uuid4().hex}",
        )
        number = intake(session, people[crew.hotline], request, settings=settings).case.number
    steps: list[tuple[str, Action, ActionInput]] = [
        (crew.dispatcher, Action.REGISTER, ActionInput(category_code=story.category)),
        (
            crew.dispatcher,
            Action.DISPATCH,
            ActionInput(main_department=story.department, assist_departments=list(story.assist) or None),
        ),
        (crew.handler, Action.ACCEPT, ActionInput()),
        (crew.handler, Action.SUBMIT, ActionInput(note="已处置")),
        (crew.dispatcher, Action.VERIFY_PASS, ActionInput(note="核查通过")),
        (crew.hotline, Action.RATE, ActionInput(rating=story.rating)),
    ]
    for hours, (who, action, params) in enumerate(steps[: story.steps], start=1):
        with timesource.pinned(story.reported + dt.timedelta(hours=hours)):
            perform(session, people[who], number, action, params, settings=settings)
    return number


def monday_morning(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 9, 0, tzinfo=BEIJING)


# --- the site ----------------------------------------------------------------------------------------------------

CREW = Crew(hotline="hotline", dispatcher="dispatcher", handler="cgj")
STORIES = {
    # 2025-H1 in the north community: closed and satisfied, closed and unsatisfied, a linked case in the works,
    # one only registered; in the south community one closed basically satisfied and one just reported.
    "north_satisfied": Story(monday_morning(2025, 3, 10), IN_NORTH, steps=6),
    "north_unsatisfied": Story(monday_morning(2025, 3, 10), IN_NORTH, steps=6, rating=Rating.UNSATISFIED),
    "north_linked": Story(monday_morning(2025, 4, 14), IN_NORTH, steps=3, assist=("HC-CG",), category="0201"),
    "north_registered": Story(monday_morning(2025, 5, 12), IN_NORTH, steps=1, channel=Channel.HOTLINE_8890),
    "south_basically": Story(monday_morning(2025, 6, 9), IN_SOUTH, steps=6, rating=Rating.BASICALLY),
    "south_reported": Story(monday_morning(2025, 6, 9), IN_SOUTH, channel=Channel.HOTLINE_8890),
    # 2024-H2 (环比): three cases; 2024-H1 (同比): two.
    "previous_1": Story(monday_morning(2024, 9, 9), IN_NORTH, steps=5),
    "previous_2": Story(monday_morning(2024, 9, 9), IN_SOUTH),
    "previous_3": Story(monday_morning(2024, 10, 14), IN_SOUTH),
    "last_year_1": Story(monday_morning(2024, 3, 11), IN_NORTH),
    "last_year_2": Story(monday_morning(2024, 3, 11), IN_NORTH, steps=5),
}


@dataclass
class Site:
    client: TestClient
    engine: Engine
    settings: Settings
    tokens: dict[str, dict[str, str]]
    numbers: dict[str, str]


def _engine_for(backend: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, str | None]:
    if backend == "sqlite":
        return make_engine(f"sqlite:///{tmp_path_factory.mktemp('kpi-api') / 'civicgrid.db'}"), None
    base = postgres_url_or_skip()
    schema = f"kpiapi_{uuid.uuid4().hex[:10]}"
    with make_engine(base).begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    return make_engine(f"{base}{separator}options=-csearch_path%3D{schema}"), schema


GRID = (  # code, name, level, parent, (west, south, east, north)
    (DISTRICT, "海川区", GridLevel.DISTRICT, None, (120.4, 36.4, 120.6, 36.5)),
    (STREET, "海川街道", GridLevel.STREET, DISTRICT, (120.4, 36.4, 120.5, 36.5)),
    (OTHER_STREET, "东城街道", GridLevel.STREET, DISTRICT, (120.5, 36.4, 120.6, 36.5)),
    (NORTH, "泰和社区", GridLevel.COMMUNITY, STREET, (120.4, 36.45, 120.5, 36.5)),
    (SOUTH, "华山社区", GridLevel.COMMUNITY, STREET, (120.4, 36.4, 120.5, 36.45)),
)
PEOPLE: tuple[tuple[str, Role, str | None, list[str]], ...] = (
    ("hotline", Role.HOTLINE_OPERATOR, None, [DISTRICT]),
    ("dispatcher", Role.DISPATCHER, "HC-ZHZX", [STREET]),
    ("leader", Role.LEADER, "HC", [STREET]),
    ("other-leader", Role.LEADER, None, [OTHER_STREET]),
    ("cgj", Role.DEPT_STAFF, "CGJ", []),
    ("gridworker", Role.GRID_WORKER, "HC", []),
    ("resident", Role.RESIDENT, None, []),
)


def _build(session: Session, settings: Settings) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    system = Actor.system("测试")
    for code, name, level, parent, bounds in GRID:
        create_node(session, system, code=code, name=name, level=level, parent_code=parent, geometry=box(*bounds))
    for code, name, kind, parent in (
        ("HC", "海川街道办事处", DepartmentKind.STREET_OFFICE, None),
        ("HC-ZHZX", "海川街道社会治理服务中心", DepartmentKind.COMMAND_CENTER, "HC"),
        ("HC-CG", "海川街道城市管理办公室", DepartmentKind.STREET_SECTION, "HC"),
        ("CGJ", "区城市管理局", DepartmentKind.DISTRICT_BUREAU, None),
    ):
        create_department(session, system, code=code, name=name, kind=kind, parent_code=parent, grid_code=STREET)
    install_defaults(session, system)
    tokens = people_with_tokens(session, system, PEOPLE)
    numbers = {name: run_story(session, settings, CREW, story) for name, story in STORIES.items()}
    return tokens, numbers


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    engine, schema = _engine_for(request.param, tmp_path_factory)
    migrate.upgrade(engine)
    settings = Settings(var_dir=tmp_path_factory.mktemp("kpi-api-var"), scheduler_interval_seconds=0)
    with transaction(make_session_factory(engine, write=True)) as session:
        tokens, numbers = _build(session, settings)
    with TestClient(create_app(settings, engine)) as client:
        yield Site(client, engine, settings, tokens, numbers)
    if schema is not None:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def kpi(site: Site, who: str, status: int = 200, **params: Any) -> dict[str, Any]:
    response = site.client.get("/api/v1/kpi", params=params, headers=site.tokens[who])
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def headline(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in body["headline"]}


# --- the figures ---------------------------------------------------------------------------------------------


def test_the_half_year_figures_with_their_comparisons(site: Site) -> None:
    body = kpi(site, "leader", period="2025-H1")
    assert body["period"] == {"key": "2025-H1", "label": "2025年上半年", "first": "2025-01-01", "last": "2025-06-30"}
    assert body["previous_period"]["key"] == "2024-H2" and body["last_year_period"]["key"] == "2024-H1"
    assert body["scope"] == {"code": STREET, "name": "海川街道"}
    figures = headline(body)
    assert figures["received"] == {
        "key": "received",
        "label": "受理量",
        "unit": "件",
        "value": 6,
        "previous": 3,
        "last_year": 2,
        # 6 against 3 and against 2 would read “增长100%/200%”: too few cases to compare with (kpi.comparable)
        "change_previous": None,
        "change_last_year": None,
        "change_unit": "%",
    }
    assert body["previous_comparison"] == {
        "period": body["previous_period"],
        "comparable": False,
        "code": "too_few_cases",
        "message": "上期无可比数据",
        "reason": "上期（2024年下半年）仅受理3件，少于10件，不作比较",
        "received": 3,
        "coverage": 1.0,
        "data_from": "2024-03-11",  # the district's first case
    }
    last_year = body["last_year_comparison"]
    assert (last_year["comparable"], last_year["code"], last_year["message"]) == (
        False,
        "data_incomplete",  # the data begins on 11 March: 112 of the half-year's 182 days
        "上年同期无可比数据",
    )
    assert last_year["coverage"] == pytest.approx(112 / 182)
    assert last_year["reason"] == "数据自2024年3月11日起，上年同期（2024年上半年）只有62%的天数有数据"
    assert figures["registered"]["value"] == 5
    assert figures["closed"]["value"] == 3
    assert figures["closure_rate"]["value"] == pytest.approx(60.0)  # 3 closed of 5 registered
    assert figures["closure_rate"]["change_unit"] == "百分点"
    assert figures["satisfaction_rate"]["value"] == pytest.approx(200 / 3)  # satisfied + basically of 3 rated
    assert figures["linked"]["value"] == 1
    assert figures["composite_score"]["change_unit"] == "分"
    # 2024-H2 closed its one registered case: the value is given, the change against three cases is not
    assert figures["closure_rate"]["previous"] == pytest.approx(100.0)
    assert figures["closure_rate"]["change_previous"] is None
    assert {item["key"] for item in body["headline"]} == set(INDICATORS)


def test_the_answer_equals_the_kpi_module(site: Site) -> None:
    body = kpi(site, "dispatcher", period="2025-H1", by="grid")
    with make_session_factory(site.engine)() as session:
        actor = actor_for(session, get_user(session, "dispatcher"))
        expected = compare(session, actor, KpiQuery(parse_period("2025-H1"), STREET), settings=site.settings)
    for item in body["headline"]:
        assert item["value"] == pytest.approx(expected.current.values[item["key"]]), item["key"]
        assert item["previous"] == pytest.approx(expected.previous.values[item["key"]]), item["key"]
        assert item["last_year"] == pytest.approx(expected.last_year.values[item["key"]]), item["key"]


def test_a_breakdown_by_grid_and_by_department(site: Site) -> None:
    by_grid = kpi(site, "leader", period="2025-H1", by="grid")
    assert by_grid["by"] == "grid"
    grids = {group["key"]: group for group in by_grid["groups"]}
    assert set(grids) == {NORTH, SOUTH}
    assert grids[NORTH]["label"] == "泰和社区" and grids[NORTH]["values"]["received"] == 4
    assert grids[SOUTH]["values"]["received"] == 2 and grids[SOUTH]["values"]["closed"] == 1
    assert grids[NORTH]["assisted"] is None
    by_department = kpi(site, "leader", period="2025-H1", by="department")
    departments = {group["label"]: group for group in by_department["groups"]}
    assert departments["区城市管理局"]["values"]["received"] == 4  # it leads every dispatched case
    assert departments["区城市管理局"]["assisted"] == 0
    assert departments["海川街道城市管理办公室"]["assisted"] == 1  # assisted the linked case
    assert departments["未派遣（含自处置）"]["key"] is None


def test_filters_narrow_the_count(site: Site) -> None:
    assert headline(kpi(site, "leader", period="2025-H1", grid=SOUTH))["received"]["value"] == 2
    assert headline(kpi(site, "leader", period="2025-H1", channel="hotline_8890"))["received"]["value"] == 2
    assert headline(kpi(site, "leader", period="2025-H1", category="02"))["received"]["value"] == 1
    assert headline(kpi(site, "leader", period="2025-H1", department="CGJ"))["received"]["value"] == 4
    assert headline(kpi(site, "leader", period="2025-03"))["received"]["value"] == 2
    custom = kpi(site, "leader", period="2025-03-01..2025-04-30")
    assert custom["period"]["label"] == "2025年3月1日至4月30日"
    assert headline(custom)["received"]["value"] == 3
    assert kpi(site, "leader", period="2025-H1", grid=SOUTH)["filters"]["grid"] == SOUTH


def test_the_default_period_is_this_year(site: Site) -> None:
    with timesource.pinned(dt.datetime(2025, 8, 1, 10, tzinfo=BEIJING)):
        body = kpi(site, "leader")
    assert body["period"]["key"] == "2025"
    assert headline(body)["received"]["value"] == 6


# --- refusals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"period": "2025-H3"}, "invalid_period"),
        ({"period": "2025-13"}, "invalid_period"),
        ({"period": "2025-06-30..2025-01-01"}, "invalid_period"),
        ({"period": "上半年"}, "invalid_period"),
        ({"period": "2025", "by": "street"}, "invalid_dimension"),
        ({"period": "2025", "channel": "wechat"}, "invalid_channel"),
        ({"period": "2025", "department": "NOPE"}, "department_not_found"),
        ({"period": "2025", "category": "99"}, "category_not_found"),
    ],
)
def test_bad_input_is_a_422_with_a_precise_code(site: Site, params: dict[str, str], code: str) -> None:
    error = kpi(site, "leader", 422, **params)["error"]
    assert error["code"] == code
    assert error["message"] and all(ord(ch) < 128 for ch in error["code"])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])  # said in Chinese


def test_a_grid_outside_the_scope_is_refused(site: Site) -> None:
    assert kpi(site, "leader", 403, grid=OTHER_STREET)["error"]["code"] == "out_of_scope"
    assert kpi(site, "leader", 403, grid=DISTRICT)["error"]["code"] == "out_of_scope"  # an ancestor: not hers
    assert kpi(site, "leader", 404, grid=STREET + "999")["error"]["code"] == "grid_not_found"
    other = kpi(site, "other-leader", period="2025-H1")
    assert other["scope"]["code"] == OTHER_STREET and headline(other)["received"]["value"] == 0


@pytest.mark.parametrize("who", ["gridworker", "resident", "cgj", "hotline"])
def test_roles_without_kpi_read_are_refused(site: Site, who: str) -> None:
    assert kpi(site, who, 403)["error"]["code"] == "permission_denied"
    response = site.client.get("/api/v1/kpi/indicators", headers=site.tokens[who])
    assert response.status_code == 403


def test_an_anonymous_caller_is_refused(site: Site) -> None:
    assert site.client.get("/api/v1/kpi").status_code == 403
    assert site.client.get("/api/v1/kpi/indicators").status_code == 403


# --- the indicator list ------------------------------------------------------------------------------------------


def test_the_indicators_are_listed_with_their_formulas(site: Site) -> None:
    response = site.client.get("/api/v1/kpi/indicators", headers=site.tokens["leader"])
    assert response.status_code == 200
    listed = {item["key"]: item for item in response.json()}
    assert list(listed) == list(INDICATORS)
    assert listed["closure_rate"] == {
        "key": "closure_rate",
        "label": "办结率",
        "unit": "%",
        "higher_is_better": True,
        "formula": INDICATORS["closure_rate"].formula,
    }
    assert listed["closure_rate"]["formula"].startswith("办结率 = 办结数 ÷ (应办结数 − 挂账数)")
    assert listed["received"]["higher_is_better"] is None
    assert listed["overdue_now"]["higher_is_better"] is False


def test_the_api_is_described_in_the_openapi_document(site: Site) -> None:
    paths = site.client.get("/api/openapi.json").json()["paths"]
    assert "/api/v1/kpi" in paths and "/api/v1/kpi/indicators" in paths
