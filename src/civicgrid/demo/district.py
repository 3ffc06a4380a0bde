"""The demo district: a fictional 青岛市海川区 modelled on the seed reports.

Deterministic (fixed seeds): seven streets and towns, their communities and villages, one street (海川街道)
divided into 218 unit grids as in seed 004, the district bureaus and the street's own sections (14 departments
whose staff sink into the grids), a grid worker per unit grid, a grid leader per community, and one sign-in per
role. Everything is created through the domain services, so the demo exercises the real rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from civicgrid import migrate
from civicgrid.cases.defaults import install_defaults
from civicgrid.demo import names
from civicgrid.demo.cases import build_demo_calendar, build_demo_cases
from civicgrid.demo.shapes import irregular_outline, voronoi_cells
from civicgrid.geo.partition import split_equal_area
from civicgrid.grid.codes import GridLevel, unit_code
from civicgrid.grid.models import GridDuty, GridNode
from civicgrid.grid.service import assign, create_node, node_geometry
from civicgrid.org.actor import Actor
from civicgrid.org.models import DepartmentKind, User
from civicgrid.org.roles import Role
from civicgrid.org.service import create_department, create_user
from civicgrid.settings import Settings, get_settings

SEED = 20201231
DISTRICT_CODE = "370299"  # not an NBS-assigned code: the district is fictional
MAIN_STREET_UNITS = 218
DEMO_PASSWORD_SUFFIX = "-demo-2026"


class Printer(Protocol):
    def print(self, *objects: object) -> None: ...


@dataclass(frozen=True)
class StreetPlan:
    code_suffix: str
    name: str
    settlements: int
    urban: bool


STREETS = (
    StreetPlan("001", "海川街道", 12, urban=True),
    StreetPlan("002", "东城街道", 9, urban=True),
    StreetPlan("003", "西山街道", 8, urban=True),
    StreetPlan("004", "南湖街道", 8, urban=True),
    StreetPlan("005", "北港街道", 7, urban=True),
    StreetPlan("100", "金沙镇", 10, urban=False),
    StreetPlan("101", "青石镇", 9, urban=False),
)
MAIN_STREET = DISTRICT_CODE + STREETS[0].code_suffix

# (code, name, kind, parent code) — district bureaus, then the main street's office and its sections.
DEPARTMENTS: tuple[tuple[str, str, DepartmentKind, str | None], ...] = (
    ("ZHZX", "区社会治理指挥中心", DepartmentKind.COMMAND_CENTER, None),
    ("CGJ", "区城市管理局", DepartmentKind.DISTRICT_BUREAU, None),
    ("CGJ-ZF", "区城市管理局综合执法大队", DepartmentKind.DISTRICT_BUREAU, "CGJ"),
    ("STHJ", "市生态环境局海川分局", DepartmentKind.DISTRICT_BUREAU, None),
    ("SCJG", "区市场监督管理局", DepartmentKind.DISTRICT_BUREAU, None),
    ("ZJJ", "区住房和城乡建设局", DepartmentKind.DISTRICT_BUREAU, None),
    ("YJGL", "区应急管理局", DepartmentKind.DISTRICT_BUREAU, None),
    ("GA-HC", "公安分局海川派出所", DepartmentKind.DISTRICT_BUREAU, None),
    ("SWJ", "区水务局", DepartmentKind.DISTRICT_BUREAU, None),
    ("JTYS", "区交通运输局", DepartmentKind.DISTRICT_BUREAU, None),
    ("MZJ", "区民政局", DepartmentKind.DISTRICT_BUREAU, None),
    ("ZRZY", "区自然资源局", DepartmentKind.DISTRICT_BUREAU, None),
    ("GD-HC", "供电公司海川供电中心", DepartmentKind.UTILITY, None),
    ("HC", "海川街道办事处", DepartmentKind.STREET_OFFICE, None),
    ("HC-ZHZX", "海川街道社会治理服务中心", DepartmentKind.COMMAND_CENTER, "HC"),
    ("HC-CG", "海川街道城市管理办公室", DepartmentKind.STREET_SECTION, "HC"),
    ("HC-AJ", "海川街道安全生产监督管理办公室", DepartmentKind.STREET_SECTION, "HC"),
    ("HC-SW", "海川街道社会事务办公室", DepartmentKind.STREET_SECTION, "HC"),
    ("HC-JJ", "海川街道经济发展办公室", DepartmentKind.STREET_SECTION, "HC"),
    ("HC-ZF", "海川街道综合行政执法中队", DepartmentKind.STREET_SECTION, "HC"),
)
STREET_DEPARTMENTS = {"HC", "HC-ZHZX", "HC-CG", "HC-AJ", "HC-SW", "HC-JJ", "HC-ZF"}


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    username: str
    display_name: str
    department: str | None
    grid: str | None  # explicit grid scope (a grid worker is assigned instead)

    @property
    def password(self) -> str:
        return f"{self.role.value}{DEMO_PASSWORD_SUFFIX}"


DEMO_LOGINS = (
    DemoLogin(Role.ADMIN, "admin", "系统管理员", None, None),
    DemoLogin(Role.LEADER, "leader", "张建华（街道主任）", "HC", MAIN_STREET),
    DemoLogin(Role.DISPATCHER, "dispatcher", "李敏（指挥中心）", "HC-ZHZX", MAIN_STREET),
    DemoLogin(Role.DEPT_STAFF, "cgj", "王磊（区城管局）", "CGJ", None),  # sees what is dispatched to 城管局
    DemoLogin(Role.GRID_WORKER, "gridworker", "刘芳（网格员）", "HC", None),
    DemoLogin(Role.HOTLINE_OPERATOR, "hotline", "陈静（12345话务员）", "ZHZX", DISTRICT_CODE),
    DemoLogin(Role.RESIDENT, "resident", "赵大爷（居民）", None, None),
)


def demo_logins() -> list[tuple[str, str, str]]:
    return [(login.role.label, login.username, login.password) for login in DEMO_LOGINS]


def has_data(session: Session) -> bool:
    nodes = session.execute(select(func.count()).select_from(GridNode)).scalar_one()
    users = session.execute(select(func.count()).select_from(User)).scalar_one()
    return bool(nodes or users)


def reset_database(engine: Engine) -> None:
    """Drop every table through the migrations and create them again (demo databases only)."""
    migrate.downgrade(engine, "base")
    migrate.upgrade(engine)


def build_demo(session: Session, progress: Printer | None = None, settings: Settings | None = None) -> str:
    rng = np.random.default_rng(SEED)
    actor = Actor.system("演示数据生成")
    settings = settings or get_settings()
    say = progress.print if progress else (lambda *_: None)
    say("生成辖区边界与街道、社区/村…")
    settlements = _build_grid(session, actor, rng)
    say(f"把{STREETS[0].name}划分为{MAIN_STREET_UNITS}个网格单元…")
    units = _build_units(session, actor, settlements[MAIN_STREET])
    say("建立部门与人员…")
    _build_departments(session, actor)
    people = _build_people(session, actor, rng, settlements, units)
    say("安装默认案件类别，生成近两周的案件…")
    install_defaults(session, actor)
    build_demo_calendar(session, actor)
    cases = build_demo_cases(session, settings, rng, units)
    streets = len(STREETS)
    communities = sum(len(v) for v in settlements.values())
    return (
        f"{streets}个街道/镇，{communities}个社区/村，{len(units)}个网格单元，"
        f"{len(DEPARTMENTS)}个部门，{people}名人员，{cases}件案件"
    )


def _build_grid(session: Session, actor: Actor, rng: np.random.Generator) -> dict[str, list[GridNode]]:
    create_node(session, actor, code="37", name="山东省", level=GridLevel.PROVINCE)
    create_node(session, actor, code="3702", name="青岛市", level=GridLevel.CITY, parent_code="37")
    outline = irregular_outline(120.52, 36.42, 13_000, rng)
    create_node(
        session,
        actor,
        code=DISTRICT_CODE,
        name="海川区",
        level=GridLevel.DISTRICT,
        parent_code="3702",
        geometry=outline,
        geometry_source="演示数据",
    )
    settlements: dict[str, list[GridNode]] = {}
    street_names = iter(names.settlement_names(rng))
    for plan, street_area in zip(STREETS, voronoi_cells(outline, len(STREETS), rng), strict=True):
        street_code = DISTRICT_CODE + plan.code_suffix
        create_node(
            session,
            actor,
            code=street_code,
            name=plan.name,
            level=GridLevel.STREET,
            parent_code=DISTRICT_CODE,
            geometry=street_area,
            geometry_source="演示数据",
        )
        nodes = []
        for number, area in enumerate(voronoi_cells(street_area, plan.settlements, rng), start=1):
            # NBS numbering: 001–199 for residents' committees, 200–399 for villagers' committees
            suffix, offset = ("社区", 0) if plan.urban else ("村", 200)
            nodes.append(
                create_node(
                    session,
                    actor,
                    code=f"{street_code}{offset + number:03d}",
                    name=f"{next(street_names)}{suffix}",
                    level=GridLevel.COMMUNITY,
                    parent_code=street_code,
                    geometry=area,
                    geometry_source="演示数据",
                )
            )
        settlements[street_code] = nodes
    return settlements


def _build_units(session: Session, actor: Actor, communities: list[GridNode]) -> list[GridNode]:
    areas = np.array([community.area_m2 or 0.0 for community in communities])
    counts = _largest_remainder(areas / areas.sum() * MAIN_STREET_UNITS)
    units: list[GridNode] = []
    for community, count in zip(communities, counts, strict=True):
        polygon = node_geometry(community)
        assert polygon is not None
        short = community.name.removesuffix("社区")
        for number, cell in enumerate(split_equal_area(polygon, int(count)), start=1):
            units.append(
                create_node(
                    session,
                    actor,
                    code=unit_code(community.code, GridLevel.COMMUNITY, number, 3),
                    name=f"{short}第{number:02d}网格",
                    level=GridLevel.UNIT,
                    parent_code=community.code,
                    geometry=cell,
                    geometry_source="演示数据（按面积等分）",
                    unit_code_digits=3,
                    audit_action=None,
                    renew_revision=False,
                )
            )
    return units


def _largest_remainder(shares: np.ndarray) -> list[int]:
    """Whole numbers summing to round(sum(shares)), each at least 1, closest to the shares."""
    floors = np.maximum(np.floor(shares).astype(int), 1)
    missing = round(float(shares.sum())) - int(floors.sum())
    order = np.argsort(-(shares - np.floor(shares)))
    for index in order[: max(missing, 0)]:
        floors[index] += 1
    return [int(value) for value in floors]


def _build_departments(session: Session, actor: Actor) -> None:
    for code, name, kind, parent in DEPARTMENTS:
        grid = MAIN_STREET if code in STREET_DEPARTMENTS else DISTRICT_CODE
        create_department(session, actor, code=code, name=name, kind=kind, parent_code=parent, grid_code=grid)


def _build_people(
    session: Session,
    actor: Actor,
    rng: np.random.Generator,
    settlements: dict[str, list[GridNode]],
    units: list[GridNode],
) -> int:
    for login in DEMO_LOGINS:
        create_user(
            session,
            actor,
            username=login.username,
            display_name=login.display_name,
            roles=[login.role],
            password=login.password,
            department_code=login.department,
            grid_codes=[login.grid] if login.grid else [],
            all_grids=login.role is Role.ADMIN,
        )
    people = iter(names.person_names(rng))
    assign(session, actor, units[0].code, "gridworker", GridDuty.GRID_WORKER)
    sections = sorted(STREET_DEPARTMENTS - {"HC"})
    staff = [
        (f"wgy{n:03d}", Role.GRID_WORKER, "HC", unit.code, GridDuty.GRID_WORKER)
        for n, unit in enumerate(units[1:], start=2)
    ]
    for n, community in enumerate(settlements[MAIN_STREET], start=1):
        staff.append((f"wgz{n:02d}", Role.GRID_WORKER, "HC", community.code, GridDuty.GRID_LEADER))
        # Staff of the street's sections each take a community (机关干部下沉网格).
        staff.append((f"xc{n:02d}", Role.DEPT_STAFF, sections[n % len(sections)], community.code, GridDuty.SUNK_CADRE))
    for username, role, department, grid_code, duty in staff:
        create_user(
            session,
            actor,
            username=username,
            display_name=next(people),
            roles=[role],
            password=None,
            department_code=department,
        )
        assign(session, actor, grid_code, username, duty)
    return len(DEMO_LOGINS) + len(staff)
