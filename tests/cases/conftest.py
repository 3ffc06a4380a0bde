"""A small district to run cases through: one street with two communities and two unit grids, the
departments that handle cases, one person per role, the default taxonomy, and a pinned clock."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from shapely.geometry import box
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.cases.attachments import Upload
from civicgrid.cases.defaults import install_defaults
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.models import GridDuty
from civicgrid.grid.service import assign, create_node
from civicgrid.org.actor import Actor
from civicgrid.org.models import DepartmentKind
from civicgrid.org.roles import Role
from civicgrid.org.service import actor_for, create_department, create_user
from civicgrid.settings import Settings

BEIJING = dt.timezone(dt.timedelta(hours=8))
DISTRICT, STREET, OTHER_STREET = "370299", "370299001", "370299002"
COMMUNITY, OTHER_COMMUNITY = "370299001001", "370299001002"
UNIT, OTHER_UNIT = "370299001001001", "370299001001002"
# A point in UNIT, one in OTHER_UNIT (WGS-84), one in the other street and one far outside the district.
IN_UNIT = (120.425, 36.425)
IN_OTHER_UNIT = (120.425, 36.475)
IN_OTHER_STREET = (120.55, 36.45)
OUTSIDE = (121.2, 36.1)


def beijing(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=BEIJING)


def png() -> bytes:
    """A real 1×1 PNG, as a phone would upload (just smaller)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def photo(name: str = "现场.png") -> Upload:
    return Upload(name, png())


@dataclass
class District:
    session: Session
    settings: Settings
    system: Actor
    dispatcher: Actor
    other_dispatcher: Actor
    district_dispatcher: Actor
    cgj: Actor
    street_cg: Actor
    scjg: Actor
    grid_worker: Actor
    leader: Actor
    hotline: Actor
    resident: Actor
    other_resident: Actor


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var", database_url="sqlite://")


@pytest.fixture
def pinned_now() -> Iterator[dt.datetime]:
    moment = beijing(2025, 10, 9, 10, 0)  # a Thursday, the first workday after the 2025 National Day holiday
    with timesource.pinned(moment):
        yield moment


@pytest.fixture
def district(session: Session, system: Actor, settings: Settings, pinned_now: dt.datetime) -> District:
    _grid(session, system)
    _departments(session, system)
    install_defaults(session, system)
    people = _people(session, system)
    return District(session=session, settings=settings, system=system, **people)


GRID = (  # code, name, level, parent, (west, south, east, north)
    (DISTRICT, "海川区", GridLevel.DISTRICT, None, (120.4, 36.4, 120.6, 36.5)),
    (STREET, "海川街道", GridLevel.STREET, DISTRICT, (120.4, 36.4, 120.5, 36.5)),
    (OTHER_STREET, "东城街道", GridLevel.STREET, DISTRICT, (120.5, 36.4, 120.6, 36.5)),
    (COMMUNITY, "泰和社区", GridLevel.COMMUNITY, STREET, (120.4, 36.4, 120.45, 36.5)),
    (OTHER_COMMUNITY, "华山社区", GridLevel.COMMUNITY, STREET, (120.45, 36.4, 120.5, 36.5)),
    (UNIT, "泰和第01网格", GridLevel.UNIT, COMMUNITY, (120.4, 36.4, 120.45, 36.45)),
    (OTHER_UNIT, "泰和第02网格", GridLevel.UNIT, COMMUNITY, (120.4, 36.45, 120.45, 36.5)),
)


def _grid(session: Session, system: Actor) -> None:
    for code, name, level, parent, bounds in GRID:
        create_node(session, system, code=code, name=name, level=level, parent_code=parent, geometry=box(*bounds))


def _departments(session: Session, system: Actor) -> None:
    for code, name, kind, parent, grid in (
        ("ZHZX", "区社会治理指挥中心", DepartmentKind.COMMAND_CENTER, None, DISTRICT),
        ("HC", "海川街道办事处", DepartmentKind.STREET_OFFICE, None, STREET),
        ("HC-ZHZX", "海川街道社会治理服务中心", DepartmentKind.COMMAND_CENTER, "HC", STREET),
        ("HC-CG", "海川街道城市管理办公室", DepartmentKind.STREET_SECTION, "HC", STREET),
        ("DC-ZHZX", "东城街道社会治理服务中心", DepartmentKind.COMMAND_CENTER, None, OTHER_STREET),
        ("CGJ", "区城市管理局", DepartmentKind.DISTRICT_BUREAU, None, DISTRICT),
        ("SCJG", "区市场监督管理局", DepartmentKind.DISTRICT_BUREAU, None, DISTRICT),
        ("ZJJ", "区住房和城乡建设局", DepartmentKind.DISTRICT_BUREAU, None, DISTRICT),
    ):
        create_department(session, system, code=code, name=name, kind=kind, parent_code=parent, grid_code=grid)


def _people(session: Session, system: Actor) -> dict[str, Actor]:
    specs: dict[str, tuple[Role, str | None, list[str]]] = {
        "dispatcher": (Role.DISPATCHER, "HC-ZHZX", [STREET]),
        "other_dispatcher": (Role.DISPATCHER, "DC-ZHZX", [OTHER_STREET]),
        "district_dispatcher": (Role.DISPATCHER, "ZHZX", [DISTRICT]),
        "cgj": (Role.DEPT_STAFF, "CGJ", []),
        "street_cg": (Role.DEPT_STAFF, "HC-CG", []),
        "scjg": (Role.DEPT_STAFF, "SCJG", []),
        "grid_worker": (Role.GRID_WORKER, "HC", []),
        "leader": (Role.LEADER, "HC", [STREET]),
        "hotline": (Role.HOTLINE_OPERATOR, "ZHZX", [DISTRICT]),
        "resident": (Role.RESIDENT, None, []),
        "other_resident": (Role.RESIDENT, None, []),
    }
    actors: dict[str, Actor] = {}
    for username, (role, department, grids) in specs.items():
        user = create_user(
            session,
            system,
            username=username.replace("_", "-"),
            display_name=username,
            roles=[role],
            password=None,
            department_code=department,
            grid_codes=grids,
        )
        if username == "grid_worker":
            assign(session, system, UNIT, user.username, GridDuty.GRID_WORKER)
        actors[username] = actor_for(session, user)
    return actors
